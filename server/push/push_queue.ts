/**
 * The durable push queue: its KV layout and the pure rules the delivery worker follows
 * (backoff, giving up). No network and no clock here.
 *
 * Keys:
 *
 * - `["push_queue", userId, appId, pushkey, pos, eventId]` -> {@link PushQueueItem}: one
 *   notification waiting for one HTTP pusher, ordered by the event's stream position. The item
 *   is deleted in the commit that follows the gateway's 2xx answer (or when it is given up).
 * - `["push_retry", userId, appId, pushkey]` -> {@link PushRetryState}: the pusher's failures
 *   in a row and when the next attempt may be made.
 * - `["push_cursor"]` -> number: every stream position at or below it has been evaluated for
 *   push. After a crash between an event's commit and its evaluation, start-up evaluates the
 *   events above the cursor again, so an acknowledged event is never lost for push.
 *
 * @module
 */

import type { PusherAddress } from "./pusher_store.ts";

/** A notification waiting for one pusher. */
export interface PushQueueItem {
  roomId: string;
  eventId: string;
  /** The tweaks of the matching rule's actions (`sound`, `highlight`, ...). */
  tweaks: Record<string, unknown>;
  /** `high` or `low`, decided when the event was evaluated. */
  prio: "high" | "low";
  /** Milliseconds since the epoch when it was queued. */
  queuedTs: number;
}

/** A pusher's delivery state. */
export interface PushRetryState {
  /** Failed attempts in a row. */
  failures: number;
  /** No attempt before this time (ms since the epoch). */
  backoffUntil: number;
  /** When the first of these failures happened. */
  failingSinceTs: number;
}

/** Key builders of the push queue. */
export const pushQueueKeys = {
  item: (a: PusherAddress, pos: number, eventId: string): Deno.KvKey => [
    "push_queue",
    a.userId,
    a.appId,
    a.pushkey,
    pos,
    eventId,
  ],
  itemsOf: (a: PusherAddress): Deno.KvKey => ["push_queue", a.userId, a.appId, a.pushkey],
  all: (): Deno.KvKey => ["push_queue"],
  retry: (a: PusherAddress): Deno.KvKey => ["push_retry", a.userId, a.appId, a.pushkey],
  cursor: (): Deno.KvKey => ["push_cursor"],
};

/** The first retry waits this long; each failure doubles it. */
export const INITIAL_BACKOFF_MS = 1000;
/** Retries are never further apart than this. */
export const MAX_BACKOFF_MS = 60 * 60 * 1000;
/** A notification that could not be delivered for this long is dropped (the next one is tried). */
export const GIVE_UP_AFTER_MS = 24 * 60 * 60 * 1000;

/** The retry state after one more failure at `now`. */
export function afterFailure(state: PushRetryState | null, now: number): PushRetryState {
  const failures = (state?.failures ?? 0) + 1;
  const delay = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.min(failures - 1, 30));
  return { failures, backoffUntil: now + delay, failingSinceTs: state?.failingSinceTs ?? now };
}

/** Whether the worker stops retrying an item that has been failing since `failingSinceTs`. */
export function shouldGiveUp(state: PushRetryState | null, now: number): boolean {
  return state !== null && now - state.failingSinceTs >= GIVE_UP_AFTER_MS;
}

/**
 * The priority Synapse gives a notification: high when it makes a sound or highlights, or when
 * it is encrypted (its effect on the phone is unknown); low otherwise, so a gateway may save
 * the phone's battery on busy group rooms.
 */
export function priorityOf(eventType: string, tweaks: Record<string, unknown>): "high" | "low" {
  if (eventType === "m.room.encrypted") return "high";
  if (tweaks.highlight === true || tweaks.sound !== undefined) return "high";
  return "low";
}

/** The tweaks of a list of actions (`highlight` true when set without a value). */
export function tweaksOf(actions: readonly unknown[]): Record<string, unknown> {
  const tweaks: Record<string, unknown> = {};
  for (const action of actions) {
    if (typeof action !== "object" || action === null) continue;
    const { set_tweak: name, value } = action as { set_tweak?: unknown; value?: unknown };
    if (typeof name !== "string") continue;
    tweaks[name] = name === "highlight" && value === undefined ? true : value;
  }
  return tweaks;
}
