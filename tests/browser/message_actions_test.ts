/**
 * A message's "More actions" in headless Chromium against a real server: Forward to another
 * conversation, Pin (the pinned messages bar) and Unpin, Quote into the composer, and Report
 * (the report reaches the server's store), Pin off without the power level, then the list on a
 * 360 px phone; axe's WCAG 2.1 A/AA checks on the list, the bar and both dialogs.
 */

import type { Locator, Page } from "playwright-core";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { violations } from "./axe.ts";
import {
  browserTest,
  openWatchedPage,
  submitSignIn,
  untilWithin,
  withServerAndBrowser,
} from "./session_support.ts";

const TIMEOUT = 15_000;
const ROOM = "Stammdësch";
const OTHER_ROOM = "Büro";
const TEXT = "D'Sëtzung ass muer um 10 Auer";

/** Waits until `check` holds (polled from the test: the CSP forbids eval in the page). */
const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 50 });

const roomPath = (roomId: string, rest: string) =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}${rest}`;

async function createRoom(
  server: TestServer,
  owner: TestUser,
  name: string,
  guest: TestUser,
): Promise<string> {
  const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
    token: owner.accessToken,
    body: { name, preset: "public_chat" },
  });
  assertEquals(created.status, 200, JSON.stringify(created.body));
  const roomId: string = created.body.room_id;
  const joined = await server.request(
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
    { token: guest.accessToken, body: {} },
  );
  assertEquals(joined.status, 200);
  return roomId;
}

/** The room's newest events, oldest first, as `user` reads them. */
// deno-lint-ignore no-explicit-any
async function recent(server: TestServer, user: TestUser, roomId: string): Promise<any[]> {
  const res = await server.request("GET", roomPath(roomId, "/messages?dir=b&limit=20"), {
    token: user.accessToken,
  });
  assertEquals(res.status, 200);
  return res.body.chunk.reverse();
}

async function pinnedOnServer(server: TestServer, user: TestUser, roomId: string) {
  const res = await server.request("GET", roomPath(roomId, "/state/m.room.pinned_events/"), {
    token: user.accessToken,
  });
  return res.status === 200 ? res.body.pinned : null;
}

/** Opens "More actions" on a message and picks `item`. */
async function more(page: Page, message: Locator, item: string): Promise<void> {
  await message.hover();
  await message.getByRole("toolbar", { name: "Message actions" })
    .getByRole("button", { name: "More actions" }).click();
  await message.getByRole("list", { name: "More actions" })
    .getByRole("button", { name: item, exact: true }).click();
  await page.mouse.move(0, 0);
}

browserTest(
  "web message actions: forward, pin and unpin, quote, report, ignore; the list on a phone",
  () =>
    withServerAndBrowser({}, async (server, browser) => {
      const anna = await server.register("anna");
      const bob = await server.register("bob");
      const roomId = await createRoom(server, anna, ROOM, bob);
      const otherId = await createRoom(server, anna, OTHER_ROOM, bob);
      // Bob's room, where Anna's power level does not allow pinning.
      const bobsId = await createRoom(server, bob, "Rathaus", anna);
      const bobsMessage = await server.request("PUT", roomPath(bobsId, "/send/m.room.message/t2"), {
        token: bob.accessToken,
        body: { msgtype: "m.text", body: "Ëffnungszäiten" },
      });
      assertEquals(bobsMessage.status, 200);
      const sent = await server.request("PUT", roomPath(roomId, "/send/m.room.message/t1"), {
        token: bob.accessToken,
        body: { msgtype: "m.text", body: TEXT },
      });
      assertEquals(sent.status, 200);
      const eventId: string = sent.body.event_id;

      const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
      await page.setViewportSize({ width: 1280, height: 800 });
      await submitSignIn(page, server, anna);
      await page.getByRole("navigation", { name: "Conversation list" })
        .getByRole("link", { name: ROOM }).click();
      const log = page.getByRole("log", { name: `Messages in ${ROOM}` });
      const message = log.locator(`li[data-event-id="${eventId}"]`);
      await message.getByText(TEXT).waitFor();

      // Forward: the same text arrives in the other conversation.
      await more(page, message, "Forward");
      const forward = page.getByRole("dialog", { name: "Forward the message" });
      await forward.getByRole("button", { name: ROOM }).count().then((n) => assertEquals(n, 0));
      await forward.getByRole("button", { name: OTHER_ROOM }).click();
      await forward.getByText(`Forwarded to ${OTHER_ROOM}.`).waitFor();
      assertEquals(await violations(page), [], "the forward dialog");
      await forward.getByRole("button", { name: "Cancel" }).click();
      await until("the forwarded copy", async () => {
        const events = await recent(server, bob, otherId);
        return events.some((e) =>
          e.type === "m.room.message" && e.sender === anna.userId && e.content.body === TEXT &&
          e.content.msgtype === "m.text" && !e.content["m.relates_to"]
        );
      });

      // Pin: the room's state lists it and the bar shows it.
      await more(page, message, "Pin");
      const bar = page.getByRole("region", { name: "Pinned messages (1)" });
      await bar.getByText(TEXT).waitFor();
      await until("the pin on the server", async () => {
        const pinned = await pinnedOnServer(server, bob, roomId);
        return Array.isArray(pinned) && pinned.length === 1 && pinned[0] === eventId;
      });
      await bar.getByRole("button", { name: "Show pinned messages" }).click();
      const listed = bar.locator(`[data-pinned-event="${eventId}"]`);
      await listed.waitFor();
      assertEquals(await violations(page), [], "the pinned messages bar, open");
      await listed.click();

      // Unpin: the list is empty and the bar goes.
      await more(page, message, "Unpin");
      await bar.waitFor({ state: "detached" });
      await until("the unpin on the server", async () => {
        const pinned = await pinnedOnServer(server, bob, roomId);
        return Array.isArray(pinned) && pinned.length === 0;
      });

      // Quote: "> text" in the composer.
      const composer = page.getByRole("textbox", { name: "Message", exact: true });
      await more(page, message, "Quote");
      await until("the quote in the composer", async () => {
        return (await composer.innerText()).includes(`> ${TEXT}`);
      });
      await composer.press("Control+a");
      await composer.press("Delete");

      // Report: the reason reaches the server's store.
      await more(page, message, "Report");
      const report = page.getByRole("dialog", { name: "Report this message" });
      await report.getByLabel("Reason").fill("Spam");
      await report.getByRole("button", { name: "Report" }).click();
      await report.getByText("Thank you, the report was sent.").waitFor();
      assertEquals(await violations(page), [], "the report dialog");
      await report.getByRole("button", { name: "Cancel" }).click();
      const reports = [];
      for await (
        const entry of server.hs.kv.list<Record<string, unknown>>({ prefix: ["report"] })
      ) {
        reports.push(entry.value);
      }
      assertEquals(reports.length, 1);
      assertEquals(reports[0].eventId, eventId);
      assertEquals(reports[0].roomId, roomId);
      assertEquals(reports[0].reporter, anna.userId);
      assertEquals(reports[0].reason, "Spam");

      // Without the power level, Pin is off and says why.
      await page.getByRole("navigation", { name: "Conversation list" })
        .getByRole("link", { name: "Rathaus" }).click();
      const bobsTile = page.getByRole("log", { name: "Messages in Rathaus" })
        .locator(`li[data-event-id="${bobsMessage.body.event_id}"]`);
      await bobsTile.hover();
      await bobsTile.getByRole("button", { name: "More actions" }).click();
      const pin = bobsTile.getByRole("button", { name: "Pin", exact: true });
      assert(await pin.isDisabled(), "Pin is off without the power level");
      await bobsTile.getByText("You are not allowed to pin messages in this conversation.")
        .waitFor();
      assertEquals(await violations(page), [], "the More actions list");
      await page.keyboard.press("Escape");
      await page.getByRole("navigation", { name: "Conversation list" })
        .getByRole("link", { name: ROOM }).click();
      await message.getByText(TEXT).waitFor();

      // On a 360 px phone the list stays on screen.
      await page.setViewportSize({ width: 360, height: 740 });
      await message.click();
      await message.getByRole("toolbar", { name: "Message actions" })
        .getByRole("button", { name: "More actions" }).click();
      const list = message.getByRole("list", { name: "More actions" });
      await list.getByRole("button", { name: "Forward" }).waitFor();
      const box = await list.boundingBox();
      assert(box !== null, "the list is shown");
      assert(box.x >= 0 && box.x + box.width <= 360, `the list fits: ${JSON.stringify(box)}`);
      assertEquals(await violations(page), [], "the More actions list on a phone");
      await page.keyboard.press("Escape");
      await list.waitFor({ state: "detached" });

      // Ignore the sender, from the same list: a plain confirmation, then the account data.
      await message.click();
      await message.getByRole("toolbar", { name: "Message actions" })
        .getByRole("button", { name: "More actions" }).click();
      await list.getByRole("button", { name: "Ignore the sender" }).click();
      const ignore = page.getByRole("dialog", { name: "Ignore bob?" });
      await ignore.getByText("You will no longer see messages or invitations from bob.")
        .waitFor();
      assertEquals(await violations(page), [], "the ignore dialog on a phone");
      await ignore.getByRole("button", { name: "Ignore", exact: true }).click();
      await ignore.waitFor({ state: "detached" });
      await until("the ignore list on the server", async () => {
        const res = await server.request(
          "GET",
          `/_matrix/client/v3/user/${
            encodeURIComponent(anna.userId)
          }/account_data/m.ignored_user_list`,
          { token: anna.accessToken },
        );
        return res.status === 200 && bob.userId in (res.body.ignored_users ?? {});
      });

      assertEquals(errors, []);
    }),
);
