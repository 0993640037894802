/**
 * Receipts (spec: "Receipts"): `m.read` and `m.read.private`, unthreaded or per thread (`main`
 * or a thread root), one event per (room, user, type, thread), written at stream positions.
 *
 * Keys:
 * - `["receipt", roomId, userId, receiptType, threadKey]` -> {@link ReceiptRecord}
 *   (`threadKey` is `""` for an unthreaded receipt, else the `thread_id`)
 * - `["receipt_pos", pos]` -> {@link ReceiptAddress}: the stream of changes across all rooms;
 *   each write deletes the entry of the receipt it replaces
 *
 * A receipt records the stream position of the event it points at (`eventOrder`), so the
 * unread counts can start right after it without looking the event up again. A receipt that
 * would move backwards (to an earlier event) is ignored.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { commitAtPosition } from "../sync/positions.ts";
import { getManyChunked } from "./kv_batch.ts";
import { ContentionError } from "./turns.ts";

/** The receipt types stored here (`m.fully_read` is room account data). */
export const RECEIPT_TYPES = ["m.read", "m.read.private"] as const;

/** A receipt type. */
export type ReceiptType = typeof RECEIPT_TYPES[number];

/** One stored receipt. */
export interface ReceiptRecord {
  eventId: string;
  /** Stream position of the event the receipt points at. */
  eventOrder: number;
  ts: number;
  pos: number;
}

/** Where a receipt lives. */
export interface ReceiptAddress {
  roomId: string;
  userId: string;
  receiptType: ReceiptType;
  /** `""` for unthreaded. */
  threadKey: string;
}

/** A receipt with its address. */
export interface ReceiptEntry extends ReceiptAddress, ReceiptRecord {}

/** Key builders of the receipt store. */
export const receiptKeys = {
  receipt: (a: ReceiptAddress): Deno.KvKey => [
    "receipt",
    a.roomId,
    a.userId,
    a.receiptType,
    a.threadKey,
  ],
  ofRoom: (roomId: string): Deno.KvKey => ["receipt", roomId],
  ofUserInRoom: (roomId: string, userId: string): Deno.KvKey => ["receipt", roomId, userId],
  change: (pos: number): Deno.KvKey => ["receipt_pos", pos],
  changes: (): Deno.KvKey => ["receipt_pos"],
} as const;

/**
 * Stores a receipt at a new stream position.
 *
 * @returns the position, or null when the receipt was ignored (same event, or backwards)
 */
export async function setReceipt(
  hs: Homeserver,
  address: ReceiptAddress,
  receipt: { eventId: string; eventOrder: number; ts: number },
): Promise<number | null> {
  const key = receiptKeys.receipt(address);
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await hs.kv.get<ReceiptRecord>(key);
    const old = current.value;
    if (old && (old.eventId === receipt.eventId || old.eventOrder > receipt.eventOrder)) {
      return null;
    }
    const pos = await commitAtPosition(hs, (op, pos) => {
      op.check(current);
      if (old) op.delete(receiptKeys.change(old.pos));
      op.set(key, { ...receipt, pos } satisfies ReceiptRecord);
      op.set(receiptKeys.change(pos), address);
    }, { attempts: 1 });
    if (pos !== null) return pos;
  }
  throw new ContentionError("receipt write");
}

function entryOf(key: Deno.KvKey, record: ReceiptRecord): ReceiptEntry {
  return {
    roomId: key[1] as string,
    userId: key[2] as string,
    receiptType: key[3] as ReceiptType,
    threadKey: key[4] as string,
    ...record,
  };
}

/** Every receipt in a room (for an initial sync). */
export async function receiptsOfRoom(hs: Homeserver, roomId: string): Promise<ReceiptEntry[]> {
  const out: ReceiptEntry[] = [];
  for await (const entry of hs.kv.list<ReceiptRecord>({ prefix: receiptKeys.ofRoom(roomId) })) {
    out.push(entryOf(entry.key, entry.value));
  }
  return out;
}

/** A user's own receipts in a room (for unread counts). */
export async function ownReceipts(
  hs: Homeserver,
  roomId: string,
  userId: string,
): Promise<ReceiptEntry[]> {
  const out: ReceiptEntry[] = [];
  const prefix = receiptKeys.ofUserInRoom(roomId, userId);
  for await (const entry of hs.kv.list<ReceiptRecord>({ prefix })) {
    out.push(entryOf(entry.key, entry.value));
  }
  return out;
}

/**
 * Receipts written at positions in `(since, upto]` in any room, grouped by room (a receipt
 * overwritten after `upto` is left for the next sync).
 */
export async function receiptsBetween(
  hs: Homeserver,
  range: { since: number; upto: number },
): Promise<Map<string, ReceiptEntry[]>> {
  const byRoom = new Map<string, ReceiptEntry[]>();
  if (range.upto <= range.since) return byRoom;
  const addresses: ReceiptAddress[] = [];
  for await (
    const entry of hs.kv.list<ReceiptAddress>({
      start: [...receiptKeys.changes(), range.since + 1],
      end: [...receiptKeys.changes(), range.upto + 1],
    })
  ) {
    addresses.push(entry.value);
  }
  const keys = addresses.map((a) => receiptKeys.receipt(a));
  for (const record of await getManyChunked<ReceiptRecord>(hs.kv, keys)) {
    if (!record.value || record.value.pos > range.upto) continue;
    const entry = entryOf(record.key, record.value);
    let list = byRoom.get(entry.roomId);
    if (!list) byRoom.set(entry.roomId, list = []);
    list.push(entry);
  }
  return byRoom;
}

/**
 * The `m.receipt` event of a room for one viewer: other users' private receipts are left out.
 * Returns null when nothing is left.
 */
export function receiptEvent(
  entries: readonly ReceiptEntry[],
  viewerId: string,
): { type: "m.receipt"; content: Record<string, unknown> } | null {
  const content: Record<string, Record<string, Record<string, unknown>>> = {};
  let any = false;
  for (const entry of entries) {
    if (entry.receiptType === "m.read.private" && entry.userId !== viewerId) continue;
    const byType = content[entry.eventId] ??= {};
    const byUser = (byType[entry.receiptType] ??= {}) as Record<string, unknown>;
    const data: Record<string, unknown> = { ts: entry.ts };
    if (entry.threadKey !== "") data.thread_id = entry.threadKey;
    byUser[entry.userId] = data;
    any = true;
  }
  return any ? { type: "m.receipt", content } : null;
}
