/**
 * Notifications while the app is closed, in headless Chromium against a real server: push
 * messages are delivered to the app's service worker through the DevTools protocol
 * (`ServiceWorker.deliverPushMessage`, as the browser's push service would after decrypting
 * them), and the notifications it shows are read back with `registration.getNotifications()`.
 * The activation token of a `webpush` pusher goes the real way: the server encrypts it for a
 * subscription held by the test's push service, and the app confirms it.
 */

import * as sdk from "matrix-js-sdk";
import type { BrowserContext, CDPSession, Page, Worker } from "playwright-core";
import { encodeBase64Url } from "../../crypto/base64.ts";
import { startTestServer } from "../support/test_server.ts";
import { PushService } from "../support/webpush_receiver.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { flushCrypto, sdkClient, stopAll } from "../integration/e2ee_sdk_support.ts";
import { launchBrowser, SKIP_REASON } from "./chromium.ts";
import { clickThrough, signIn } from "./session_support.ts";

const TIMEOUT = 15_000;

// deno-lint-ignore no-explicit-any
type Json = any;

/** The notifications the service worker shows, as the page's registration lists them. */
function shown(page: Page): Promise<{ title: string; body: string; tag: string; url: string }[]> {
  return page.evaluate(`navigator.serviceWorker.ready
    .then((registration) => registration.getNotifications())
    .then((list) => list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data?.url })))`);
}

async function clearShown(page: Page): Promise<void> {
  await page.evaluate(`navigator.serviceWorker.ready
    .then((registration) => registration.getNotifications())
    .then((list) => list.forEach((n) => n.close()))`);
}

/**
 * How many notifications the app's service worker has finished showing (its `showNotification`
 * resolved). Chromium drops a notification from `getNotifications()` for good when that is
 * called while the notification is still being shown, so the tests wait for this count and only
 * then read the list, instead of polling the list.
 */
async function countShows(context: BrowserContext, origin: string): Promise<() => Promise<number>> {
  const ours = (w: Worker) => new URL(w.url()).origin === origin;
  const worker = context.serviceWorkers().find(ours) ??
    await context.waitForEvent("serviceworker", { predicate: ours, timeout: TIMEOUT });
  await worker.evaluate(`(() => {
    if (self.__gemengShows !== undefined) return;
    self.__gemengShows = 0;
    const show = self.registration.showNotification.bind(self.registration);
    self.registration.showNotification = (...args) =>
      show(...args).then((done) => { self.__gemengShows++; return done; });
  })()`);
  return () => worker.evaluate<number>(`self.__gemengShows`);
}

/** The DevTools side: the service worker registration of the app's origin. */
async function pushChannel(session: CDPSession, origin: string) {
  let registrationId = "";
  session.on("ServiceWorker.workerRegistrationUpdated", (event: Json) => {
    for (const r of event.registrations) {
      if (r.scopeURL === `${origin}/` && !r.isDeleted) registrationId = r.registrationId;
    }
  });
  await session.send("ServiceWorker.enable");
  const deadline = Date.now() + TIMEOUT;
  while (!registrationId) {
    assert(Date.now() < deadline, "no service worker registration");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return (data: unknown) =>
    session.send("ServiceWorker.deliverPushMessage", {
      origin,
      registrationId,
      data: JSON.stringify(data),
    });
}

/** Puts another page in front of `page`, which then loses focus for real. */
async function sendToBack(context: BrowserContext, page: Page, front: Page): Promise<void> {
  // Playwright makes every page look focused; without that, the page in front has focus.
  const session = await context.newCDPSession(page);
  await session.send("Emulation.setFocusEmulationEnabled", { enabled: false });
  await front.bringToFront();
  await waitUntil(
    "the app still has focus",
    async () => !(await page.evaluate<boolean>(`document.hasFocus()`)),
  );
}

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await check())) {
    assert(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test({
  name: "web push: the service worker shows pushed messages when the app is not in front",
  ignore: SKIP_REASON !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startTestServer({
      config: { e2ee: { default_for: "off" }, push: { allow_private_addresses: true } },
    });
    const service = await new PushService().init();
    const browser = await launchBrowser({ permissions: ["notifications"] });
    try {
      const anna = await server.register("anna");
      const bob = await server.register("bob");
      await server.request("PUT", `/_matrix/client/v3/profile/${bob.userId}/displayname`, {
        token: bob.accessToken,
        body: { displayname: "Bob Builder" },
      });
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { name: "Conseil", preset: "private_chat", invite: [anna.userId] },
      });
      const roomId = created.body.room_id as string;
      await server.request("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
        token: anna.accessToken,
        body: {},
      });
      const sent = await server.request(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`,
        { token: bob.accessToken, body: { msgtype: "m.text", body: "Réunion à 14 h" } },
      );
      const eventId = sent.body.event_id as string;
      const push = {
        event_id: eventId,
        room_id: roomId,
        type: "m.room.message",
        sender: bob.userId,
        sender_display_name: "Bob Builder",
        room_name: "Conseil",
        content: { msgtype: "m.text", body: "Réunion à 14 h" },
        prio: "high",
      };

      // The DevTools session lives on a page of another origin, so the app's pages can close.
      const blank = await browser.context.newPage();
      const session = await browser.context.newCDPSession(blank);
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      if (Deno.env.get("GEMENG_BROWSER_LOG")) {
        page.on("console", (msg) => console.log(`[page ${msg.type()}] ${msg.text()}`));
      }
      await signIn(page, server, anna);
      // The client runs (the room list comes from its sync): it answers the service worker.
      await page.getByRole("link", { name: "Conseil" }).waitFor();
      await page.getByRole("link", { name: "Settings" }).click();
      await page.getByRole("switch", { name: "Desktop notifications for new messages" }).check();
      await page.getByText("On: new messages show a notification").waitFor();
      await waitUntil(
        "no service worker",
        () => page.evaluate<boolean>(`navigator.serviceWorker.ready.then((r) => !!r.active)`),
      );
      const deliver = await pushChannel(session, server.baseUrl);
      const shows = await countShows(browser.context, server.baseUrl);

      // The activation token the server pushes reaches the open app, which confirms it.
      const caps = await server.request("GET", "/_matrix/client/v3/capabilities", {
        token: anna.accessToken,
      });
      service.vapid = caps.body.capabilities["m.webpush"].vapid;
      const set = await server.request("POST", "/_matrix/client/v3/pushers/set", {
        token: anna.accessToken,
        body: {
          kind: "webpush",
          app_id: "gemeng.web",
          pushkey: service.p256dh,
          app_display_name: "gemeng",
          device_display_name: "test",
          lang: "en",
          data: { url: service.endpoint, auth: encodeBase64Url(service.auth) },
        },
      });
      assertEquals(set.status, 201);
      const ack = await service.waitFor((p) => typeof p.ack_token === "string");
      await deliver(ack.payload);
      await waitUntil("the app did not activate the pusher", async () => {
        const res = await server.request("GET", "/_matrix/client/v3/pushers", {
          token: anna.accessToken,
        });
        return res.body.pushers.some((p: Json) => p.pushkey === service.p256dh && p.activated);
      });
      assertEquals(await shown(page), [], "an activation shows nothing");

      // Looking at the room: no notification for it.
      await page.goto(`${server.baseUrl}/rooms/${encodeURIComponent(roomId)}`);
      await page.getByRole("log").getByText("Réunion à 14 h").waitFor();
      await deliver(push);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assertEquals(await shows(), 0, "the room on screen notified");
      assertEquals(await shown(page), [], "the room on screen notified");

      // The app closed: the pushed content, with the room and the sender.
      await page.close();
      await deliver(push);
      // Encrypted (no clear content): "New message".
      const encrypted = { ...push, event_id: "$other", room_id: "!other:localhost" };
      delete (encrypted as Json).content;
      encrypted.room_name = "Bureau";
      await deliver(encrypted);
      const again = await browser.context.newPage();
      again.setDefaultTimeout(TIMEOUT);
      again.on("pageerror", (err) => errors.push(err.message));
      await again.goto(server.baseUrl);
      await waitUntil("no notifications shown", async () => await shows() === 2);
      const list = await shown(again);
      assertEquals(list.length, 2);
      const conseil = list.find((n) => n.tag === roomId);
      assertEquals(conseil, {
        title: "Conseil",
        body: "Bob Builder: Réunion à 14 h",
        tag: roomId,
        url: `/rooms/${encodeURIComponent(roomId)}`,
      });
      const bureau = list.find((n) => n.tag === "!other:localhost");
      assertEquals(bureau?.title, "Bureau");
      assertEquals(bureau?.body, "Bob Builder: New message");
      await clearShown(again);

      // The app open but not in front: it describes the event (decrypting it if needed).
      await again.getByRole("link", { name: "Conseil" }).waitFor();
      await sendToBack(browser.context, again, blank);
      await deliver({ ...push, content: undefined, room_name: undefined });
      await waitUntil(
        "no notification from the page's description",
        async () => await shows() === 3,
      );
      const [described, ...more] = await shown(again);
      assertEquals(more, []);
      assertEquals(described.title, "Conseil");
      assertEquals(described.body, "Bob Builder: Réunion à 14 h");
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await service.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "web push: an encrypted message is decrypted by the open app for the notification",
  ignore: SKIP_REASON !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startTestServer();
    const browser = await launchBrowser({ permissions: ["notifications"] });
    const anna = await server.register("anna");
    const bob = await server.register("bob");
    await server.request("PUT", `/_matrix/client/v3/profile/${bob.userId}/displayname`, {
      token: bob.accessToken,
      body: { displayname: "Bob Builder" },
    });
    // Bob is a matrix-js-sdk client with Rust crypto, syncing in this process.
    const bobClient = await sdkClient(server, bob);
    try {
      const prepared = new Promise<void>((resolve) => {
        bobClient.on(sdk.ClientEvent.Sync, (state) => {
          if (state === "PREPARED") resolve();
        });
      });
      await bobClient.startClient({ initialSyncLimit: 10 });
      await prepared;
      await flushCrypto(bobClient);

      const blank = await browser.context.newPage();
      const session = await browser.context.newCDPSession(blank);
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await signIn(page, server, anna);
      await page.getByRole("button", { name: "Start chat" }).click();
      const dialog = page.getByRole("dialog", { name: "Start a chat" });
      await dialog.getByLabel("Search people").fill("@bob:localhost");
      await dialog.getByRole("button", { name: /@bob:localhost/ }).first().click();
      await page.waitForURL(/\/rooms\//);
      const roomId = decodeURIComponent(new URL(page.url()).pathname.slice("/rooms/".length));
      await waitUntil(
        "Bob got no invitation",
        () => Promise.resolve(bobClient.getRoom(roomId)?.getMyMembership() === "invite"),
      );
      await bobClient.joinRoom(roomId);
      await waitUntil(
        "Bob's room is not encrypted",
        async () => await bobClient.getCrypto()?.isEncryptionEnabledInRoom(roomId) === true,
      );
      const { event_id: eventId } = await bobClient.sendTextMessage(roomId, "Geheim: le budget");
      await page.getByRole("log").getByText("Geheim: le budget").waitFor();
      const raw = await server.request(
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${
          encodeURIComponent(eventId)
        }`,
        { token: anna.accessToken },
      );
      assertEquals(raw.body.type, "m.room.encrypted");

      await clickThrough(
        page.getByRole("link", { name: "Settings" }),
        page.getByRole("heading", { name: "Settings" }),
      );
      const deliver = await pushChannel(session, server.baseUrl);
      const shows = await countShows(browser.context, server.baseUrl);
      await sendToBack(browser.context, page, blank);
      // What the server pushes for it: the ciphertext, which the service worker cannot read.
      await deliver({
        event_id: eventId,
        room_id: roomId,
        type: "m.room.encrypted",
        sender: bob.userId,
        sender_display_name: "Bob Builder",
        content: raw.body.content,
        prio: "high",
      });
      await waitUntil("no notification", async () => await shows() === 1);
      const [notification, ...more] = await shown(page);
      assertEquals(more, []);
      assertEquals(notification.body, "Bob Builder: Geheim: le budget");
      assertEquals(notification.url, `/rooms/${encodeURIComponent(roomId)}`);
      assertEquals(errors, []);
    } finally {
      stopAll(bobClient);
      await browser.close();
      await server.close();
    }
  },
});
