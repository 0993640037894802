/**
 * Everyday features in headless Chromium against a real server: the phone header leaves the
 * height to the conversation, leaving a room asks first, ignoring someone hides their new
 * messages until undone, a room's notification level and the keywords are push rules on the
 * server. Bob is a plain HTTP client of the same server.
 */

import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser } from "./chromium.ts";
import { createRoomOfTwo } from "./room_support.ts";
import { violations } from "./axe.ts";
import { browserTest, clickThrough, signIn, untilWithin } from "./session_support.ts";

const TIMEOUT = 15_000;
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

/** Polls `check` until it holds (server state the app changes asynchronously). */
const eventually = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 100 });

interface Rule {
  rule_id: string;
  actions: unknown[];
  pattern?: string;
}

async function pushRules(server: TestServer, user: TestUser): Promise<Record<string, Rule[]>> {
  const res = await server.request("GET", "/_matrix/client/v3/pushrules/", {
    token: user.accessToken,
  });
  assertEquals(res.status, 200);
  return res.body.global;
}

async function say(server: TestServer, user: TestUser, roomId: string, body: string) {
  const path = `/_matrix/client/v3/rooms/${
    encodeURIComponent(roomId)
  }/send/m.room.message/${crypto.randomUUID()}`;
  const res = await server.request("PUT", path, {
    token: user.accessToken,
    body: { msgtype: "m.text", body },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

browserTest(
  "web everyday: phone header, leaving, ignoring, notification levels, keywords",
  async (t) => {
    const server = await startTestServer({ config: { e2ee: { default_for: "off" } } });
    const browser = await launchBrowser({ viewport: PHONE });
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      const anna = await server.register("anna");
      const bob = await server.register("bob");
      const roomId = await createRoomOfTwo(server, bob, anna, {
        name: "Conseil",
        encrypted: false,
      });
      await signIn(page, server, anna);
      const list = page.getByRole("navigation", { name: "Conversation list" });

      await t.step("on a phone the header is small and the room takes the height", async () => {
        // Left to screen readers: it takes no room on the screen.
        const account = await page.getByText(/Signed in as/).boundingBox();
        assert(account && account.width <= 1 && account.height <= 1, "the account line shows");
        const header = await page.locator("header").first().boundingBox();
        assert(header && header.height <= 64, `header ${header?.height}px high`);
        await clickThrough(
          list.getByRole("link", { name: /Conseil/ }),
          page.getByRole("heading", { name: "Conseil" }),
        );
        const main = await page.locator("#main").boundingBox();
        assert(main && main.height >= PHONE.height * 0.9, `room view ${main?.height}px high`);
        await page.setViewportSize(DESKTOP);
        await page.getByText(/Signed in as @anna:/).waitFor();
        await page.setViewportSize(PHONE);
      });

      await t.step("leaving asks first; cancel keeps the room", async () => {
        await page.getByRole("button", { name: "Room options" }).click();
        await page.getByRole("menuitem", { name: "Leave room" }).click();
        const leave = page.getByRole("dialog", { name: "Leave Conseil?" });
        await leave.getByRole("button", { name: "Cancel" }).click();
        await leave.waitFor({ state: "detached" });
        await page.getByRole("heading", { name: "Conseil" }).waitFor();
        const joined = await server.request("GET", "/_matrix/client/v3/joined_rooms", {
          token: anna.accessToken,
        });
        assertEquals(joined.body.joined_rooms, [roomId]);
      });

      await page.setViewportSize(DESKTOP);
      const settings = page.getByRole("dialog", { name: "Settings of Conseil" });
      const openSettings = async () => {
        await page.getByRole("button", { name: "Room settings" }).click();
        await settings.waitFor();
      };

      await t.step("a room's notification level is a push rule", async () => {
        await openSettings();
        const levels = settings.getByRole("group", { name: "Notifications for this room" });
        // The level shows once the push rules are read; until then nothing is checked.
        await levels.locator('input[value="all"]:checked').waitFor();
        assertEquals(await levels.getByLabel("All messages").isChecked(), true);
        assertEquals(await violations(page), [], "the room settings");

        await levels.getByLabel("Mute").check();
        await levels.getByText("Saved.").waitFor();
        let rules = await pushRules(server, anna);
        const mute = rules.override.find((r) => r.rule_id === roomId);
        assertEquals(mute?.actions, ["dont_notify"]);
        assert(!rules.room?.some((r) => r.rule_id === roomId));

        await levels.getByLabel("Mentions and keywords").check();
        await eventually("the room rule", async () => {
          rules = await pushRules(server, anna);
          return rules.room?.some((r) => r.rule_id === roomId) ?? false;
        });
        assertEquals(rules.room.find((r) => r.rule_id === roomId)?.actions, ["dont_notify"]);
        assert(!rules.override.some((r) => r.rule_id === roomId), "mute is gone");

        await levels.getByLabel("All messages").check();
        await eventually("no rule of the room", async () => {
          rules = await pushRules(server, anna);
          return !rules.room?.some((r) => r.rule_id === roomId);
        });
        assert(!rules.override.some((r) => r.rule_id === roomId));
      });

      await t.step("ignoring bob hides his new messages, and can be undone", async () => {
        await settings.getByRole("button", { name: /^Ignore bob/ }).click();
        await settings.getByRole("button", { name: /^Stop ignoring bob/ }).waitFor();
        const path = `/_matrix/client/v3/user/${encodeURIComponent(anna.userId)}` +
          `/account_data/m.ignored_user_list`;
        const listed = await server.request("GET", path, { token: anna.accessToken });
        assertEquals(Object.keys(listed.body.ignored_users), [bob.userId]);
        await page.keyboard.press("Escape");
        await settings.waitFor({ state: "detached" });

        await say(server, bob, roomId, "hidden from anna");
        await say(server, anna, roomId, "anna's marker");
        await page.getByText("anna's marker", { exact: true }).waitFor();
        assertEquals(await page.getByText("hidden from anna").count(), 0);

        await openSettings();
        await settings.getByRole("button", { name: /^Stop ignoring bob/ }).click();
        await settings.getByRole("button", { name: /^Ignore bob/ }).waitFor();
        const after = await server.request("GET", path, { token: anna.accessToken });
        assertEquals(Object.keys(after.body.ignored_users), []);
        await page.keyboard.press("Escape");
        await settings.waitFor({ state: "detached" });
        await say(server, bob, roomId, "bob is back");
        await page.getByText("bob is back", { exact: true }).waitFor();
      });

      await t.step("a keyword added in settings is a content rule", async () => {
        await page.goto(`${server.baseUrl}/settings`);
        await page.getByText("No keywords yet.").waitFor();
        await page.getByLabel("New keyword").fill("budget");
        await page.getByRole("button", { name: "Add keyword" }).click();
        await page.getByRole("button", { name: "Remove budget" }).waitFor();
        const rules = await pushRules(server, anna);
        const rule = rules.content.find((r) => r.rule_id === "budget");
        assertEquals(rule?.pattern, "budget");
        assert(rule?.actions.includes("notify"));
        assertEquals(await violations(page), [], "the settings with a keyword");

        await page.getByRole("button", { name: "Remove budget" }).click();
        await page.getByText("No keywords yet.").waitFor();
        const gone = await pushRules(server, anna);
        assert(!gone.content.some((r) => r.rule_id === "budget"));
      });
      assertEquals(errors, [], "the page threw");
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
