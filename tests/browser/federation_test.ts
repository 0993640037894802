/**
 * The web app with rooms and people on another server, in headless Chromium against two gemeng
 * nodes federating over loopback TLS (test CA). Each node serves the app on its plain-HTTP
 * client listener. Bob, on B, joins alice's room on A by its alias through "Join a room"
 * (after an unknown alias and an unreachable server are explained), reads what alice wrote and
 * answers; alice, in the app on A, invites carol of B by her full Matrix ID; carol, in the app
 * on B, sees the invitation, accepts it, reads the room, including what alice wrote before
 * anyone of B was there (held by B at backfilled positions), and answers what alice writes next.
 *
 * @module
 */

import type { Page } from "playwright-core";
import { assert, assertEquals } from "../unit/assert.ts";
import {
  type GemengNode,
  type NodeUser,
  startGemengNode,
} from "../federation/support/gemeng_node.ts";
import { CA_MISSING, freePort, skipUnless } from "../federation/support/peers.ts";
import { eventually, messageBodies } from "../federation/support/rooms.ts";
import { type BrowserSession, launchBrowser, SKIP_REASON } from "./chromium.ts";

/** Rust crypto's WASM starts slowly in Chromium on a busy machine; joins cross two servers. */
const TIMEOUT = 45_000;
const ROOM = "Commune";

/** A node's user as the browser signs in: localpart and the password gemeng_node gave it. */
function passwordOf(user: NodeUser): string {
  return `pw-${user.userId.slice(1).split(":")[0]}-secret`;
}

/** A page of the app, with the errors it threw or the CSP refused. */
async function openPage(browser: BrowserSession, name: string, errors: string[]): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => errors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    if (Deno.env.get("GEMENG_BROWSER_LOG")) console.log(`[${name} ${msg.type()}] ${msg.text()}`);
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
      errors.push(`${name}: ${msg.text()}`);
    }
  });
  return page;
}

const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);

/** WCAG 2.1 AA violations axe finds on the page. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<{ id: string; nodes: { target: string[] }[] }[]>(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  );
  return result.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
}

/** Signs `user` in to the app `node` serves. */
async function signIn(page: Page, node: GemengNode, user: NodeUser): Promise<void> {
  await page.goto(node.baseUrl);
  await page.getByLabel("Username").fill(user.userId.slice(1).split(":")[0]);
  await page.getByLabel("Password").fill(passwordOf(user));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

/** The timeline of the open room. */
function timeline(page: Page) {
  return page.getByRole("log", { name: `Messages in ${ROOM}` });
}

async function membership(node: GemengNode, user: NodeUser, roomId: string, target: string) {
  const res = await node.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${target}`,
    { token: user.accessToken },
  );
  return res.status === 200 ? res.body.membership as string : null;
}

Deno.test({
  name: "web federation: join #room:other by alias, answer, invite @user:other who accepts",
  ignore: SKIP_REASON !== null || skipUnless(CA_MISSING).ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const browsers: BrowserSession[] = [];
    const errors: string[] = [];
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const carol = await b.register("carol");
      const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "public_chat", name: ROOM, room_alias_name: "commune" },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const roomId = created.body.room_id as string;
      const sent = await a.request(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "Moien from A" } },
      );
      assertEquals(sent.status, 200, JSON.stringify(sent.body));

      // Bob, in the app on B, joins by alias; wrong addresses are explained first.
      const first = await launchBrowser();
      browsers.push(first);
      const bobPage = await openPage(first, "bob", errors);
      await signIn(bobPage, b, bob);
      await bobPage.getByRole("button", { name: "Join a room" }).click();
      const dialog = bobPage.getByRole("dialog", { name: "Join a room" });
      const address = dialog.getByLabel("Room address");
      const join = dialog.getByRole("button", { name: "Join", exact: true });
      const problem = dialog.getByRole("alert");

      await address.fill(`#nowhere:${a.serverName}`);
      await join.click();
      await problem.getByText("No room has this address.").waitFor();
      assertEquals(await accessibilityViolations(bobPage), [], "the join dialog with a problem");

      await address.fill(`#commune:127.0.0.1:${freePort()}`);
      await join.click();
      await problem.getByText("The room’s server could not be reached").waitFor();

      await address.fill(`#commune:${a.serverName}`);
      await join.click();
      await dialog.waitFor({ state: "detached" });
      await bobPage.waitForURL(/\/rooms\//);
      assertEquals(
        decodeURIComponent(new URL(bobPage.url()).pathname.slice("/rooms/".length)),
        roomId,
      );
      await timeline(bobPage).getByText("Moien from A").waitFor();
      await bobPage.getByRole("navigation", { name: "Conversation list" })
        .getByRole("link", { name: ROOM }).waitFor();

      // Bob answers; alice reads it on A.
      await bobPage.getByRole("textbox", { name: "Message", exact: true }).click();
      await bobPage.keyboard.type("Moien from B");
      await bobPage.keyboard.press("Enter");
      await eventually(
        async () => (await messageBodies(a, alice, roomId)).includes("Moien from B"),
        "bob's answer on A",
        TIMEOUT,
      );

      // Alice, in the app on A, invites carol of B by her full Matrix ID.
      const alicePage = await openPage(first, "alice", errors);
      await signIn(alicePage, a, alice);
      await alicePage.getByRole("navigation", { name: "Conversation list" })
        .getByRole("link", { name: ROOM }).click();
      await timeline(alicePage).getByText("Moien from B").waitFor();
      await alicePage.getByRole("button", { name: "Invite people" }).click();
      const invite = alicePage.getByRole("dialog", { name: `Invite people to ${ROOM}` });
      await invite.getByLabel("Search people").fill(carol.userId);
      await invite.getByRole("button", { name: carol.userId }).click();
      await invite.getByRole("button", { name: "Send invitations" }).click();
      await invite.waitFor({ state: "detached" });
      assertEquals(await membership(a, alice, roomId, carol.userId), "invite");

      // Carol, in the app on B (a browser of her own: bob's session holds B's origin), accepts.
      const second = await launchBrowser();
      browsers.push(second);
      const carolPage = await openPage(second, "carol", errors);
      await signIn(carolPage, b, carol);
      const list = carolPage.getByRole("navigation", { name: "Conversation list" });
      await list.getByText(`Invited by ${alice.userId}`).waitFor();
      await list.getByRole("button", { name: `Accept the invitation to ${ROOM}` }).click();
      await list.getByRole("link", { name: ROOM }).click();
      // What bob wrote reaches her through B; what alice writes now comes over federation, and
      // carol's answer goes back to A.
      await timeline(carolPage).getByText("Moien from B").waitFor();
      await timeline(carolPage).getByText("Moien from A").waitFor();
      const welcome = await a.request(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t2`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "Wëllkomm, Carol" } },
      );
      assertEquals(welcome.status, 200, JSON.stringify(welcome.body));
      await timeline(carolPage).getByText("Wëllkomm, Carol").waitFor();
      await carolPage.getByRole("textbox", { name: "Message", exact: true }).click();
      await carolPage.keyboard.type("Merci, Alice");
      await carolPage.keyboard.press("Enter");
      await eventually(
        async () => (await messageBodies(a, alice, roomId)).includes("Merci, Alice"),
        "carol's answer on A",
        TIMEOUT,
      );
      await eventually(
        async () => await membership(a, alice, roomId, carol.userId) === "join",
        "carol's join on A",
        TIMEOUT,
      );
      const joined = await a.request(
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`,
        { token: alice.accessToken },
      );
      assert(
        bob.userId in joined.body.joined && carol.userId in joined.body.joined,
        JSON.stringify(joined.body),
      );
      assertEquals(errors, [], "the pages threw or broke their Content-Security-Policy");
    } finally {
      for (const browser of browsers) await browser.close();
      await b.close();
      await a.close();
    }
  },
});
