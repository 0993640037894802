/**
 * Notifications while the app is closed: Web Push from the homeserver itself (MSC4174, the
 * `webpush` pusher kind). When the user turns notifications on and the server advertises
 * `m.webpush` (its VAPID key), the browser subscribes (`PushManager.subscribe`) and the app
 * registers the subscription as a `webpush` pusher. The server then pushes an activation token,
 * which the service worker (`sw.ts`) hands to this page, and this page confirms it
 * (`POST /pushers/ack`). Turning notifications off removes the pusher and the subscription.
 *
 * The page also answers the service worker's questions about a pushed event: it decrypts it
 * with the session's keys when it can, and says when the user is looking at its room.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";

/** The pusher's `app_id`. */
export const WEB_PUSH_APP_ID = "gemeng.web";
/** Where the service worker finds the texts it shows without the page (in the Cache API). */
export const PUSH_TEXTS_CACHE = "gemeng-push";
/** The request (URL) under which the texts are stored. */
export const PUSH_TEXTS_URL = "/__gemeng/push-texts";

/** What the service worker shows for an event, as the page describes it. */
export interface PushDescription {
  /** The user is looking at the event's room: no notification. */
  skip?: boolean;
  title?: string;
  body?: string;
}

/** Describes a pushed event (decrypted if possible), or null when it cannot. */
export type PushDescriber = (roomId: string, eventId: string) => Promise<PushDescription | null>;

/** Texts the service worker uses when no page can describe an event. */
export interface PushTexts {
  /** `{sender}: {text}`. */
  text: string;
  /** "New message". */
  newMessage: string;
}

function supported(): boolean {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator &&
    typeof PushManager !== "undefined";
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

async function api(
  client: MatrixClient,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${client.getHomeserverUrl()}/_matrix/client/v3${path}`, {
    method: init.method ?? "GET",
    headers: {
      Authorization: `Bearer ${client.getAccessToken()}`,
      ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

/** The Web Push state of a session. */
export class WebPush {
  readonly #active = signal(false);
  #client: MatrixClient | null = null;
  #describe: PushDescriber | null = null;
  readonly #onMessage = (event: MessageEvent) => void this.#message(event);

  /** The server pushes to this browser (subscribed, pusher registered). */
  readonly active: ReadonlySignal<boolean> = computed(() => this.#active.value);

  /** Starts answering the service worker for this client (one client at a time). */
  attach(client: MatrixClient, describe: PushDescriber): void {
    this.detach();
    this.#client = client;
    this.#describe = describe;
    if (!supported()) return;
    navigator.serviceWorker.addEventListener("message", this.#onMessage);
    navigator.serviceWorker.startMessages();
  }

  /** Stops answering (sign-out). */
  detach(): void {
    if (supported()) navigator.serviceWorker.removeEventListener("message", this.#onMessage);
    this.#client = null;
    this.#active.value = false;
  }

  /**
   * Subscribes this browser and registers the pusher (notification permission must be granted).
   * Returns whether the server now pushes here; false when the browser or the server cannot.
   */
  async enable(options: { lang: string; deviceName: string; texts: PushTexts }): Promise<boolean> {
    const client = this.#client;
    if (!client || !supported()) return false;
    await storeTexts(options.texts);
    try {
      const caps = await api(client, "/capabilities");
      const webpush = (caps.body.capabilities as Record<string, { vapid?: unknown }> | undefined)
        ?.["m.webpush"] as { enabled?: unknown; vapid?: unknown } | undefined;
      if (webpush?.enabled !== true || typeof webpush.vapid !== "string") return false;
      const key = fromBase64Url(webpush.vapid);
      const registration = await navigator.serviceWorker.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
        await subscription.unsubscribe(); // made for another server's key
        subscription = null;
      }
      subscription ??= await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
      const json = subscription.toJSON();
      const set = await api(client, "/pushers/set", {
        method: "POST",
        body: {
          kind: "webpush",
          app_id: WEB_PUSH_APP_ID,
          pushkey: json.keys?.p256dh,
          app_display_name: "gemeng",
          device_display_name: options.deviceName,
          lang: options.lang,
          data: { url: json.endpoint, auth: json.keys?.auth },
        },
      });
      this.#active.value = set.status === 200 || set.status === 201;
    } catch (err) {
      // No push service (a browser without one, or offline): notifications stay in-app only.
      console.warn("gemeng: web push unavailable", err);
      this.#active.value = false;
    }
    return this.#active.value;
  }

  /** Removes the pusher and the browser's subscription. */
  async disable(): Promise<void> {
    this.#active.value = false;
    if (!supported()) return;
    const registration = await navigator.serviceWorker.getRegistration();
    const subscription = await registration?.pushManager.getSubscription();
    if (!subscription) return;
    const pushkey = subscription.toJSON().keys?.p256dh;
    if (this.#client && pushkey) {
      await api(this.#client, "/pushers/set", {
        method: "POST",
        body: { kind: null, app_id: WEB_PUSH_APP_ID, pushkey },
      }).catch(() => {});
    }
    await subscription.unsubscribe().catch(() => {});
  }

  async #message(event: MessageEvent): Promise<void> {
    const data = event.data as Record<string, unknown> | null;
    const client = this.#client;
    if (!client || typeof data !== "object" || data === null) return;
    if (data.type === "gemeng.push.ack" && data.app_id === WEB_PUSH_APP_ID) {
      const res = await api(client, "/pushers/ack", {
        method: "POST",
        body: { app_id: data.app_id, ack_token: data.ack_token },
      });
      if (res.status !== 200) console.warn("gemeng: push activation refused", res.body);
      return;
    }
    const port = event.ports[0];
    if (data.type !== "gemeng.push.describe" || !port) return;
    let answer: PushDescription | null = null;
    try {
      if (typeof data.roomId === "string" && typeof data.eventId === "string") {
        answer = await this.#describe?.(data.roomId, data.eventId) ?? null;
      }
    } finally {
      port.postMessage(answer);
    }
  }
}

/** Keeps the texts where the service worker reads them when no page is open. */
async function storeTexts(texts: PushTexts): Promise<void> {
  if (typeof caches === "undefined") return;
  const cache = await caches.open(PUSH_TEXTS_CACHE);
  await cache.put(PUSH_TEXTS_URL, new Response(JSON.stringify(texts)));
}
