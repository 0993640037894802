/**
 * The room timeline and composer in headless Chromium against a real server. Anna uses the
 * app; Bob is a matrix-js-sdk client (and plain HTTP) on the other side of the same room:
 * markdown out, sanitised HTML in, replies, edits with their history, reactions, deletion,
 * threads, mentions, typing, read receipts, paging back through 65 older messages, and a send
 * that fails and is retried.
 */

import * as sdk from "matrix-js-sdk";
import type { Locator, Page } from "playwright-core";
import { quietLogger } from "../integration/e2ee_sdk_support.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { type BrowserSession, launchBrowser } from "./chromium.ts";
import { startSyncing } from "../support/sdk_client.ts";
import {
  browserTestsNamed,
  clickThrough,
  localpartOf,
  openWatchedPage,
  submitSignIn,
} from "./session_support.ts";

const TIMEOUT = 15_000;
const browserTest = browserTestsNamed("web timeline: ");
const ROOM_NAME = "Stammdësch";

/** Waits until `check` holds (polled from the test, not in the page: the CSP forbids eval). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything one test works with. */
interface Scene {
  server: TestServer;
  anna: TestUser;
  bob: TestUser;
  bobClient: sdk.MatrixClient;
  roomId: string;
  page: Page;
  /** Anna's view of the room's timeline. */
  log: Locator;
  composer: Locator;
}

const path = (roomId: string, rest: string) =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}${rest}`;

async function setName(server: TestServer, user: TestUser, name: string): Promise<void> {
  const res = await server.request(
    "PUT",
    `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`,
    { token: user.accessToken, body: { displayname: name } },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

let txn = 0;
/** Sends an event as `user` over HTTP; its event ID. */
async function sendAs(
  scene: { server: TestServer; roomId: string },
  user: TestUser,
  content: Record<string, unknown>,
  type = "m.room.message",
): Promise<string> {
  const res = await scene.server.request(
    "PUT",
    path(scene.roomId, `/send/${type}/t${Date.now()}-${txn++}`),
    { token: user.accessToken, body: content },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

/** The newest event of `user`'s view that passes `test`, waiting for it to be there. */
async function findEvent(
  scene: { server: TestServer; roomId: string },
  user: TestUser,
  // deno-lint-ignore no-explicit-any
  test: (event: any) => boolean,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  // deno-lint-ignore no-explicit-any
  let found: any;
  await until("an event on the server", async () => {
    found = (await recentEvents(scene, user, 20)).findLast(test);
    return found !== undefined;
  });
  return found;
}

/** The room's newest events (oldest first) as `user` reads them over HTTP. */
async function recentEvents(
  scene: { server: TestServer; roomId: string },
  user: TestUser,
  limit = 20,
  // deno-lint-ignore no-explicit-any
): Promise<any[]> {
  const res = await scene.server.request(
    "GET",
    path(scene.roomId, `/messages?dir=b&limit=${limit}`),
    {
      token: user.accessToken,
    },
  );
  assertEquals(res.status, 200);
  return res.body.chunk.reverse();
}

async function bobsClient(server: TestServer, bob: TestUser): Promise<sdk.MatrixClient> {
  const client = sdk.createClient({
    baseUrl: server.baseUrl,
    userId: bob.userId,
    deviceId: bob.deviceId,
    accessToken: bob.accessToken,
    logger: quietLogger,
  });
  await startSyncing(client, { initialSyncLimit: 10 });
  return client;
}

/** A browser signed in to the app, with the room open; its page errors are collected. */
interface Person {
  browser: BrowserSession;
  page: Page;
  errors: string[];
}

async function openApp(server: TestServer, user: TestUser): Promise<Person> {
  const browser = await launchBrowser();
  const { page, errors } = await openWatchedPage(browser.context, {
    timeoutMs: TIMEOUT,
    label: localpartOf(user),
    csp: true,
  });
  await submitSignIn(page, server, user);
  await clickThrough(
    page.getByRole("navigation", { name: "Conversation list" })
      .getByRole("link", { name: ROOM_NAME }),
    page.getByRole("heading", { name: ROOM_NAME }),
  );
  return { browser, page, errors };
}

/**
 * A room of Anna and Bob, Bob's client, and Anna signed in to the app with the room open.
 * `before` runs once the room exists, before Anna signs in (to fill the room's history).
 */
async function withScene(
  options: {
    before?: (scene: Omit<Scene, "page" | "log" | "composer" | "bobClient">) => Promise<void>;
  },
  fn: (scene: Scene) => Promise<void>,
): Promise<void> {
  const server = await startTestServer();
  let browser: BrowserSession | null = null;
  let bobClient: sdk.MatrixClient | null = null;
  try {
    const anna = await server.register("anna");
    const bob = await server.register("bob");
    await setName(server, anna, "Anna");
    await setName(server, bob, "Bob");
    const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
      token: anna.accessToken,
      // Not encrypted, so Bob can work over plain HTTP.
      body: { name: ROOM_NAME, preset: "public_chat", invite: [bob.userId] },
    });
    assertEquals(created.status, 200, JSON.stringify(created.body));
    const roomId: string = created.body.room_id;
    const joined = await server.request(
      "POST",
      `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
      {
        token: bob.accessToken,
        body: {},
      },
    );
    assertEquals(joined.status, 200);
    await options.before?.({ server, anna, bob, roomId });
    bobClient = await bobsClient(server, bob);

    const person = await openApp(server, anna);
    browser = person.browser;
    const { page, errors } = person;
    const log = page.getByRole("log", { name: `Messages in ${ROOM_NAME}` });
    await log.waitFor();
    const composer = page.getByRole("textbox", { name: "Message", exact: true });
    try {
      await fn({ server, anna, bob, bobClient, roomId, page, log, composer });
    } catch (err) {
      if (Deno.env.get("GEMENG_BROWSER_LOG")) {
        await page.screenshot({ path: "/tmp/timeline_fail.png" });
      }
      throw err;
    }
    assertEquals(errors, [], "the page threw or broke its Content-Security-Policy");
  } finally {
    bobClient?.stopClient();
    await browser?.close();
    await server.close();
  }
}

/** The tile (list item) of the message whose text contains `text`. */
function tile(scene: Scene, text: string | RegExp, within?: Locator): Locator {
  return (within ?? scene.log).locator("li[data-event-id]").filter({
    has: scene.page.getByRole("article").filter({ hasText: text }),
  });
}

/** The tile of an event by ID. */
function byId(scene: Scene, eventId: string, within?: Locator): Locator {
  return (within ?? scene.log).locator(`li[data-event-id="${eventId}"]`);
}

/** Runs a message action (they show on hover or focus). */
async function act(_scene: Scene, message: Locator, action: string): Promise<void> {
  await message.hover();
  await message.getByRole("toolbar", { name: "Message actions" })
    .getByRole("button", { name: action, exact: true }).click();
}

const HOSTILE_HTML = "<mx-reply><blockquote>old fallback</blockquote></mx-reply>" +
  '<b>Moien</b> <span style="color:red">alleguer</span><script>window.__pwned = 1</script>' +
  '<img src="https://tracker.example/p.gif" alt="[bild]" onerror="window.__pwned = 2">' +
  '<a href="javascript:window.__pwned = 3">bad link</a> ' +
  '<a href="https://example.org/info" onclick="window.__pwned = 4">good link</a>' +
  "<ul><li>een</li><li>zwee</li></ul>";

browserTest("markdown out, safe HTML in, reply, edit and its history, react, delete", async () => {
  await withScene({}, async (scene) => {
    const { page, log, composer } = scene;
    // Bob's formatted message arrives with things that must not survive.
    const hostileId = await sendAs(scene, scene.bob, {
      msgtype: "m.text",
      body: "Moien alleguer",
      format: "org.matrix.custom.html",
      formatted_body: HOSTILE_HTML,
    });
    const hostile = byId(scene, hostileId);
    await hostile.getByText("Moien", { exact: true }).waitFor();
    const article = hostile.getByRole("article");
    assertEquals(await article.getAttribute("aria-labelledby") !== null, true);
    await article.getByText("Bob", { exact: true }).waitFor();
    assertEquals(await hostile.locator("b").textContent(), "Moien");
    assertEquals(await hostile.locator("script, img, mx-reply, [style], [onclick]").count(), 0);
    assertEquals(await hostile.getByText("old fallback").count(), 0, "the reply fallback is gone");
    assertEquals(await hostile.getByRole("link", { name: "bad link" }).count(), 0);
    await hostile.getByText("bad link").waitFor();
    const good = hostile.getByRole("link", { name: "good link" });
    assertEquals(await good.getAttribute("href"), "https://example.org/info");
    assertEquals(await good.getAttribute("rel"), "noopener noreferrer nofollow");
    assertEquals(await good.getAttribute("target"), "_blank");
    assertEquals(await hostile.getByRole("listitem").allTextContents(), ["een", "zwee"]);
    await hostile.getByText("[bild]").waitFor();
    assertEquals(await page.evaluate("window.__pwned ?? null"), null);

    // Markdown from the composer (Enter sends, Shift+Enter is a new line).
    await composer.click();
    await page.keyboard.type("**Gudde** _Moien_ mat `code`");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("~~al~~ nei");
    await page.keyboard.press("Enter");
    const mine = tile(scene, "Gudde");
    await mine.locator("strong", { hasText: "Gudde" }).waitFor();
    await mine.locator("em", { hasText: "Moien" }).waitFor();
    await mine.locator("code", { hasText: "code" }).waitFor();
    await mine.locator("del", { hasText: "al" }).waitFor();
    assertEquals(await composer.textContent(), "", "the composer is empty after sending");
    await mine.getByText("Sent", { exact: true }).waitFor();
    const sent = await findEvent(
      scene,
      scene.anna,
      (e) => e.sender === scene.anna.userId && e.type === "m.room.message",
    );
    assertEquals(sent.content.body, "**Gudde** _Moien_ mat `code`\n~~al~~ nei");
    assertEquals(sent.content.format, "org.matrix.custom.html");
    assertEquals(
      sent.content.formatted_body,
      "<strong>Gudde</strong> <em>Moien</em> mat <code>code</code><br /><del>al</del> nei",
    );

    // A reply: no fallback in the content; the original shows above it and leads back to it.
    await act(scene, hostile, "Reply");
    await page.getByText("Replying to Bob").waitFor();
    await composer.press("Escape");
    await page.getByText("Replying to Bob").waitFor({ state: "detached" });
    await act(scene, hostile, "Reply");
    await page.getByText("Replying to Bob").waitFor();
    await until(
      "the composer to have focus",
      async () =>
        await page.evaluate(`document.activeElement?.getAttribute("aria-label")`) === "Message",
    );
    await page.keyboard.type("Jo, moien!");
    await page.keyboard.press("Enter");
    const reply = tile(scene, "Jo, moien!");
    const quote = reply.getByRole("button", { name: /In reply to\s*Bob/ });
    await quote.waitFor();
    const replyEvent = await findEvent(scene, scene.anna, (e) => e.content.body === "Jo, moien!");
    assertEquals(replyEvent.content["m.relates_to"], { "m.in_reply_to": { event_id: hostileId } });
    assertEquals(replyEvent.content.formatted_body, undefined, "no mx-reply fallback");
    await quote.click();
    await until(
      "the original to have focus",
      async () =>
        await page.evaluate(`document.activeElement?.closest("li")?.dataset.eventId`) === hostileId,
    );

    // Up in the empty composer edits the last own message; "(edited)" opens the history.
    await composer.click();
    await page.keyboard.press("ArrowUp");
    await page.getByText("Editing your message").waitFor();
    assertEquals(await composer.textContent(), "Jo, moien!");
    await page.keyboard.type(" Wéi geet et?");
    await page.keyboard.press("Enter");
    await reply.getByText("Jo, moien! Wéi geet et?").waitFor();
    const edited = reply.getByRole("button", { name: "Edited: show the edit history" });
    await edited.waitFor();
    const edit = await findEvent(
      scene,
      scene.anna,
      (e) => e.content["m.relates_to"]?.rel_type === "m.replace",
    );
    assertEquals(edit.content["m.relates_to"].event_id, replyEvent.event_id);
    assertEquals(edit.content["m.new_content"].body, "Jo, moien! Wéi geet et?");
    assertEquals(edit.content.body, "* Jo, moien! Wéi geet et?");
    await edited.click();
    const history = page.getByRole("dialog", { name: "Edit history" });
    await history.getByText("Jo, moien! Wéi geet et?").waitFor();
    await history.getByText("Jo, moien!", { exact: true }).waitFor();
    assertEquals(await history.getByRole("listitem").count(), 2);
    await history.getByRole("button", { name: "Close" }).click();
    await history.waitFor({ state: "detached" });

    // Bob edits his message: Anna sees the new text.
    await sendAs(scene, scene.bob, {
      msgtype: "m.text",
      body: "* Moien alleguer, nach eng Kéier",
      "m.new_content": { msgtype: "m.text", body: "Moien alleguer, nach eng Kéier" },
      "m.relates_to": { rel_type: "m.replace", event_id: hostileId },
    });
    await hostile.getByText("Moien alleguer, nach eng Kéier").waitFor();
    await hostile.getByRole("button", { name: "Edited: show the edit history" }).waitFor();

    // Reactions: Anna's and Bob's on one chip; Anna takes hers back.
    const bobsMessage = hostile;
    await act(scene, bobsMessage, "React");
    await page.getByRole("dialog", { name: "Choose a reaction" })
      .getByRole("button", { name: "React with 👍" }).click();
    const chip = bobsMessage.getByRole("button", { name: /^👍 \d, reaction by/ });
    await chip.waitFor();
    assertEquals(await chip.getAttribute("aria-pressed"), "true");
    await sendAs(scene, scene.bob, {
      "m.relates_to": { rel_type: "m.annotation", event_id: hostileId, key: "👍" },
    }, "m.reaction");
    await bobsMessage.getByRole("button", { name: "👍 2, reaction by Anna and Bob" }).waitFor();
    await chip.click();
    await bobsMessage.getByRole("button", { name: "👍 1, reaction by Bob" }).waitFor();
    assertEquals(await chip.getAttribute("aria-pressed"), "false");
    await until("Anna's reaction to be redacted", async () => {
      const list = await recentEvents(scene, scene.anna, 10);
      return list.some((e) => e.type === "m.room.redaction" && e.sender === scene.anna.userId);
    });
    // Any text works as a reaction too.
    await act(scene, bobsMessage, "React");
    const picker = page.getByRole("dialog", { name: "Choose a reaction" });
    await picker.getByRole("textbox", { name: "Other reaction" }).fill("merci");
    await picker.getByRole("button", { name: "Add" }).click();
    await bobsMessage.getByRole("button", { name: "merci 1, reaction by Anna" }).waitFor();

    // Deleting asks first, then leaves a "Message deleted" tile.
    const markdownId = await mine.getAttribute("data-event-id");
    await act(scene, mine, "Delete");
    const confirm = page.getByRole("alertdialog", { name: "Delete this message?" });
    await confirm.getByRole("button", { name: "Delete" }).click();
    await log.locator(`li[data-event-id="${markdownId}"]`).getByText("Message deleted").waitFor();
    const redacted = await scene.server.request(
      "GET",
      path(scene.roomId, `/event/${encodeURIComponent(markdownId!)}`),
      { token: scene.bob.accessToken },
    );
    assertEquals(redacted.body.content, {});

    // By keyboard: the actions are one toolbar; arrows move in it, Enter acts.
    const toolbar = hostile.getByRole("toolbar", { name: "Message actions" });
    await toolbar.getByRole("button", { name: "React" }).focus();
    await page.keyboard.press("ArrowRight");
    assertEquals(await page.evaluate(`document.activeElement.getAttribute("aria-label")`), "Reply");
    await page.keyboard.press("Enter");
    await page.getByText("Replying to Bob").waitFor();
    await composer.press("Escape");

    await assertAccessible(page, "the timeline with replies, edits and reactions");
    await page.getByRole("button", { name: "Switch to the dark theme" }).click();
    await assertAccessible(page, "the same in the dark theme");
  });
});

browserTest("threads, mentions, typing and read receipts", async () => {
  await withScene({}, async (scene) => {
    const { page, log, composer, bobClient, roomId } = scene;
    const rootId = await sendAs(scene, scene.bob, {
      msgtype: "m.text",
      body: "Wien kënnt e Samschdeg?",
    });
    const root = tile(scene, "Samschdeg");
    await root.waitFor();

    // Anna's receipt (and fully-read marker) for Bob's message: she is looking at it.
    await until(
      "Anna's read receipt",
      () => bobClient.getRoom(roomId)?.getEventReadUpTo(scene.anna.userId) === rootId,
    );
    await until("Anna's fully-read marker", async () => {
      const res = await scene.server.request(
        "GET",
        `/_matrix/client/v3/user/${encodeURIComponent(scene.anna.userId)}/rooms/${
          encodeURIComponent(roomId)
        }/account_data/m.fully_read`,
        { token: scene.anna.accessToken },
      );
      return res.body?.event_id === rootId;
    });

    // A thread: the panel shows the root, Anna's reply and Bob's; the root counts them.
    await act(scene, root, "Reply in thread");
    const panel = page.getByRole("complementary", { name: "Thread" });
    await panel.getByText("Wien kënnt e Samschdeg?").waitFor();
    const threadComposer = panel.getByRole("textbox", { name: "Message in thread" });
    await threadComposer.click();
    await page.keyboard.type("Ech kommen!");
    await page.keyboard.press("Enter");
    await panel.getByRole("log", { name: "Replies in the thread" }).getByText("Ech kommen!")
      .waitFor();
    const threaded = await findEvent(scene, scene.anna, (e) => e.content.body === "Ech kommen!");
    assertEquals(threaded.content["m.relates_to"], {
      rel_type: "m.thread",
      event_id: rootId,
      is_falling_back: true,
      "m.in_reply_to": { event_id: rootId },
    });
    await bobClient.sendTextMessage(roomId, rootId, "Ech och.");
    await panel.getByText("Ech och.").waitFor();
    await root.getByRole("button", { name: /^2 replies/ }).waitFor();
    assertEquals(
      await log.getByText("Ech kommen!").count(),
      0,
      "thread replies stay in the thread",
    );
    await panel.getByRole("button", { name: "Close thread" }).click();
    await panel.waitFor({ state: "detached" });
    await root.getByRole("button", { name: /^2 replies/ }).click();
    await panel.getByText("Ech och.").waitFor();
    await panel.getByRole("button", { name: "Close thread" }).click();

    // A mention: "@" opens the member list; the pick goes in as a pill and into m.mentions.
    await composer.click();
    await page.keyboard.type("Moien @bo");
    const options = page.getByRole("listbox", { name: "People to mention" });
    await options.getByRole("option", { name: /Bob/ }).waitFor();
    assertEquals(await composer.getAttribute("aria-activedescendant") !== null, true);
    await page.keyboard.press("Enter");
    await composer.locator("[data-mention]").waitFor();
    await page.keyboard.type("wéi geet et?");
    await page.keyboard.press("Enter");
    await tile(scene, "wéi geet et?").getByRole("link", { name: "Bob" }).waitFor();
    const mention = await findEvent(
      scene,
      scene.anna,
      (e) => e.content.body === "Moien Bob wéi geet et?",
    );
    assertEquals(mention.content["m.mentions"], { user_ids: [scene.bob.userId] });
    assertEquals(
      mention.content.formatted_body,
      'Moien <a href="https://matrix.to/#/@bob:localhost">Bob</a> wéi geet et?',
    );

    // Bob mentions Anna: her copy stands out.
    await sendAs(scene, scene.bob, {
      msgtype: "m.text",
      body: "Anna: kanns du d'Kaffi matbréngen?",
      format: "org.matrix.custom.html",
      formatted_body:
        '<a href="https://matrix.to/#/@anna:localhost">Anna</a>: kanns du d\'Kaffi matbréngen?',
      "m.mentions": { user_ids: [scene.anna.userId] },
    });
    const mentioned = tile(scene, "Kaffi");
    await mentioned.getByRole("link", { name: "Anna" }).waitFor();
    assertEquals(await mentioned.getByRole("article").getAttribute("data-mentioned"), "true");
    assertEquals(
      await tile(scene, "Samschdeg").getByRole("article").getAttribute("data-mentioned"),
      null,
    );

    // Typing, both ways.
    await bobClient.sendTyping(roomId, true, 20_000);
    await page.getByText("Bob is typing…").waitFor();
    await bobClient.sendTyping(roomId, false, 0);
    await page.getByText("Bob is typing…").waitFor({ state: "detached" });
    await composer.click();
    await page.keyboard.type("Ech schreiwen");
    await until(
      "Bob to see Anna typing",
      () => bobClient.getRoom(roomId)?.getMember(scene.anna.userId)?.typing === true,
    );
    await page.keyboard.press("Enter");
    await until(
      "Anna to stop typing",
      () => bobClient.getRoom(roomId)?.getMember(scene.anna.userId)?.typing === false,
    );

    // Bob reads Anna's latest message: his mark moves to it.
    const latest = tile(scene, "Ech schreiwen");
    // The tile carries the local echo's id until the server acknowledges the send.
    await until(
      "the server to acknowledge Anna's message",
      async () => (await latest.getAttribute("data-event-id"))?.startsWith("$") === true,
    );
    const latestId = await latest.getAttribute("data-event-id");
    assert(latestId);
    await until(
      "Bob's client to have Anna's message",
      () => !!bobClient.getRoom(roomId)?.findEventById(latestId),
    );
    await bobClient.sendReadReceipt(bobClient.getRoom(roomId)!.findEventById(latestId)!);
    await latest.getByRole("img", { name: "Read by Bob" }).waitFor();

    // On a phone the thread takes the whole screen.
    await page.setViewportSize({ width: 360, height: 740 });
    await act(scene, root, "Reply in thread");
    await panel.getByText("Ech och.").waitFor();
    const box = await panel.boundingBox();
    assertEquals(box?.width, 360);
    await assertAccessible(page, "the thread panel on a phone");
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
  });
});

browserTest("older messages page in; a failed send offers Retry, which works", async () => {
  const count = 65;
  await withScene({
    before: async (scene) => {
      for (let i = 1; i <= count; i++) {
        await sendAs(scene, scene.bob, { msgtype: "m.text", body: `Al Message ${i}` });
      }
    },
  }, async (scene) => {
    const { page, log, composer } = scene;
    const old = log.getByRole("article").filter({ hasText: /^BobAl Message \d+$|Al Message \d+$/ });
    await tile(scene, `Al Message ${count}`).waitFor();
    assertEquals(await tile(scene, /Al Message 1$/).count(), 0, "the start is not loaded yet");

    // The button pages back by keyboard; scrolling to the top does the rest.
    const button = page.getByRole("button", { name: "Load older messages" });
    const before = await old.count();
    await button.focus();
    await page.keyboard.press("Enter");
    await until("an older page", async () => await old.count() > before);
    // Scrolled to the top the way a person does (the wheel), page after page.
    await log.hover();
    await until("the beginning of the conversation", async () => {
      await page.mouse.wheel(0, -20_000);
      return await page.getByText("This is the beginning of the conversation.").count() > 0;
    });
    const texts = (await log.locator("li[data-event-id]").allTextContents())
      .map((text) => /Al Message (\d+)/.exec(text)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
    assertEquals(texts, Array.from({ length: count }, (_, i) => i + 1), "all, once, in order");
    await log.getByRole("heading", { name: "Today" }).waitFor();
    await page.getByText("Anna created the conversation").waitFor();

    // The way back down.
    await page.getByRole("button", { name: "Jump to latest" }).click();
    await until("the newest message in view", async () => {
      const box = await tile(scene, `Al Message ${count}`).boundingBox();
      const size = page.viewportSize();
      return !!box && !!size && box.y + box.height <= size.height && box.y > 0;
    });

    // A message this device cannot decrypt says so.
    await sendAs(scene, scene.bob, {
      algorithm: "m.megolm.v1.aes-sha2",
      sender_key: "aGVsbG8gd29ybGQgdGhpcyBpcyBub3QgYSBrZXk",
      session_id: "bm8gc3VjaCBzZXNzaW9u",
      ciphertext: "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
      device_id: "BOBDEVICE",
    }, "m.room.encrypted");
    await log.getByText("This message cannot be decrypted yet.").waitFor();

    // A file dropped on the room is sent.
    const dropped = await page.evaluateHandle(`(() => {
      const data = new DataTransfer();
      data.items.add(new File(["Protokoll vun der Sëtzung"], "protokoll.txt", { type: "text/plain" }));
      return data;
    })()`);
    await log.dispatchEvent("dragover", { dataTransfer: dropped });
    await page.getByText("Drop files to send them").waitFor();
    await log.dispatchEvent("drop", { dataTransfer: dropped });
    await page.getByText("Drop files to send them").waitFor({ state: "detached" });
    // The preview lists it; Send sends it.
    await page.getByRole("dialog").getByRole("button", { name: "Send", exact: true }).click();
    await tile(scene, "protokoll.txt").waitFor();
    const file = await findEvent(scene, scene.bob, (e) => e.content.msgtype === "m.file");
    assertEquals(file.content.body, "protokoll.txt");

    // A reply to a message far back: the quote loads it around that message and shows it.
    const history = await scene.server.request(
      "GET",
      path(scene.roomId, "/messages?dir=f&limit=100"),
      { token: scene.bob.accessToken },
    );
    const firstId: string = history.body.chunk
      // deno-lint-ignore no-explicit-any
      .find((e: any) => e.content.body === "Al Message 1").event_id;
    await sendAs(scene, scene.bob, {
      msgtype: "m.text",
      body: "Wéi am Ufank gesot",
      "m.relates_to": { "m.in_reply_to": { event_id: firstId } },
    });
    await page.reload();
    await log.waitFor();
    const answer = tile(scene, "Wéi am Ufank gesot");
    await answer.getByRole("button", { name: /In reply to\s*Bob/ }).waitFor();
    assertEquals(await byId(scene, firstId).count(), 0, "the first message is not loaded");
    await answer.getByRole("button", { name: /In reply to\s*Bob/ }).click();
    await byId(scene, firstId).waitFor();
    await until(
      "the first message to have focus",
      async () =>
        await page.evaluate(`document.activeElement?.closest("li")?.dataset.eventId`) === firstId,
    );
    await page.getByRole("button", { name: "Jump to latest" }).click();
    await answer.waitFor();

    // A send that cannot reach the server fails, shows Retry, and Retry sends it.
    await page.route("**/send/m.room.message/**", (route) => route.abort());
    await composer.click();
    await page.keyboard.type("Dëst geet net duer");
    await page.keyboard.press("Enter");
    const failed = tile(scene, "Dëst geet net duer");
    await failed.getByText("Not sent.").waitFor();
    await page.unroute("**/send/m.room.message/**");
    await failed.getByRole("button", { name: "Retry" }).click();
    await failed.getByText("Not sent.").waitFor({ state: "detached" });
    await until("the message on the server", async () => {
      const events = await recentEvents(scene, scene.bob, 5);
      return events.some((e) => e.content.body === "Dëst geet net duer");
    });
    // And one given up leaves no trace.
    await page.route("**/send/m.room.message/**", (route) => route.abort());
    await composer.click();
    await page.keyboard.type("Dat hei net");
    await page.keyboard.press("Enter");
    const givenUp = tile(scene, "Dat hei net");
    await givenUp.getByRole("button", { name: "Discard" }).click();
    await givenUp.waitFor({ state: "detached" });
  });
});

browserTest(
  "an encrypted room between two browsers: messages, edits, reactions, threads",
  async () => {
    const server = await startTestServer();
    const people: Person[] = [];
    try {
      const anna = await server.register("anna");
      const bob = await server.register("bob");
      await setName(server, anna, "Anna");
      await setName(server, bob, "Bob");
      // A private room: encrypted from the start (the server's default for private rooms).
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: anna.accessToken,
        body: { name: ROOM_NAME, preset: "private_chat", invite: [bob.userId] },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const roomId: string = created.body.room_id;
      await server.request("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
        token: bob.accessToken,
        body: {},
      });
      const [a, b] = await Promise.all([openApp(server, anna), openApp(server, bob)]);
      people.push(a, b);
      // Both devices have published their keys, so each can encrypt for the other.
      await until("both devices' keys on the server", async () => {
        const res = await server.request("POST", "/_matrix/client/v3/keys/query", {
          token: anna.accessToken,
          body: { device_keys: { [anna.userId]: [], [bob.userId]: [] } },
        });
        const keys = res.body?.device_keys ?? {};
        return Object.keys(keys[anna.userId] ?? {}).length > 0 &&
          Object.keys(keys[bob.userId] ?? {}).length > 0;
      });
      const logOf = (person: Person) =>
        person.page.getByRole("log", { name: `Messages in ${ROOM_NAME}` });
      const messageIn = (person: Person, text: string) =>
        logOf(person).locator("li[data-event-id]").filter({
          has: person.page.getByRole("article").filter({ hasText: text }),
        });
      const say = async (person: Person, text: string) => {
        await person.page.getByRole("textbox", { name: "Message", exact: true }).click();
        await person.page.keyboard.type(text);
        await person.page.keyboard.press("Enter");
      };

      await say(a, "Moien Bob, dëst ass **geheim**");
      const secret = messageIn(b, "Moien Bob");
      await secret.locator("strong", { hasText: "geheim" }).waitFor();
      await say(b, "Moien Anna!");
      await messageIn(a, "Moien Anna!").waitFor();

      // Bob reacts; Anna edits; both arrive decrypted.
      await secret.hover();
      await secret.getByRole("button", { name: "React", exact: true }).click();
      await b.page.getByRole("button", { name: "React with 🎉" }).click();
      await messageIn(a, "Moien Bob").getByRole("button", { name: "🎉 1, reaction by Bob" })
        .waitFor();
      await a.page.getByRole("textbox", { name: "Message", exact: true }).click();
      await a.page.keyboard.press("ArrowUp");
      await a.page.getByText("Editing your message").waitFor();
      await a.page.keyboard.press("End");
      await a.page.keyboard.type(", wierklech");
      await a.page.keyboard.press("Enter");
      await secret.getByText("wierklech").waitFor();
      await secret.getByRole("button", { name: "Edited: show the edit history" }).waitFor();

      // A thread, in both directions.
      const root = messageIn(b, "Moien Anna!");
      await root.hover();
      await root.getByRole("button", { name: "Reply in thread" }).click();
      const panel = b.page.getByRole("complementary", { name: "Thread" });
      await panel.getByRole("textbox", { name: "Message in thread" }).click();
      await b.page.keyboard.type("Am Thread");
      await b.page.keyboard.press("Enter");
      await messageIn(a, "Moien Anna!").getByRole("button", { name: /^1 reply/ }).click();
      await a.page.getByRole("complementary", { name: "Thread" }).getByText("Am Thread").waitFor();

      const res = await server.request("GET", path(roomId, "/messages?dir=b&limit=20"), {
        token: anna.accessToken,
      });
      // deno-lint-ignore no-explicit-any
      const types = res.body.chunk.filter((e: any) => e.state_key === undefined).map((e: any) =>
        e.type
      );
      // Messages, the edit and the thread reply travel encrypted; reactions stay in the clear,
      // as matrix-js-sdk (and Element) send them: their relation is clear text anyway.
      assertEquals(types.filter((type: string) => type === "m.room.encrypted").length, 4);
      assertEquals(types.filter((type: string) => type !== "m.room.encrypted"), ["m.reaction"]);
      assertEquals(people.flatMap((person) => person.errors), []);
    } finally {
      await Promise.all(people.map((person) => person.browser.close()));
      await server.close();
    }
  },
);

const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);

/** Fails on axe-core's WCAG 2.1 A and AA violations. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<{ id: string; nodes: { target: string[] }[] }[]>(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  );
  const violations = result.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`));
  assertEquals(violations, [], `accessibility of ${what}`);
}
