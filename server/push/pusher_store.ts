/**
 * The stored pushers (spec: "Push Notifications"): what `POST /pushers/set` configured, with
 * what the server adds (when the pushkey was set, the device that set it), and the in-memory
 * set of users who have at least one pusher, which lets the room pipeline's subscriber skip
 * rooms where nobody is pushed to without touching storage.
 *
 * Keys: `["pusher", userId, appId, pushkey]` -> {@link StoredPusher};
 * `["pusher_owner", appId, pushkey, userId]` -> true, to find other users' pushers with the
 * same app and pushkey. Removing a pusher also drops its delivery queue (`push_queue.ts`).
 *
 * @module
 */

import type { JsonObject } from "../http_util.ts";
import { pushQueueKeys } from "./push_queue.ts";

/** A pusher as stored. */
export interface StoredPusher {
  /** The pusher as `GET /pushers` shows it. */
  pusher: JsonObject;
  /** When the pushkey was last set (ms since the epoch; the gateway gets seconds). */
  ts: number;
  /** The device whose access token set it (null for pushers stored before it was kept). */
  deviceId: string | null;
  /**
   * A `webpush` pusher waiting for activation (MSC4174): the token pushed to it, which the
   * client sends back to `POST /pushers/ack` before the expiry (ms since the epoch).
   */
  ack?: { token: string; expiresTs: number };
}

/**
 * Whether notifications are delivered to this pusher: HTTP pushers, `webpush` ones once
 * activated, and email pushers when the server sends mail (server/email/email_notifs.ts).
 */
export function isDelivered(stored: StoredPusher, emailEnabled = false): boolean {
  const { kind, activated } = stored.pusher;
  return kind === "http" || (kind === "webpush" && activated === true) ||
    (kind === "email" && emailEnabled);
}

/** Where one pusher lives. */
export interface PusherAddress {
  userId: string;
  appId: string;
  pushkey: string;
}

/** Key builders of the pusher store. */
export const pusherKeys = {
  pusher: (a: PusherAddress): Deno.KvKey => ["pusher", a.userId, a.appId, a.pushkey],
  ofUser: (userId: string): Deno.KvKey => ["pusher", userId],
  all: (): Deno.KvKey => ["pusher"],
  owner: (a: PusherAddress): Deno.KvKey => ["pusher_owner", a.appId, a.pushkey, a.userId],
  ownersOf: (appId: string, pushkey: string): Deno.KvKey => ["pusher_owner", appId, pushkey],
};

/** Reads a stored value, including the plain pusher objects written before {@link StoredPusher}. */
export function storedPusherOf(value: unknown): StoredPusher {
  const v = value as Partial<StoredPusher> & JsonObject;
  if (typeof v.pusher === "object" && v.pusher !== null && typeof v.ts === "number") {
    const stored: StoredPusher = {
      pusher: v.pusher as JsonObject,
      ts: v.ts,
      deviceId: v.deviceId ?? null,
    };
    if (v.ack) stored.ack = v.ack;
    return stored;
  }
  return { pusher: v as JsonObject, ts: 0, deviceId: null };
}

/** The address of a stored pusher. */
export function addressOf(userId: string, stored: StoredPusher): PusherAddress {
  return {
    userId,
    appId: String(stored.pusher.app_id),
    pushkey: String(stored.pusher.pushkey),
  };
}

/** A user's pushers. */
export async function listPushers(
  kv: Deno.Kv,
  userId: string,
): Promise<StoredPusher[]> {
  const out: StoredPusher[] = [];
  for await (const entry of kv.list({ prefix: pusherKeys.ofUser(userId) })) {
    out.push(storedPusherOf(entry.value));
  }
  return out;
}

/** Every pusher by user (read once at start-up; the push worker keeps it current). */
export async function allPushers(kv: Deno.Kv): Promise<Map<string, StoredPusher[]>> {
  const out = new Map<string, StoredPusher[]>();
  for await (const entry of kv.list({ prefix: pusherKeys.all() }, { batchSize: 500 })) {
    const userId = entry.key[1] as string;
    let list = out.get(userId);
    if (!list) out.set(userId, list = []);
    list.push(storedPusherOf(entry.value));
  }
  return out;
}

/** Deletes one pusher with its owner index entry, queued notifications and retry state. */
export async function deletePusher(kv: Deno.Kv, address: PusherAddress): Promise<void> {
  await kv.atomic().delete(pusherKeys.pusher(address)).delete(pusherKeys.owner(address))
    .delete(pushQueueKeys.retry(address)).commit();
  // The queue may be longer than one commit holds; items of a deleted pusher are skipped anyway.
  const keys: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: pushQueueKeys.itemsOf(address) })) {
    keys.push(entry.key);
  }
  for (let i = 0; i < keys.length; i += 500) {
    const op = kv.atomic();
    for (const key of keys.slice(i, i + 500)) op.delete(key);
    await op.commit();
  }
}

/**
 * Deletes the user's pushers whose device is not `keepDeviceId` (on a password change; spec:
 * the other sessions' pushers go with them) or, when `deviceIds` is given, only those set by
 * these devices (their sessions ended). Returns how many were deleted.
 */
export async function deletePushersOfDevices(
  kv: Deno.Kv,
  userId: string,
  which: { keepDeviceId: string } | { deviceIds: readonly string[] },
): Promise<number> {
  let deleted = 0;
  for (const stored of await listPushers(kv, userId)) {
    // An email pusher the server made for an address (deviceId null) belongs to no session.
    if (stored.pusher.kind === "email" && stored.deviceId === null) continue;
    const remove = "keepDeviceId" in which
      ? stored.deviceId !== which.keepDeviceId
      : stored.deviceId !== null && which.deviceIds.includes(stored.deviceId);
    if (!remove) continue;
    await deletePusher(kv, addressOf(userId, stored));
    deleted++;
  }
  return deleted;
}
