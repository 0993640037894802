/**
 * The send-to-device queue: each message is stored in its recipient device's inbox at a global
 * stream position, handed to that device by `/sync` in position order, and deleted once the
 * device syncs again with a token at or past that position (its acknowledgement).
 *
 * A request for many devices is written in several commits when Deno KV's per-commit limits
 * (counted by `store/kv_batch.ts` from the real sizes of keys and values) require it; each commit takes its own position, so a sync that runs between two of them
 * never skips a message. Messages to users of other servers are skipped here: the route hands
 * them to federation (`server/federation/to_device_remote.ts`) through `beforeCommit`.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import {
  commitBatches,
  deleteRange,
  getManyChunked,
  kvValueBytes,
  setCost,
} from "../store/kv_batch.ts";
import { accountKeys, type DeviceRecord } from "../store/kv_store.ts";
import { wakeUsers } from "../sync/positions.ts";
import { commitAtPosition } from "./positions.ts";
import { type InboxBounds, inboxBounds, isCurrentInbox, noteToDeviceWrite } from "./sync_memory.ts";
import {
  e2eeKeys,
  type JsonObject,
  type ToDeviceRecord,
  type ToDeviceTxnRecord,
} from "./schema.ts";

/** How long a `/sendToDevice` transaction ID is remembered. */
export const TXN_LIFETIME_MS = 24 * 3600_000;
/** Messages per commit at most (Deno KV allows 1,000 mutations per commit). */
const MESSAGES_PER_COMMIT = 500;
/** The default number of messages one `/sync` hands out. */
export const TO_DEVICE_SYNC_LIMIT = 100;

/** The sender of a to-device request. */
export interface ToDeviceSender {
  userId: string;
  deviceId: string;
}

/** Messages of one request: user ID -> device ID (or `*`) -> content. */
export type ToDeviceMessages = ReadonlyMap<string, ReadonlyMap<string, JsonObject>>;

/**
 * Queues one `/sendToDevice` request. A repeated transaction ID of the same device is a no-op.
 *
 * @returns the number of messages queued (0 for a repeated transaction)
 */
export async function sendToDevice(
  hs: Homeserver,
  sender: ToDeviceSender,
  request: {
    type: string;
    txnId: string;
    messages: ToDeviceMessages;
    /**
     * Runs once the transaction is known to be new, before anything is committed: federation
     * queues the messages for other servers here (with IDs derived from the transaction, so
     * a retry after a failure queues the same IDs, which receivers drop as repeats).
     */
    beforeCommit?: () => Promise<void>;
  },
): Promise<number> {
  const { kv } = hs;
  const txnKey = e2eeKeys.toDeviceTxn(sender.userId, sender.deviceId, request.txnId);
  if ((await kv.get(txnKey)).value) return 0;
  await request.beforeCommit?.();

  const deliveries: { userId: string; deviceId: string; content: JsonObject }[] = [];
  const add = (userId: string, deviceId: string, content: JsonObject) =>
    deliveries.push({ userId, deviceId, content });
  const named: { userId: string; deviceId: string; content: JsonObject }[] = [];
  for (const [userId, byDevice] of request.messages) {
    if (serverNameOf(userId) !== hs.config.serverName) continue;
    const all = byDevice.get("*");
    if (all) {
      for await (const entry of kv.list<DeviceRecord>({ prefix: accountKeys.devicesOf(userId) })) {
        // A message named for this device wins over the one for `*`.
        if (!byDevice.has(entry.value.deviceId)) add(userId, entry.value.deviceId, all);
      }
    }
    for (const [deviceId, content] of byDevice) {
      if (deviceId !== "*") named.push({ userId, deviceId, content });
    }
  }
  // A message for a device that does not exist would never be fetched: it is dropped.
  const exists = await getManyChunked(
    kv,
    named.map((m) => accountKeys.device(m.userId, m.deviceId)),
  );
  named.forEach((m, i) => exists[i].value && add(m.userId, m.deviceId, m.content));

  const record = (content: JsonObject): ToDeviceRecord => ({
    sender: sender.userId,
    senderDevice: sender.deviceId,
    type: request.type,
    content,
  });
  // A message for `*` is the same value for every device: measured once.
  const valueBytes = new Map<JsonObject, number>();
  const batches = commitBatches(deliveries, (message) => {
    let bytes = valueBytes.get(message.content);
    if (bytes === undefined) {
      valueBytes.set(message.content, bytes = kvValueBytes(record(message.content)));
    }
    return setCost(e2eeKeys.toDevice(message.userId, message.deviceId, 0), { bytes });
  }, { maxItems: MESSAGES_PER_COMMIT });
  if (batches.length === 0) batches.push([]);
  for (const [i, batch] of batches.entries()) {
    const last = i === batches.length - 1;
    const pos = await commitAtPosition(hs, (op, pos) => {
      for (const message of batch) {
        noteToDeviceWrite(kv, message, pos);
        op.set(e2eeKeys.toDevice(message.userId, message.deviceId, pos), record(message.content));
      }
      // The transaction is remembered with the last batch, so that a request that failed
      // half-way is repeated in full by the client's retry.
      if (last) {
        op.check({ key: txnKey, versionstamp: null });
        op.set(txnKey, { pos } satisfies ToDeviceTxnRecord, { expireIn: TXN_LIFETIME_MS });
      }
    }, { attempts: 1 });
    if (pos === null) return 0; // a concurrent retry of the same transaction won
    wakeUsers(hs, new Set(batch.map((message) => message.userId)));
  }
  return deliveries.length;
}

/** A to-device event as `/sync` returns it. */
export interface ToDeviceEvent {
  sender: string;
  type: string;
  content: JsonObject;
}

/** What {@link toDeviceForSync} hands to one sync response. */
export interface ToDeviceBatch {
  events: ToDeviceEvent[];
  /**
   * The to-device position the next `since` may claim: `upto` when every pending message was
   * returned, else the position of the last message returned (the rest follow next time).
   */
  reached: number;
}

/**
 * Acknowledges (deletes) the messages at positions up to `since` and returns, in order, the
 * next messages at positions in `(since, upto]`, at most `limit` of them. Reads nothing when
 * the device's remembered inbox bounds show nothing to delete and nothing in the range (the
 * bounds are read from KV once per device and process).
 */
export async function toDeviceForSync(
  kv: Deno.Kv,
  device: { userId: string; deviceId: string },
  range: { since: number | null; upto: number; limit?: number },
): Promise<ToDeviceBatch> {
  const inbox = e2eeKeys.toDeviceInbox(device.userId, device.deviceId);
  const since = range.since ?? 0;
  const bounds = await knownInboxBounds(kv, device);
  const acknowledges = range.since !== null && since > 0;
  // An inbox with `low > high` is empty.
  const empty = bounds !== null && bounds.low > bounds.high;
  const mayHoldAcknowledged = bounds === null || (!empty && bounds.low <= since);
  const mayHoldNew = bounds === null ||
    (!empty && bounds.high > since && bounds.low <= range.upto);
  if (acknowledges && mayHoldAcknowledged) {
    const serial = bounds?.serial;
    await deleteRange(kv, { start: [...inbox, 0], end: [...inbox, since + 1] });
    // Nothing at or below `since` is left, unless a message was noted meanwhile (a token from
    // the future could let one land there).
    if (bounds && bounds.serial === serial && isCurrentInbox(kv, device, bounds)) {
      bounds.low = Math.max(bounds.low, since + 1);
    }
  }
  if (!mayHoldNew) return { events: [], reached: range.upto };
  const limit = range.limit ?? TO_DEVICE_SYNC_LIMIT;
  const events: ToDeviceEvent[] = [];
  let lastPos = since;
  const iter = kv.list<ToDeviceRecord>(
    { start: [...inbox, since + 1], end: [...inbox, range.upto + 1] },
    { limit: limit + 1 },
  );
  let more = false;
  for await (const entry of iter) {
    if (events.length === limit) {
      more = true;
      break;
    }
    const { sender, type, content } = entry.value;
    events.push({ sender, type, content });
    lastPos = entry.key[3] as number;
  }
  return { events, reached: more ? lastPos : range.upto };
}

/** Whether a device has messages at positions in `(since, upto]` (for long-polling). */
export async function hasPendingToDevice(
  kv: Deno.Kv,
  device: { userId: string; deviceId: string },
  range: { since: number; upto: number },
): Promise<boolean> {
  const bounds = await knownInboxBounds(kv, device);
  if (bounds && (bounds.high <= range.since || bounds.low > range.upto)) return false;
  const inbox = e2eeKeys.toDeviceInbox(device.userId, device.deviceId);
  const iter = kv.list({ start: [...inbox, range.since + 1], end: [...inbox, range.upto + 1] }, {
    limit: 1,
  });
  for await (const _ of iter) return true;
  return false;
}

/**
 * The remembered bounds of a device's inbox; an unknown inbox is warmed up from its lowest and
 * highest message (null when a message was noted during that read: KV is read this time).
 */
async function knownInboxBounds(
  kv: Deno.Kv,
  device: { userId: string; deviceId: string },
): Promise<InboxBounds | null> {
  const bounds = inboxBounds(kv, device);
  if (bounds.known) return bounds;
  const serial = bounds.serial;
  const prefix = e2eeKeys.toDeviceInbox(device.userId, device.deviceId);
  const edge = async (reverse: boolean) => {
    for await (const entry of kv.list({ prefix }, { limit: 1, reverse })) {
      return entry.key[3] as number;
    }
    return null;
  };
  const [low, high] = await Promise.all([edge(false), edge(true)]);
  if (bounds.serial !== serial || !isCurrentInbox(kv, device, bounds)) return null;
  bounds.known = true;
  bounds.low = low ?? Infinity;
  bounds.high = high ?? 0;
  return bounds;
}
