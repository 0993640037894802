/**
 * Spaces and the public room directory in headless Chromium against one real server, a
 * browser context per person: Anna (desktop) creates the space "Service social" from the
 * spaces bar, adds two existing rooms and a new one from its home, and choosing the space
 * narrows her room list to its rooms; Ben (a 360 px phone) accepts the invitation, finds the
 * space in the compact picker (never as a conversation), sees the rooms he may join through
 * `/hierarchy` and joins one from the space's home; a message in a room of the space marks the
 * space in Anna's bar; then the public directory lists the published rooms, a search narrows
 * the list, and Join works. axe's WCAG 2.1 A/AA checks on each new screen.
 */

import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchChromium } from "./chromium.ts";
import { violations } from "./axe.ts";
import { browserTest, openWatchedPage, submitSignIn } from "./session_support.ts";

const TIMEOUT = 20_000;
/** Waits until `check` holds (polled from the test: the CSP forbids eval in the page). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const rooms = (id: string, rest = "") =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(id)}${rest}`;

async function createRoom(
  server: TestServer,
  owner: TestUser,
  body: Record<string, unknown>,
): Promise<string> {
  const res = await server.request("POST", "/_matrix/client/v3/createRoom", {
    token: owner.accessToken,
    body,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

// deno-lint-ignore no-explicit-any
async function state(server: TestServer, user: TestUser, roomId: string): Promise<any[]> {
  const res = await server.request("GET", rooms(roomId, "/state"), { token: user.accessToken });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function membership(server: TestServer, user: TestUser, roomId: string) {
  const all = await state(server, user, roomId).catch(() => []);
  return all.find((e) => e.type === "m.room.member" && e.state_key === user.userId)?.content
    .membership;
}

async function signIn(browser: Browser, server: TestServer, user: TestUser, width: number) {
  const context = await browser.newContext({
    locale: "en-GB",
    viewport: { width, height: width < 500 ? 740 : 800 },
    serviceWorkers: "allow",
  });
  const { page, errors } = await openWatchedPage(context, { timeoutMs: TIMEOUT });
  await submitSignIn(page, server, user);
  return { page, errors };
}

/** The names of the conversations the room list shows. */
async function listed(page: Page): Promise<string[]> {
  const links = page.getByRole("navigation", { name: "Conversation list" }).getByRole("link");
  return (await links.allInnerTexts()).map((text) => text.trim()).sort();
}

browserTest(
  "web spaces: create a space, add rooms, a member joins from its home; public directory",
  async () => {
    const server = await startTestServer();
    const browser = await launchChromium();
    try {
      const anna = await server.register("anna");
      const ben = await server.register("ben");
      const carol = await server.register("carol");
      await createRoom(server, anna, { name: "Dossiers", preset: "private_chat" });
      await createRoom(server, anna, { name: "Kantin", preset: "private_chat" });
      const library = await createRoom(server, anna, {
        name: "Bibliothéik",
        topic: "Bicher ausléinen",
        preset: "public_chat",
        visibility: "public",
      });
      // Enough published rooms for the directory to have a second page (20 a page).
      for (let i = 1; i <= 20; i++) {
        await createRoom(server, carol, {
          name: `Club ${String(i).padStart(2, "0")}`,
          preset: "public_chat",
          visibility: "public",
        });
      }
      const sports = await createRoom(server, anna, {
        name: "Sportveräin",
        preset: "public_chat",
        visibility: "public",
      });

      // Anna, on a desktop, creates the space from the spaces bar.
      const a = await signIn(browser, server, anna, 1280);
      const list = a.page.getByRole("navigation", { name: "Conversation list" });
      await list.getByRole("link", { name: "Kantin" }).waitFor();
      const bar = a.page.getByRole("navigation", { name: "Spaces" });
      await bar.getByRole("button", { name: "Create a space" }).click();
      const create = a.page.getByRole("dialog", { name: "Create a space" });
      await create.getByLabel("Name").fill("Service social");
      await create.getByLabel("Description (optional)").fill("Aide sociale de la commune");
      assert(
        await create.getByRole("radio", { name: /^Private/ }).isChecked(),
        "private by default",
      );
      assertEquals(await violations(a.page), [], "the create-a-space dialog");
      await create.getByRole("button", { name: "Create" }).click();
      await create.waitFor({ state: "detached" });
      const home = a.page.getByRole("region", { name: "Service social" });
      await home.getByText("Aide sociale de la commune").waitFor();
      await bar.getByRole("button", { name: "Service social", pressed: true }).waitFor();
      const spaceId = decodeURIComponent(new URL(a.page.url()).pathname.split("/").pop()!);
      // The space is no conversation; the empty space narrows the list to nothing.
      await until("an empty list", async () => (await listed(a.page)).length === 0);
      await home.getByText("This space has no rooms yet.").waitFor();
      assertEquals(await violations(a.page), [], "the space's home");

      // Add the existing rooms "Dossiers" (invite only) and "Sportveräin" (public).
      await home.getByRole("button", { name: "Add existing room" }).click();
      const existing = a.page.getByRole("dialog", { name: "Add existing rooms to Service social" });
      await existing.getByRole("checkbox", { name: "Dossiers" }).check();
      await existing.getByRole("checkbox", { name: "Sportveräin" }).check();
      assertEquals(await violations(a.page), [], "the add-existing dialog");
      await existing.getByRole("button", { name: "Add" }).click();
      await existing.waitFor({ state: "detached" });
      await home.getByRole("button", { name: "Open Dossiers" }).waitFor();
      await home.getByRole("button", { name: "Open Sportveräin" }).waitFor();

      // Add a new room "Permanence", open to the space's members.
      await home.getByRole("button", { name: "Add new room" }).click();
      const fresh = a.page.getByRole("dialog", { name: "Add a new room to Service social" });
      await fresh.getByLabel("Name").fill("Permanence");
      assert(await fresh.getByRole("radio", { name: "Members of the space" }).isChecked());
      await fresh.getByRole("button", { name: "Create and add" }).click();
      await fresh.waitFor({ state: "detached" });
      await home.getByRole("button", { name: "Open Permanence" }).waitFor();

      // The space's state links both rooms; the new room admits the space's members.
      const children = (await state(server, anna, spaceId))
        .filter((e) => e.type === "m.space.child" && e.content.via?.length > 0);
      assertEquals(children.length, 3);
      let permanenceId = "";
      const created = (await state(server, anna, spaceId))
        .find((e) => e.type === "m.room.create");
      assertEquals(created.content.type, "m.space");
      let restricted = 0;
      for (const child of children) {
        const childState = await state(server, anna, child.state_key);
        const rules = childState.find((e) => e.type === "m.room.join_rules").content;
        const parent = childState.find((e) =>
          e.type === "m.space.parent" && e.state_key === spaceId
        );
        assert(parent?.content.via?.length > 0, "each room names its space");
        if (rules.join_rule === "restricted") {
          restricted++;
          permanenceId = child.state_key;
          assertEquals(rules.allow, [{ type: "m.room_membership", room_id: spaceId }]);
        }
      }
      assertEquals(restricted, 1, "only the new room is restricted");

      // Choosing the space narrows the list; "All conversations" shows every room again.
      await until(
        "the space's rooms",
        async () =>
          JSON.stringify(await listed(a.page)) ===
            JSON.stringify(["Dossiers", "Permanence", "Sportveräin"]),
      );
      await bar.getByRole("button", { name: "All conversations" }).click();
      await until("every room", async () =>
        JSON.stringify(await listed(a.page)) ===
          JSON.stringify(["Bibliothéik", "Dossiers", "Kantin", "Permanence", "Sportveräin"]));
      await bar.getByRole("button", { name: "Service social" }).click();
      await until("the space's rooms again", async () => (await listed(a.page)).length === 3);

      const invited = await server.request("POST", rooms(spaceId, "/invite"), {
        token: anna.accessToken,
        body: { user_id: ben.userId },
      });
      assertEquals(invited.status, 200);

      // Ben, on a phone, accepts and finds the space in the picker, never in the list.
      const b = await signIn(browser, server, ben, 360);
      const benList = b.page.getByRole("navigation", { name: "Conversation list" });
      await benList.getByRole("button", { name: "Accept the invitation to Service social" })
        .click();
      const picker = b.page.getByRole("combobox", { name: "Space" });
      await until(
        "the space in the picker",
        async () => (await picker.locator("option").allInnerTexts()).includes("Service social"),
      );
      assertEquals(await listed(b.page), [], "the space is not a conversation");
      assertEquals(await violations(b.page), [], "the picker on a phone");
      await picker.selectOption({ label: "Service social" });
      await b.page.getByRole("button", { name: "Space home" }).click();
      const benHome = b.page.getByRole("region", { name: "Service social" });
      // Permanence admits the space's members, Sportveräin anyone; Dossiers is invite-only and
      // stays hidden.
      const join = benHome.getByRole("button", { name: "Join Permanence" });
      await join.waitFor();
      await benHome.getByRole("button", { name: "Join Sportveräin" }).waitFor();
      assertEquals(await benHome.getByText("Dossiers").count(), 0);
      const box = await benHome.boundingBox();
      assert(box !== null && box.width <= 360, `the home fits the phone: ${JSON.stringify(box)}`);
      assertEquals(await violations(b.page), [], "the space's home on a phone");
      await join.click();
      await b.page.getByRole("heading", { name: "Permanence" }).waitFor();
      await until(
        "Ben in Permanence",
        async () => await membership(server, ben, permanenceId) === "join",
      );
      // Anna's spaces bar marks the space that has an unread conversation.
      const joined = await server.request(
        "POST",
        `/_matrix/client/v3/join/${encodeURIComponent(sports)}`,
        { token: carol.accessToken, body: {} },
      );
      assertEquals(joined.status, 200);
      const sent = await server.request("PUT", rooms(sports, "/send/m.room.message/t1"), {
        token: carol.accessToken,
        body: { msgtype: "m.text", body: "Training e Mëttwoch" },
      });
      assertEquals(sent.status, 200);
      await bar.getByRole("button", { name: "Service social, unread messages" }).waitFor();
      assertEquals(await violations(a.page), [], "the spaces bar with an unread space");

      // The public directory: both published rooms, a search narrows it, Join works.
      await b.page.getByRole("link", { name: "Back to conversations" }).click();
      await b.page.getByRole("button", { name: "Explore public rooms" }).click();
      const explore = b.page.getByRole("dialog", { name: "Explore public rooms" });
      const found = explore.getByRole("list", { name: "Public rooms" });
      await until("the first page", async () => (await found.locator("li").count()) === 20);
      await explore.getByRole("button", { name: "Show more" }).click();
      await until("the second page", async () => (await found.locator("li").count()) === 22);
      assertEquals(await explore.getByRole("button", { name: "Show more" }).count(), 0);
      await found.getByText("Sportveräin").waitFor();
      await found.getByText("Bibliothéik").waitFor();
      assertEquals(await violations(b.page), [], "the directory on a phone");
      await explore.getByLabel("Search rooms").fill("bibl");
      await until("the search", async () => (await found.locator("li").count()) === 1);
      await found.getByText("Bicher ausléinen").waitFor();
      await explore.getByRole("button", { name: "Join Bibliothéik" }).click();
      await explore.waitFor({ state: "detached" });
      await b.page.getByRole("heading", { name: "Bibliothéik" }).waitFor();
      await until(
        "Ben in the library",
        async () => await membership(server, ben, library) === "join",
      );

      assertEquals(a.errors, []);
      assertEquals(b.errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
