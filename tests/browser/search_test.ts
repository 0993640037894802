/**
 * Message search in headless Chromium against a real server. Anna searches from the room list
 * (every conversation) and from a room's header. A word in an unencrypted room is found through
 * the server's `/search` (the request is seen, pages follow `next_batch`); a word in an encrypted
 * room, written by Bob's matrix-js-sdk client with the Rust crypto, is found in the browser's
 * local index while the server's `/search` does not know it; Anna's own encrypted message is
 * found too, and a search of the encrypted room alone asks the server nothing. Choosing a
 * result shows the message in its room, also one older than the loaded timeline. An edit
 * replaces the indexed text and a redaction removes it. Offline, the local index still answers. Axe checks the open panel; signing out deletes the local index.
 */

import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { flushCrypto, sdkClient, stopAll } from "../integration/e2ee_sdk_support.ts";
import { launchBrowser } from "./chromium.ts";
import { createRoomOfTwo, waitForDeviceKeys } from "./room_support.ts";
import { violations } from "./axe.ts";
import { startSyncing } from "../support/sdk_client.ts";
import { browserTest, openWatchedPage, signIn, untilWithin } from "./session_support.ts";

const TIMEOUT = 30_000;

const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 100 });

let txn = 0;
async function say(server: TestServer, user: TestUser, roomId: string, body: string) {
  const res = await server.request(
    "PUT",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/s${txn++}`,
    { token: user.accessToken, body: { msgtype: "m.text", body } },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

/** What the server's `/search` finds for `user` (all their rooms). */
async function serverCount(server: TestServer, user: TestUser, term: string): Promise<number> {
  const res = await server.request("POST", "/_matrix/client/v3/search", {
    token: user.accessToken,
    body: { search_categories: { room_events: { search_term: term } } },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.search_categories.room_events.count;
}

browserTest(
  "web search: server /search for unencrypted rooms, the local index for encrypted ones",
  async () => {
    const server = await startTestServer({ config: { e2ee: { default_for: "off" } } });
    const browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    const anna = await server.register("anna");
    const bob = await server.register("bob");
    const bobClient = await sdkClient(server, bob);
    try {
      // An unencrypted room: the oldest match, then more matches and other talk after it, so
      // it is far older than what the timeline loads at first.
      const library = await createRoomOfTwo(server, bob, anna, {
        name: "Bibliothéik",
        encrypted: false,
      });
      const oldest = await say(server, bob, library, "The first zucchini harvest was small");
      for (let i = 0; i < 22; i++) await say(server, bob, library, `zucchini note ${i}`);
      for (let i = 0; i < 20; i++) await say(server, bob, library, `other talk ${i}`);
      const vault = await createRoomOfTwo(server, bob, anna, { name: "Coffre", encrypted: true });

      await startSyncing(bobClient, { initialSyncLimit: 10 });
      await flushCrypto(bobClient);

      const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
      const searches: { term: string; count: number }[] = [];
      page.on("response", async (response) => {
        if (!response.url().includes("/_matrix/client/v3/search")) return;
        const sent = JSON.parse(response.request().postData() ?? "{}");
        const body = await response.json().catch(() => ({}));
        searches.push({
          term: sent.search_categories?.room_events?.search_term,
          count: body.search_categories?.room_events?.count ?? -1,
        });
      });
      await signIn(page, server, anna);
      const list = page.getByRole("navigation", { name: "Conversation list" });
      await waitForDeviceKeys(server, anna);

      // Bob writes in the encrypted room; the app decrypts it (the room list's preview).
      await until(
        "Bob sees Anna in the encrypted room",
        () => bobClient.getRoom(vault)?.getMember(anna.userId)?.membership === "join",
      );
      await bobClient.sendTextMessage(vault, "Secret marmalade recipe: bitter oranges");
      await list.getByText(/Secret marmalade/).waitFor();
      assertEquals(await serverCount(server, anna, "marmalade"), 0, "the server has ciphertext");

      // Every conversation, from the room list: the unencrypted word through /search.
      await page.getByRole("button", { name: "Search messages in all conversations" }).click();
      const panel = page.getByRole("dialog", { name: "Search messages" });
      await panel.waitFor();
      await panel.getByText(/searched on this device only/).waitFor();
      const field = panel.getByRole("searchbox", { name: "Words to find" });
      await field.fill("zucchini");
      await field.press("Enter");
      const results = panel.getByRole("list", { name: "Results" }).getByRole("listitem");
      await panel.getByRole("status").getByText("Messages found: 20").waitFor();
      await until(
        "the words sent to the server's /search",
        () => searches.some((s) => s.term === "zucchini" && s.count === 23),
      );
      assertEquals(await results.count(), 20);
      assertEquals(
        await results.first().locator("mark").first().textContent(),
        "zucchini",
        "the match is marked",
      );
      await panel.getByRole("button", { name: "Show more results" }).click();
      await panel.getByRole("status").getByText("Messages found: 23").waitFor();
      await until(
        "a second page from /search",
        () => searches.filter((s) => s.term === "zucchini").length === 2,
      );
      assertEquals(
        await panel.getByRole("button", { name: "Show more results" }).count(),
        0,
        "no more pages",
      );
      assertEquals(
        await panel.locator("[data-search-result]").last().getAttribute("data-search-result"),
        oldest,
        "newest first, the oldest last",
      );

      // The encrypted word: from the local index; the server's answer to the same search is empty.
      await field.fill("marmalade");
      await field.press("Enter");
      const local = panel.locator("[data-search-result]");
      await panel.getByRole("status").getByText("Messages found: 1").waitFor();
      await local.first().getByText("Found on this device").waitFor();
      await local.first().locator("mark", { hasText: "marmalade" }).waitFor();
      await local.first().getByText("Coffre").waitFor();
      await until(
        "the server's /search answer for the encrypted word",
        () => searches.some((s) => s.term === "marmalade"),
      );
      assertEquals(searches.find((s) => s.term === "marmalade")?.count, 0, "nothing on the server");
      assertEquals(await violations(page), [], "axe on the search panel");

      // Choosing the oldest unencrypted result shows it in its room (loaded around it).
      await field.fill("zucchini");
      await field.press("Enter");
      await panel.getByRole("status").getByText("Messages found: 20").waitFor();
      await panel.getByRole("button", { name: "Show more results" }).click();
      await panel.locator(`[data-search-result="${oldest}"]`).click();
      await panel.waitFor({ state: "detached" });
      const libraryLog = page.getByRole("log", { name: "Messages in Bibliothéik" });
      const found = libraryLog.locator(`[data-event-id="${oldest}"]`);
      await found.getByText("The first zucchini harvest was small").waitFor();
      await until("the found message on screen", () => found.isVisible());
      await until("the found message scrolled into view and marked", async () => {
        const box = await found.boundingBox();
        return box !== null && box.y + box.height > 0 && box.y < 800 &&
          await found.locator("article:focus").count() === 1;
      });

      // The encrypted room alone: Anna's own message too, and nothing asked of the server.
      await list.getByRole("link", { name: "Coffre", exact: true }).click();
      const vaultLog = page.getByRole("log", { name: "Messages in Coffre" });
      await vaultLog.getByText(/Secret marmalade/).waitFor();
      const composer = page.getByRole("textbox", { name: "Message", exact: true });
      await composer.click();
      await page.keyboard.type("Blueberry pancakes on Friday");
      await page.keyboard.press("Enter");
      await vaultLog.getByText("Blueberry pancakes on Friday").waitFor();
      const asked = searches.length;
      await page.getByRole("button", { name: "Search in this conversation" }).click();
      const roomPanel = page.getByRole("dialog", { name: "Search in Coffre" });
      await roomPanel.waitFor();
      const roomField = roomPanel.getByRole("searchbox", { name: "Words to find" });
      await until("Anna's own message in the local index", async () => {
        await roomField.fill("blueberry");
        await roomField.press("Enter");
        await roomPanel.getByRole("status").getByText(/Messages found|No messages/).waitFor();
        return await roomPanel.locator("[data-search-result]").count() === 1;
      });
      await roomField.fill("marm");
      await roomField.press("Enter");
      await roomPanel.getByRole("status").getByText("Messages found: 1").waitFor();
      assertEquals(searches.length, asked, "the encrypted room's search never asked the server");
      await roomPanel.locator("[data-search-result]").first().click();
      await roomPanel.waitFor({ state: "detached" });
      await vaultLog.locator("article:focus").getByText(/Secret marmalade/).waitFor();

      // Phone width: the panel fits and passes axe.
      await page.setViewportSize({ width: 360, height: 740 });
      await page.getByRole("button", { name: "Room options" }).click();
      await page.getByRole("menuitem", { name: "Search in this conversation" }).click();
      await roomPanel.waitFor();
      const width = await roomPanel.evaluate((element) => element.getBoundingClientRect().width);
      assert(width <= 360, `the panel fits a phone (${width} px)`);
      assertEquals(await violations(page), [], "axe on the panel at 360 px");
      await page.keyboard.press("Escape");
      await roomPanel.waitFor({ state: "detached" });

      // Offline the server cannot be asked, but this device's messages are still found.
      await page.setViewportSize({ width: 1280, height: 800 });
      await browser.context.setOffline(true);
      await page.getByRole("button", { name: "Search messages in all conversations" }).click();
      await panel.waitFor();
      await field.fill("marmalade");
      await field.press("Enter");
      await panel.getByRole("status")
        .getByText("The server could not be reached. Messages found on this device: 1").waitFor();
      await panel.locator("[data-search-result]").getByText(/Secret marmalade/).waitFor();
      await panel.getByRole("button", { name: "Close" }).click();
      await panel.waitFor({ state: "detached" });
      await browser.context.setOffline(false);

      // An edit replaces the indexed text (under the original's ID); a redaction removes it.
      const fair = await bobClient.sendTextMessage(vault, "Apricot jam for the village fair");
      await bobClient.sendMessage(vault, {
        msgtype: "m.text",
        body: "* Apricot compote for the village fair",
        "m.new_content": { msgtype: "m.text", body: "Apricot compote for the village fair" },
        "m.relates_to": { rel_type: "m.replace", event_id: fair.event_id },
      } as never);
      await page.getByRole("button", { name: "Search messages in all conversations" }).click();
      await panel.waitFor();
      const localHits = async (term: string) => {
        await field.fill(term);
        await field.press("Enter");
        await panel.getByRole("status").getByText(/Messages found|No messages/).waitFor();
        return await panel.locator("[data-search-result]").evaluateAll((all) =>
          all.map((element) => element.getAttribute("data-search-result"))
        );
      };
      await until(
        "the edited text in the index",
        async () => (await localHits("compote")).join() === fair.event_id,
      );
      assertEquals(await localHits("jam"), [], "the text before the edit is gone");
      await bobClient.redactEvent(vault, fair.event_id);
      await until(
        "the redacted message out of the index",
        async () => (await localHits("apricot")).length === 0,
      );
      await panel.getByRole("button", { name: "Close" }).click();
      await panel.waitFor({ state: "detached" });

      // Signing out deletes the local index.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Username").waitFor();
      await until("the local index deleted", async () => {
        const names = await page.evaluate<string[]>(
          "indexedDB.databases().then((all) => all.map((db) => db.name))",
        );
        return !names.includes("gemeng-search");
      });
      assertEquals(errors, []);
    } finally {
      stopAll(bobClient);
      await browser.close();
      await server.close();
    }
  },
);
