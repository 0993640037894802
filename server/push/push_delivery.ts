/**
 * Delivery of the push queue (`push_queue.ts`) to push gateways (HTTP pushers) and to
 * browsers' push services (`webpush` pushers, `webpush.ts`): one pusher at a time, oldest item
 * first, each item deleted after a 2xx answer. Failures back off exponentially (the state
 * survives restarts); a pushkey the gateway rejects, or a Web Push subscription the push
 * service says is gone (404, 410, 403), loses its pusher.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { notificationBody } from "./gateway.ts";
import { GatewayError, type GatewayPool, postToGateway } from "./gateway_http.ts";
import type { JsonObject } from "../http_util.ts";
import { unreadBadge } from "./notifications.ts";
import {
  afterFailure,
  type PushQueueItem,
  pushQueueKeys,
  type PushRetryState,
  shouldGiveUp,
} from "./push_queue.ts";
import {
  deletePusher,
  type PusherAddress,
  pusherKeys,
  type StoredPusher,
  storedPusherOf,
} from "./pusher_store.ts";
import { sendWebPush, type WebPushOutcome, webPushPayload } from "./webpush.ts";
import { drainEmailQueue } from "../email/email_notifs.ts";

/** How long closing waits for requests in flight. */
const CLOSE_WAIT_MS = 2000;
/** Queue items read per KV list. */
const DELIVERY_BATCH = 20;

function addressKey(a: PusherAddress): string {
  return JSON.stringify([a.userId, a.appId, a.pushkey]);
}

/** What delivery tells the worker. */
export interface DeliveryHooks {
  /** A notification carrying this unread count reached the user's gateway. */
  delivered(userId: string, badge: number): void;
  /** A pusher of the user was removed (its pushkey was rejected). */
  pusherRemoved(userId: string): Promise<void>;
  /** Connections kept open to gateways. */
  pool: GatewayPool;
}

/** Delivers queued notifications, per pusher. */
export class PushDelivery {
  readonly #hs: Homeserver;
  readonly #hooks: DeliveryHooks;
  readonly #drains = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #activations = new Set<Promise<void>>();
  #closed = false;

  constructor(hs: Homeserver, hooks: DeliveryHooks) {
    this.#hs = hs;
    this.#hooks = hooks;
  }

  /** Delivers a pusher's queue (unless it is backing off or already being delivered). */
  wake(address: PusherAddress): void {
    if (this.#closed) return;
    const key = addressKey(address);
    if (this.#drains.has(key)) {
      this.#again.add(key);
      return;
    }
    const timer = this.#timers.get(key);
    if (timer !== undefined) return; // backing off: the timer delivers
    const run = this.#drain(address).catch((err) => {
      console.error("push delivery failed:", err);
    }).finally(() => {
      this.#drains.delete(key);
      if (this.#again.delete(key)) this.wake(address);
    });
    this.#drains.set(key, run);
  }

  #retryAt(address: PusherAddress, when: number): void {
    const key = addressKey(address);
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.wake(address);
    }, Math.max(0, when - Date.now()));
    this.#timers.set(key, timer);
  }

  async #drain(address: PusherAddress): Promise<void> {
    const { kv } = this.#hs;
    let retry = (await kv.get<PushRetryState>(pushQueueKeys.retry(address))).value;
    while (!this.#closed) {
      if (retry && retry.backoffUntil > Date.now()) {
        this.#retryAt(address, retry.backoffUntil);
        return;
      }
      const entries: Deno.KvEntry<PushQueueItem>[] = [];
      for await (
        const entry of kv.list<PushQueueItem>({ prefix: pushQueueKeys.itemsOf(address) }, {
          limit: DELIVERY_BATCH,
        })
      ) entries.push(entry);
      if (entries.length === 0) return;
      const pusherEntry = await kv.get(pusherKeys.pusher(address));
      if (pusherEntry.value === null) {
        await deletePusher(kv, address);
        return;
      }
      const pusher = storedPusherOf(pusherEntry.value);
      if (pusher.pusher.kind === "email") {
        // Mailed after a delay, gathered per user (server/email/email_notifs.ts).
        const at = await drainEmailQueue(this.#hs, address);
        if (at !== null) this.#retryAt(address, at);
        return;
      }
      // One count for the batch: a backlog is sent with the count as it is now (as for a
      // single item), without recounting the user's rooms for every item.
      let badge: Promise<number> | null = null;
      const badgeOf = () => badge ??= unreadBadge(this.#hs, address.userId);
      // Items answered are deleted together at the end of the batch (one commit, not one
      // per item); a crash before that sends them again, which gateways dedupe.
      const done: Deno.KvKey[] = [];
      let recovered = false;
      try {
        for (const entry of entries) {
          if (this.#closed) return;
          const outcome = await this.#deliver({ address, pusher, entry, retry }, badgeOf);
          if (outcome === "removed") return;
          if (outcome === "retry") {
            retry = afterFailure(retry, Date.now());
            await kv.set(pushQueueKeys.retry(address), retry);
            this.#retryAt(address, retry.backoffUntil);
            return;
          }
          done.push(entry.key);
          if (retry) {
            retry = null;
            recovered = true;
          }
        }
      } finally {
        await this.#forget(done, recovered ? address : null);
      }
    }
  }

  /** Deletes answered items, and the retry state of a pusher that answered again. */
  async #forget(keys: readonly Deno.KvKey[], recovered: PusherAddress | null): Promise<void> {
    const all = recovered ? [...keys, pushQueueKeys.retry(recovered)] : keys;
    for (let i = 0; i < all.length; i += 500) {
      const op = this.#hs.kv.atomic();
      for (const key of all.slice(i, i + 500)) op.delete(key);
      await op.commit();
    }
  }

  async #deliver(
    what: {
      address: PusherAddress;
      pusher: StoredPusher;
      entry: Deno.KvEntry<PushQueueItem>;
      retry: PushRetryState | null;
    },
    badgeOf: () => Promise<number>,
  ): Promise<"done" | "retry" | "removed"> {
    const { address, pusher, entry, retry } = what;
    const hs = this.#hs;
    const item = entry.value;
    const stored = await hs.rooms.event(item.eventId);
    // A redacted event is not pushed: its content is gone, and so is the reason to alert.
    if (!stored || stored.meta.redactedBy !== null) return "done";
    const badge = await badgeOf();
    const body = await notificationBody(hs, { userId: address.userId, pusher, item, stored }, {
      unread: badge,
    });
    if (pusher.pusher.kind === "webpush") {
      return await this.#deliverWebPush({ address, pusher, item, retry, badge }, body.notification);
    }
    const url = String((pusher.pusher.data as { url?: unknown } | undefined)?.url ?? "");
    let rejected: unknown[] = [];
    try {
      const answer = await postToGateway(url, body, {
        allowPrivateAddresses: hs.config.push.allowPrivateAddresses,
        pool: this.#hooks.pool,
      });
      if (answer.status < 200 || answer.status > 299) {
        throw new GatewayError("FAILED", `the gateway answered ${answer.status}`);
      }
      const list = (answer.body as { rejected?: unknown } | null)?.rejected;
      if (Array.isArray(list)) rejected = list;
    } catch (err) {
      const permanent = err instanceof GatewayError && err.code !== "FAILED";
      if (permanent || shouldGiveUp(retry, Date.now())) {
        console.error(`push to ${url} dropped for ${item.eventId}:`, String(err));
        return "done";
      }
      return "retry";
    }
    this.#hooks.delivered(address.userId, badge);
    if (rejected.includes(address.pushkey)) {
      // The gateway says the pushkey is no longer valid: the spec has the pusher removed.
      await deletePusher(hs.kv, address);
      await this.#hooks.pusherRemoved(address.userId);
      return "removed";
    }
    return "done";
  }

  async #deliverWebPush(
    what: {
      address: PusherAddress;
      pusher: StoredPusher;
      item: PushQueueItem;
      retry: PushRetryState | null;
      badge: number;
    },
    notification: JsonObject,
  ): Promise<"done" | "retry" | "removed"> {
    const { address, pusher, item, retry } = what;
    let outcome: WebPushOutcome;
    try {
      outcome = await sendWebPush(this.#hs, pusher, {
        payload: webPushPayload(notification),
        urgency: item.prio === "high" ? "high" : "normal",
      }, { pool: this.#hooks.pool });
    } catch (err) {
      outcome = err instanceof GatewayError && err.code !== "FAILED" ? "refused" : "retry";
      if (outcome === "refused") console.error(`web push of ${item.eventId}:`, String(err));
    }
    if (outcome === "refused") console.error(`web push of ${item.eventId} dropped`);
    if (outcome === "retry" && !shouldGiveUp(retry, Date.now())) return "retry";
    if (outcome === "expired") {
      // RFC 8030: the subscription ended (the browser unsubscribed or the service expired it).
      await deletePusher(this.#hs.kv, address);
      await this.#hooks.pusherRemoved(address.userId);
      return "removed";
    }
    if (outcome === "sent") this.#hooks.delivered(address.userId, what.badge);
    return "done";
  }

  /**
   * Pushes a `webpush` pusher's activation token (MSC4174: `app_id` and `ack_token`) once,
   * in the background; a client that did not get it registers again.
   */
  sendActivation(stored: StoredPusher, token: string): void {
    if (this.#closed) return;
    const payload = new TextEncoder().encode(
      JSON.stringify({ app_id: stored.pusher.app_id, ack_token: token }),
    );
    const run = sendWebPush(this.#hs, stored, { payload, urgency: "high", ttlS: 300 }, {
      pool: this.#hooks.pool,
    }).then((outcome) => {
      if (outcome !== "sent") console.error(`web push activation not delivered: ${outcome}`);
    }).catch((err) => console.error("web push activation failed:", String(err)))
      .finally(() => this.#activations.delete(run));
    this.#activations.add(run);
  }

  /** Stops retry timers and waits for deliveries in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    // A request in flight is not waited for long: its item stays queued for the next start.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#drains.values(), ...this.#activations]),
      new Promise((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }
}
