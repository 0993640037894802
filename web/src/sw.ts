/// <reference lib="webworker" />
/**
 * The service worker: keeps the app shell so the app opens offline.
 *
 * - On install it stores the shell: index.html, the JavaScript and CSS of this build, the
 *   manifest and the icons (the build fills in {@link PRECACHE}).
 * - Hashed files under /assets/ never change, so they are served cache first (anything not
 *   stored at install is stored the first time it is fetched).
 * - Pages are network first, so a new build shows up at once; offline, the stored index.html
 *   answers every app route.
 * - The Matrix APIs are never cached here.
 * - Web Push from the homeserver (`state/web_push.ts`): a pushed event shows a notification
 *   titled with its room, with the sender and the text. An open page is asked first: it
 *   decrypts the event when it can, and says when the user is looking at the room (then
 *   nothing is shown); without a page the clear text of the push is used, else "New message".
 *   A pushed activation token is handed to the open page, which confirms it to the server.
 *
 * @module
 */

declare const self: ServiceWorkerGlobalScope;
/** The build's ID, which names the cache. Replaced by the build. */
declare const __BUILD_ID__: string;
/** The files to store on install. Replaced by the build. */
declare const __PRECACHE__: string[];

const BUILD_ID = __BUILD_ID__;
const PRECACHE = __PRECACHE__;
const CACHE_PREFIX = "gemeng-shell-";
const CACHE = `${CACHE_PREFIX}${BUILD_ID}`;
const SHELL = "/";
/** How long a page request may take before the stored shell answers instead. */
const NETWORK_TIMEOUT_MS = 4000;
// The server's own pages (SSO callback, email links) are not the app: never its shell.
const API_PREFIXES = ["/_matrix/", "/_synapse/", "/_gemeng/", "/.well-known/"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll([SHELL, ...PRECACHE]);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // Keep the previous build's cache too: a page opened before the update may still load
    // one of its chunks (the server only has the new build). Older ones go.
    const older = (await caches.keys())
      .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE);
    for (const name of older.slice(0, -1)) await caches.delete(name);
    await self.clients.claim();
  })());
});

// A notification shown through the service worker (Android's Chrome has no other way):
// clicking it focuses an open window of the app on the room, or opens one.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data as { url?: unknown } | null;
  const path = typeof data?.url === "string" && data.url.startsWith("/") ? data.url : "/";
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      await open.navigate(new URL(path, self.location.origin).href).catch(() => {});
      return;
    }
    await self.clients.openWindow(path);
  })());
});

/** What a push carries (the Push Gateway API's `notification`, or an activation token). */
interface PushPayload {
  room_id?: string;
  event_id?: string;
  sender?: string;
  sender_display_name?: string;
  room_name?: string;
  content?: { body?: unknown; msgtype?: unknown };
  app_id?: string;
  ack_token?: string;
}

/** How long an open page may take to describe an event (decrypting it). */
const DESCRIBE_TIMEOUT_MS = 3000;

self.addEventListener("push", (event) => {
  let payload: PushPayload | null = null;
  try {
    payload = event.data?.json() ?? null;
  } catch { /* not JSON: nothing to show */ }
  if (payload) event.waitUntil(onPush(payload));
});

async function onPush(push: PushPayload): Promise<void> {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (push.ack_token) {
    for (const client of windows) {
      client.postMessage({
        type: "gemeng.push.ack",
        app_id: push.app_id,
        ack_token: push.ack_token,
      });
    }
    return;
  }
  const roomId = push.room_id;
  if (!roomId || !push.event_id) return; // a count only
  const url = `/rooms/${encodeURIComponent(roomId)}`;
  // Each open page says whether it shows this itself (it is in front: its own notification, or
  // none for the room on screen); the page's own view of its focus decides, not the worker's,
  // which can lag behind and would leave the message with no notification at all.
  let described: { skip?: boolean; title?: string; body?: string } | null = null;
  for (const client of windows) {
    described = await ask(client, { roomId, eventId: push.event_id });
    if (described) break;
  }
  if (described?.skip) return;
  const texts = await (await caches.match("/__gemeng/push-texts"))?.json()
    .catch(() => null) as { text?: string; newMessage?: string } | null;
  const sender = push.sender_display_name ?? push.sender ?? "";
  const clear = typeof push.content?.body === "string" ? push.content.body.slice(0, 160) : null;
  const text = clear ?? texts?.newMessage ?? "New message";
  const body = described?.body ??
    (sender
      ? (texts?.text ?? "{sender}: {text}").replace("{sender}", sender).replace("{text}", text)
      : text);
  await self.registration.showNotification(
    described?.title ?? push.room_name ?? (sender || "gemeng"),
    { body, tag: roomId, icon: PRECACHE.find((file) => file.includes("icon-192")), data: { url } },
  );
}

/** Asks an open page to describe an event; null when it cannot (or takes too long). */
function ask(
  client: Client,
  question: { roomId: string; eventId: string },
): Promise<{ skip?: boolean; title?: string; body?: string } | null> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), DESCRIBE_TIMEOUT_MS);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data ?? null);
    };
    client.postMessage({ type: "gemeng.push.describe", ...question }, [channel.port2]);
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (API_PREFIXES.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirst(request));
  } else if (PRECACHE.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});

async function page(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    // Every app route answers with the same index.html: keep the newest copy as the shell.
    if (response.ok) await cache.put(SHELL, response.clone());
    return response;
  } catch {
    const shell = await cache.match(SHELL);
    if (shell) return shell;
    throw new Error("offline and no stored app shell");
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const stored = await caches.match(request); // this build's cache or the previous one
  if (stored) return stored;
  const response = await fetch(request);
  if (response.ok) await (await caches.open(CACHE)).put(request, response.clone());
  return response;
}

async function networkFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const stored = await cache.match(request);
    if (stored) return stored;
    throw err;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
