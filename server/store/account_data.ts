/**
 * Account data (spec: "Client Config", "Room Tagging", read markers' `m.fully_read`): global
 * and per-room JSON objects of a user, each written at a stream position so that `/sync`
 * returns exactly those changed since its token.
 *
 * Keys:
 * - `["account_data", userId, roomId, type]` -> {@link AccountDataRecord} (roomId `""` for
 *   global account data)
 * - `["account_data_pos", userId, pos]` -> {@link AccountDataChange}: the stream of changes;
 *   each write deletes the entry of the value it replaces, so a user has one entry per
 *   (room, type)
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { commitAtPosition, wakeUsers } from "../sync/positions.ts";
import { getManyChunked } from "./kv_batch.ts";
import { ContentionError, inTurn } from "./turns.ts";

/** One stored account data object. */
export interface AccountDataRecord {
  content: Record<string, unknown>;
  /** The stream position of the last write. */
  pos: number;
}

/** An entry of the account data stream. */
export interface AccountDataChange {
  /** `""` for global account data. */
  roomId: string;
  type: string;
}

/** One account data object with its address. */
export interface AccountDataEntry extends AccountDataChange {
  content: Record<string, unknown>;
  pos: number;
}

/** Key builders of the account data store. */
export const accountDataKeys = {
  record: (userId: string, roomId: string, type: string): Deno.KvKey => [
    "account_data",
    userId,
    roomId,
    type,
  ],
  ofUser: (userId: string): Deno.KvKey => ["account_data", userId],
  ofRoom: (userId: string, roomId: string): Deno.KvKey => ["account_data", userId, roomId],
  change: (userId: string, pos: number): Deno.KvKey => ["account_data_pos", userId, pos],
  changes: (userId: string): Deno.KvKey => ["account_data_pos", userId],
} as const;

/** Reads one account data object (roomId `""` for global). */
export async function getAccountData(
  hs: Homeserver,
  userId: string,
  where: { roomId: string; type: string },
): Promise<AccountDataRecord | null> {
  const key = accountDataKeys.record(userId, where.roomId, where.type);
  return (await hs.kv.get<AccountDataRecord>(key)).value;
}

/**
 * Writes one account data object at a new stream position, replacing the previous value.
 * `update` receives the current content (or null) and returns the new content, or null to
 * leave it unchanged; it may run more than once when a concurrent write wins.
 *
 * @returns the position written at, or null when nothing changed
 */
export async function updateAccountData(
  hs: Homeserver,
  userId: string,
  where: { roomId: string; type: string },
  update: (current: Record<string, unknown> | null) => Record<string, unknown> | null,
): Promise<number | null> {
  return await inTurn(hs.kv, ["account_data", userId], async () => {
    const key = accountDataKeys.record(userId, where.roomId, where.type);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await hs.kv.get<AccountDataRecord>(key);
      const content = update(current.value?.content ?? null);
      if (content === null) return null;
      const pos = await commitAtPosition(hs, (op, pos) => {
        op.check(current);
        if (current.value) op.delete(accountDataKeys.change(userId, current.value.pos));
        op.set(key, { content, pos } satisfies AccountDataRecord);
        op.set(
          accountDataKeys.change(userId, pos),
          {
            roomId: where.roomId,
            type: where.type,
          } satisfies AccountDataChange,
        );
      }, { attempts: 1 });
      if (pos !== null) {
        wakeUsers(hs, [userId], pos);
        return pos;
      }
    }
    throw new ContentionError(`account data write for ${userId}`);
  });
}

/** Replaces one account data object with `content`. */
export function setAccountData(
  hs: Homeserver,
  userId: string,
  where: { roomId: string; type: string },
  content: Record<string, unknown>,
): Promise<number | null> {
  return updateAccountData(hs, userId, where, () => content);
}

/** Every account data object of a user (global and all rooms), for an initial sync. */
export async function listAccountData(
  hs: Homeserver,
  userId: string,
): Promise<AccountDataEntry[]> {
  const out: AccountDataEntry[] = [];
  for await (
    const entry of hs.kv.list<AccountDataRecord>({ prefix: accountDataKeys.ofUser(userId) })
  ) {
    out.push({
      roomId: entry.key[2] as string,
      type: entry.key[3] as string,
      content: entry.value.content,
      pos: entry.value.pos,
    });
  }
  return out;
}

/**
 * The account data objects changed at positions in `(since, upto]`, with their current
 * content (a value written again after `upto` is left for the next sync).
 */
export async function accountDataBetween(
  hs: Homeserver,
  userId: string,
  range: { since: number; upto: number },
): Promise<AccountDataEntry[]> {
  if (range.upto <= range.since) return [];
  const prefix = accountDataKeys.changes(userId);
  const changes: AccountDataChange[] = [];
  for await (
    const entry of hs.kv.list<AccountDataChange>({
      start: [...prefix, range.since + 1],
      end: [...prefix, range.upto + 1],
    })
  ) {
    changes.push(entry.value);
  }
  if (changes.length === 0) return [];
  const keys = changes.map((change) => accountDataKeys.record(userId, change.roomId, change.type));
  const out: AccountDataEntry[] = [];
  const records = await getManyChunked<AccountDataRecord>(hs.kv, keys);
  records.forEach((record, i) => {
    if (!record.value || record.value.pos > range.upto) return;
    out.push({ ...changes[i], content: record.value.content, pos: record.value.pos });
  });
  return out;
}
