/**
 * The "New messages" line in headless Chromium against a real server: Bob writes while Anna is
 * in another room; when Anna opens the room the line sits right above Bob's first unread
 * message, is a named separator, is scrolled into view (Bob's messages are taller than the
 * screen), stays while the room is open, passes axe's WCAG checks, and is gone when Anna opens
 * the room again after reading. Bob works over plain HTTP.
 */

import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser } from "./chromium.ts";
import { violations } from "./axe.ts";
import { createRoomOfTwo } from "./room_support.ts";
import {
  browserTest,
  clickThrough,
  openWatchedPage,
  submitSignIn,
  untilWithin,
} from "./session_support.ts";

const TIMEOUT = 20_000;

const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 100 });

const roomPath = (roomId: string, rest: string) =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}${rest}`;

/** A public room `owner` makes and `guest` joins. */
function room(server: TestServer, owner: TestUser, guest: TestUser, name: string) {
  return createRoomOfTwo(server, owner, guest, { name, encrypted: false, preset: "public_chat" });
}

let txn = 0;
async function say(server: TestServer, user: TestUser, roomId: string, body: string) {
  const res = await server.request("PUT", roomPath(roomId, `/send/m.room.message/n${txn++}`), {
    token: user.accessToken,
    body: { msgtype: "m.text", body },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

/** Anna's fully-read marker in the room, as the server has it. */
async function fullyRead(server: TestServer, user: TestUser, roomId: string) {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/rooms/${
      encodeURIComponent(roomId)
    }/account_data/m.fully_read`,
    { token: user.accessToken },
  );
  return res.status === 200 ? res.body.event_id as string : null;
}

browserTest("web timeline: a New messages line above the first unread message", async () => {
  const server = await startTestServer();
  const browser = await launchBrowser({ viewport: { width: 1280, height: 700 } });
  try {
    const anna = await server.register("anna");
    const bob = await server.register("bob");
    const roomId = await room(server, anna, bob, "Stammdësch");
    await room(server, anna, bob, "Elsewhere");
    const seen = await say(server, bob, roomId, "Moien Anna");

    const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
    await submitSignIn(page, server, anna);
    const list = page.getByRole("navigation", { name: "Conversation list" });
    const open = async (name: string) => {
      await clickThrough(
        list.getByRole("link", { name, exact: true }),
        page.getByRole("heading", { name }),
      );
    };
    const log = page.getByRole("log", { name: "Messages in Stammdësch" });
    const line = log.getByRole("separator", { name: "New messages" });

    // Anna reads the room, then goes elsewhere.
    await open("Stammdësch");
    await log.getByText("Moien Anna").waitFor();
    await until(
      "Anna's marker on Bob's first message",
      async () => await fullyRead(server, anna, roomId) === seen,
    );
    assertEquals(await line.count(), 0, "nothing unread, no line");
    await open("Elsewhere");

    // Bob writes three messages, each taller than half the screen.
    const tall = (word: string) => Array.from({ length: 14 }, () => word).join("\n");
    const first = await say(server, bob, roomId, tall("Éischt"));
    await say(server, bob, roomId, tall("Zweet"));
    const third = await say(server, bob, roomId, tall("Drëtt"));
    await list.getByText(/Drëtt/).first().waitFor(); // the room list's preview: synced

    await open("Stammdësch");
    await line.waitFor();
    const next = await log.locator("li:has([role='separator'])").evaluate((li) => ({
      next: li.nextElementSibling?.getAttribute("data-event-id") ?? null,
      previous: li.previousElementSibling?.getAttribute("data-event-id") ?? null,
    }));
    assertEquals(next.next, first, "the line is right above Bob's first unread message");
    assertEquals(next.previous, seen, "and right below the last read one");
    const inView = await line.evaluate((element) => {
      const box = element.getBoundingClientRect();
      const area = element.closest("[role='log']")!.parentElement!.parentElement!
        .getBoundingClientRect();
      return box.top >= area.top && box.bottom <= area.bottom;
    });
    assert(inView, "the line is scrolled into view");
    assertEquals(await violations(page), [], "the timeline with the line");

    // Reading to the end keeps the line while the room is open.
    await page.getByRole("button", { name: "Jump to latest" }).click();
    await until(
      "Anna's marker on Bob's last message",
      async () => await fullyRead(server, anna, roomId) === third,
    );
    assertEquals(await line.count(), 1, "the line stays while the room is open");

    // Opened again after reading: no line.
    await open("Elsewhere");
    await open("Stammdësch");
    await log.getByText(/Drëtt/).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(await line.count(), 0, "read messages get no line");
    assertEquals(errors, [], "the page threw");
  } finally {
    await browser.close();
    await server.close();
  }
});
