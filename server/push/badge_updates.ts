/**
 * Badge-only pushes (Push Gateway API: "update the number of unread notifications"): when a
 * user with HTTP pushers reads somewhere (a read receipt), their gateways get the new unread
 * count without an event, so the phone's badge clears after reading on another device.
 *
 * Best effort: the receipt stream is read at most once a second while it moves, one attempt
 * per pusher, nothing stored. The count is sent even when it is zero (the spec leaves zero
 * counts out, but a badge update with nothing in it could not clear anything), and only when
 * it differs from the last count this process sent the user.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { receiptsBetween } from "../store/receipts.ts";
import { deviceOf } from "./gateway.ts";
import { type GatewayPool, postToGateway } from "./gateway_http.ts";
import { unreadBadge } from "./notifications.ts";
import { listPushers } from "./pusher_store.ts";

/** Least time between two reads of the receipt stream. */
const CHECK_INTERVAL_MS = 1000;
/** Users whose last sent badge is remembered. */
const REMEMBERED_USERS = 10_000;

/** Sends badge-only updates after read receipts of users with pushers. */
export class BadgeUpdater {
  readonly #hs: Homeserver;
  readonly #hasPusher: (userId: string) => boolean;
  readonly #anyPushers: () => boolean;
  readonly #pool: GatewayPool;
  readonly #lastSent = new Map<string, number>();
  #seen = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #stop: (() => void) | null = null;
  #closed = false;

  constructor(
    hs: Homeserver,
    options: {
      hasPusher: (userId: string) => boolean;
      anyPushers: () => boolean;
      pool: GatewayPool;
    },
  ) {
    this.#hs = hs;
    this.#hasPusher = options.hasPusher;
    this.#anyPushers = options.anyPushers;
    this.#pool = options.pool;
  }

  /** Starts following the stream from its visible position. */
  start(): void {
    this.#seen = this.#hs.stream.visiblePosition;
    this.#stop = this.#hs.stream.onVisible((visible) => {
      // Without pushers the stream is not read at all.
      if (!this.#anyPushers() && this.#running === null) {
        this.#seen = visible;
        return;
      }
      if (this.#timer === undefined && this.#running === null && !this.#closed) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#running = this.#check().catch((err) => console.error("badge update:", err))
            .finally(() => this.#running = null);
        }, CHECK_INTERVAL_MS);
      }
    });
  }

  /** Remembers a count sent with a notification, so the same count is not sent again. */
  sent(userId: string, badge: number): void {
    this.#lastSent.delete(userId);
    if (this.#lastSent.size >= REMEMBERED_USERS) {
      this.#lastSent.delete(this.#lastSent.keys().next().value!);
    }
    this.#lastSent.set(userId, badge);
  }

  async #check(): Promise<void> {
    const hs = this.#hs;
    const upto = hs.stream.visiblePosition;
    const since = this.#seen;
    this.#seen = upto;
    const readers = new Set<string>();
    for (const entries of (await receiptsBetween(hs, { since, upto })).values()) {
      for (const entry of entries) {
        if (this.#hasPusher(entry.userId)) readers.add(entry.userId);
      }
    }
    for (const userId of readers) {
      if (this.#closed) return;
      const badge = await unreadBadge(hs, userId);
      if (this.#lastSent.get(userId) === badge) continue;
      this.sent(userId, badge);
      for (const pusher of await listPushers(hs.kv, userId)) {
        if (pusher.pusher.kind !== "http") continue;
        const url = String((pusher.pusher.data as { url?: unknown } | undefined)?.url ?? "");
        const body = {
          notification: { counts: { unread: badge }, devices: [deviceOf(pusher, {})] },
        };
        try {
          await postToGateway(url, body, {
            allowPrivateAddresses: hs.config.push.allowPrivateAddresses,
            pool: this.#pool,
          });
        } catch { /* best effort: the next notification carries the count */ }
      }
    }
  }

  /** Stops following the stream and waits for a check in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop?.();
    clearTimeout(this.#timer);
    await this.#running;
  }
}
