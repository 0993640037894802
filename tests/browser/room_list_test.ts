/**
 * The room list in headless Chromium against a real server: each row's picture (the room's
 * `m.room.avatar`, the other person's in a direct chat, initials otherwise), its newest message
 * (decrypted in an encrypted direct chat, "Encrypted message" without the key, "Message
 * deleted" after a redaction, the sender first in groups), the time, bold while unread, a mark
 * when the user is mentioned, the newest room first, and bold gone once the room is opened; at
 * desktop width and on a 360 px phone, with axe's WCAG checks. Bob is a matrix-js-sdk client
 * with Rust crypto in this process; the rest goes over plain HTTP.
 */

import * as sdk from "matrix-js-sdk";
import type { Locator } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { flushCrypto, sdkClient, stopAll } from "../integration/e2ee_sdk_support.ts";
import { launchBrowser } from "./chromium.ts";
import { createRoomOfTwo, waitForDeviceKeys } from "./room_support.ts";
import { violations } from "./axe.ts";
import { startSyncing } from "../support/sdk_client.ts";
import {
  browserTest,
  clickThrough,
  openWatchedPage,
  signIn,
  TINY_PNG,
  untilWithin,
} from "./session_support.ts";

const TIMEOUT = 20_000;

function roomPath(roomId: string, rest: string): string {
  return `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}${rest}`;
}

async function ok(
  server: TestServer,
  method: string,
  path: string,
  options: { token: string; body?: unknown },
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const res = await server.request(method, path, options);
  assertEquals(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function upload(server: TestServer, user: TestUser): Promise<string> {
  const res = await fetch(`${server.baseUrl}/_matrix/media/v3/upload?filename=p.png`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "image/png" },
    body: TINY_PNG,
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return body.content_uri;
}

let txn = 0;
function send(server: TestServer, user: TestUser, roomId: string, type: string, body: unknown) {
  return ok(server, "PUT", roomPath(roomId, `/send/${type}/t${++txn}`), {
    token: user.accessToken,
    body,
  });
}

const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 50 });

/** What one row shows. */
interface RowView {
  bold: boolean;
  preview: string;
  time: string;
  dateTime: string | null;
  picture: boolean;
  initial: string;
}

async function rowView(row: Locator): Promise<RowView> {
  return await row.evaluate((li) => {
    const name = li.querySelector("[id$='-n']");
    const img = li.querySelector("img");
    // The DOM's global, which the test's own type library does not declare.
    const style = (globalThis as unknown as {
      getComputedStyle(element: unknown): { fontWeight: string };
    }).getComputedStyle(name);
    return {
      bold: Number(style.fontWeight) >= 700,
      preview: li.querySelector("[id$='-p']")?.textContent ?? "",
      time: li.querySelector("time")?.textContent ?? "",
      dateTime: li.querySelector("time")?.getAttribute("datetime") ?? null,
      picture: !!img && img.src.startsWith("blob:") && img.naturalWidth > 0,
      initial: li.querySelector("span[aria-hidden='true']")?.textContent ?? "",
    };
  });
}

browserTest(
  "web room list: pictures, decrypted previews, times, unread in bold, mentions",
  async () => {
    // Groups in the clear unless a test asks (the server would encrypt private rooms).
    const server = await startTestServer({ config: { e2ee: { default_for: "off" } } });
    const browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    const anna = await server.register("anna");
    const bob = await server.register("bob");
    const bobClient = await sdkClient(server, bob);
    try {
      const profile = (user: TestUser, key: string) =>
        `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/${key}`;
      await ok(server, "PUT", profile(anna, "displayname"), {
        token: anna.accessToken,
        body: { displayname: "Anna" },
      });
      await ok(server, "PUT", profile(bob, "displayname"), {
        token: bob.accessToken,
        body: { displayname: "Bob Builder" },
      });
      await ok(server, "PUT", profile(bob, "avatar_url"), {
        token: bob.accessToken,
        body: { avatar_url: await upload(server, bob) },
      });

      // Rooms with messages from before the app signs in.
      const conseil = await createRoomOfTwo(server, bob, anna, {
        name: "Conseil",
        encrypted: false,
      });
      await ok(server, "PUT", roomPath(conseil, "/state/m.room.avatar/"), {
        token: bob.accessToken,
        body: { url: await upload(server, bob) },
      });
      const archives = await createRoomOfTwo(server, bob, anna, {
        name: "Archives",
        encrypted: false,
      });
      const gone = await send(server, bob, archives, "m.room.message", {
        msgtype: "m.text",
        body: "Oops, wrong room",
      });
      await ok(server, "PUT", roomPath(archives, `/redact/${gone.event_id}/r1`), {
        token: bob.accessToken,
        body: {},
      });
      // Megolm nobody gave this app the key to.
      const coffre = await createRoomOfTwo(server, bob, anna, { name: "Coffre", encrypted: true });
      await send(server, bob, coffre, "m.room.encrypted", {
        algorithm: "m.megolm.v1.aes-sha2",
        sender_key: "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE",
        session_id: "bm9zdWNoc2Vzc2lvbm5vc3VjaHNlc3Npb25ub3N1Y2g",
        device_id: "BOBSOTHER",
        ciphertext: "AwgAEnB5bm90YXJlYWxjaXBoZXJ0ZXh0",
      });
      const quiet = await createRoomOfTwo(server, bob, anna, {
        name: "Quiet corner",
        encrypted: false,
      });
      await send(server, anna, quiet, "m.room.message", { msgtype: "m.text", body: "Noted" });

      await startSyncing(bobClient, { initialSyncLimit: 10 });
      await flushCrypto(bobClient);

      const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
      await signIn(page, server, anna);
      const list = page.getByRole("navigation", { name: "Conversation list" });
      await waitForDeviceKeys(server, anna);

      // An encrypted direct chat from Bob, the browser's device getting the key.
      const dm = await bobClient.createRoom({
        preset: sdk.Preset.TrustedPrivateChat,
        is_direct: true,
        invite: [anna.userId],
        initial_state: [{
          type: "m.room.encryption",
          state_key: "",
          content: { algorithm: "m.megolm.v1.aes-sha2" },
        }],
      });
      await ok(server, "POST", `/_matrix/client/v3/join/${encodeURIComponent(dm.room_id)}`, {
        token: anna.accessToken,
        body: {},
      });
      await ok(
        server,
        "PUT",
        `/_matrix/client/v3/user/${encodeURIComponent(anna.userId)}/account_data/m.direct`,
        { token: anna.accessToken, body: { [bob.userId]: [dm.room_id] } },
      );
      await until(
        "Anna in Bob's direct chat",
        () => bobClient.getRoom(dm.room_id)?.getMember(anna.userId)?.membership === "join",
      );
      await bobClient.sendTextMessage(dm.room_id, "Geheim: the budget is ready");
      const stored = await ok(server, "GET", roomPath(dm.room_id, "/messages?dir=b&limit=3"), {
        token: bob.accessToken,
      });
      assert(
        stored.chunk.some((e: { type: string }) => e.type === "m.room.encrypted"),
        "the direct message travelled encrypted",
      );

      // The group, last: a message, then one mentioning Anna.
      await send(server, bob, conseil, "m.room.message", {
        msgtype: "m.text",
        body: "Agenda for Monday",
      });
      await send(server, bob, conseil, "m.room.message", {
        msgtype: "m.text",
        body: "Anna, can you check\nthe minutes?",
        "m.mentions": { user_ids: [anna.userId] },
      });

      const row = (name: string) =>
        list.getByRole("listitem").filter({ has: page.getByRole("link", { name, exact: true }) });
      await row("Conseil").getByText("Bob Builder: Anna, can you check the minutes?").waitFor();
      await row("Bob Builder").getByText("Geheim: the budget is ready", { exact: true }).waitFor();
      await row("Archives").getByText("Bob Builder: Message deleted").waitFor();
      await row("Coffre").getByText("Bob Builder: Encrypted message").waitFor();
      await row("Quiet corner").getByText("You: Noted").waitFor();
      await row("Conseil").getByRole("img", { name: "1 mention" }).waitFor();

      const names = await list.locator("li [id$='-n']").allTextContents();
      assertEquals(
        names,
        ["Conseil", "Bob Builder", "Quiet corner", "Coffre", "Archives"],
        "the newest activity first",
      );
      const conseilRow = await rowView(row("Conseil"));
      assert(conseilRow.bold, "an unread room is bold");
      assert(conseilRow.picture, "the room's m.room.avatar is shown");
      assert(/^\d{2}:\d{2}$/.test(conseilRow.time), `today's time: ${conseilRow.time}`);
      assert(conseilRow.dateTime && Date.now() - Date.parse(conseilRow.dateTime) < 120_000);
      const dmRow = await rowView(row("Bob Builder"));
      assert(dmRow.bold, "the direct chat is unread");
      assert(dmRow.picture, "a direct chat shows the other person's picture");
      const quietRow = await rowView(row("Quiet corner"));
      assert(!quietRow.bold, "a room whose last message is one's own is not unread");
      assertEquals(quietRow.picture, false);
      assertEquals(quietRow.initial, "QC", "initials without a picture");
      assertEquals(
        await row("Quiet corner").getByRole("img").count(),
        0,
        "no unread or mention mark on a read room",
      );
      // The mark and count describe the link, whose name stays the room's.
      const described = await page.getByRole("link", { name: "Conseil", exact: true })
        .getAttribute("aria-describedby");
      assert(described && described.split(" ").length === 4, String(described));
      assertEquals(await violations(page), [], "the room list at 1280 px");

      // Opening the room reads it: bold and marks go.
      await clickThrough(
        page.getByRole("link", { name: "Conseil", exact: true }),
        page.getByRole("heading", { name: "Conseil" }),
      );
      await page.getByText("Agenda for Monday").waitFor();
      await until("Conseil read", async () => !(await rowView(row("Conseil"))).bold);
      await row("Conseil").getByRole("img", { name: "1 mention" }).waitFor({ state: "detached" });
      assert((await rowView(row("Bob Builder"))).bold, "other rooms stay unread");

      // A phone: the list fits its width, previews cut short rather than wrapping.
      await page.setViewportSize({ width: 360, height: 740 });
      await page.goto(server.baseUrl);
      await row("Bob Builder").getByText("Geheim: the budget is ready", { exact: true }).waitFor();
      await row("Conseil").getByText("Bob Builder: Anna, can you check the minutes?").waitFor();
      assert(!(await rowView(row("Conseil"))).bold, "still read after reloading");
      assertEquals(
        await page.evaluate(`document.documentElement.scrollWidth <= 360`),
        true,
        "nothing wider than the phone",
      );
      const heights = await list.locator("li").evaluateAll((items) =>
        items.map((li) => li.getBoundingClientRect().height)
      );
      assert(heights.every((h) => h < 80), `one line per preview: ${heights}`);
      assertEquals(await violations(page), [], "the room list at 360 px");
      assertEquals(errors, [], "the page threw");
    } finally {
      stopAll(bobClient);
      await browser.close();
      await server.close();
    }
  },
);
