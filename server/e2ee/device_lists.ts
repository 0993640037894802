/**
 * The device-list stream: one log entry per change of a user's devices or cross-signing keys,
 * at a global stream position, plus a per-user head that chains each user's entries
 * (`prevPos`), so that a federation sender can later turn them into `m.device_list_update`
 * EDUs (`stream_id` = position, `prev_id` = previous position) without a rewrite.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { wakeUsersSharingRoomsWith } from "../sync/positions.ts";
import { commitAtPosition } from "./positions.ts";
import { type DeviceListChangeRecord, e2eeKeys } from "./schema.ts";
import { noteDeviceListWrite } from "./sync_memory.ts";
import { ContentionError } from "../store/turns.ts";

/** What changed for a user. */
export interface DeviceListChange {
  userId: string;
  /** Devices whose keys were added or changed, or that were deleted. */
  deviceIds?: readonly string[];
  /** The subset of `deviceIds` that were deleted. */
  deleted?: readonly string[];
  /** The user's cross-signing keys changed. */
  crossSigning?: boolean;
}

/**
 * Adds a change-log entry at `pos` to `op`, with a check on the user's head so that each
 * user's entries form one chain.
 */
export async function addDeviceListChange(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  change: DeviceListChange & { pos: number },
): Promise<void> {
  const head = await kv.get<number>(e2eeKeys.deviceListHead(change.userId));
  const record: DeviceListChangeRecord = {
    deviceIds: [...(change.deviceIds ?? [])],
    deleted: [...(change.deleted ?? [])],
    prevPos: head.value,
    crossSigning: change.crossSigning ?? false,
  };
  noteDeviceListWrite(kv, change.pos);
  op.check(head)
    .set(e2eeKeys.deviceListChange(change.pos, change.userId), record)
    .set(head.key, change.pos);
}

/** Records a change on its own (at a new stream position). */
export async function recordDeviceListChange(
  hs: Homeserver,
  change: DeviceListChange,
): Promise<number> {
  const pos = await commitAtPosition(hs, async (op, pos) => {
    await addDeviceListChange(hs.kv, op, { ...change, pos });
  });
  if (pos === null) throw new ContentionError("device-list change");
  wakeDeviceListWatchers(hs, change.userId, pos);
  return pos;
}

/**
 * Wakes the long-polling syncs of a user and of every local user who shares a room with them,
 * after a device-list entry of that user committed at `pos`.
 */
export function wakeDeviceListWatchers(hs: Homeserver, userId: string, pos: number): void {
  wakeUsersSharingRoomsWith(hs, userId, pos);
  listeners.get(hs)?.(userId, pos);
}

/** Called after each committed device-list entry (federation sends it on). */
export type DeviceListListener = (userId: string, pos: number) => void;

const listeners = new WeakMap<Homeserver, DeviceListListener>();

/** Sets the one listener told of every committed device-list entry of a server. */
export function onDeviceListCommitted(hs: Homeserver, listener: DeviceListListener): void {
  listeners.set(hs, listener);
}

/** Users with a device-list change at a position in `(since, upto]`. */
export async function usersChangedBetween(
  kv: Deno.Kv,
  range: { since: number; upto: number },
): Promise<Set<string>> {
  const users = new Set<string>();
  if (range.upto <= range.since) return users;
  const iter = kv.list<DeviceListChangeRecord>({
    start: [...e2eeKeys.deviceListLog(), range.since + 1],
    end: [...e2eeKeys.deviceListLog(), range.upto + 1],
  });
  for await (const entry of iter) users.add(entry.key[2] as string);
  return users;
}

/** Users whose master key `signerUserId` signed at a position in `(since, upto]`. */
export async function usersSignedBetween(
  kv: Deno.Kv,
  signerUserId: string,
  range: { since: number; upto: number },
): Promise<Set<string>> {
  const users = new Set<string>();
  if (range.upto <= range.since) return users;
  const iter = kv.list<true>({
    start: [...e2eeKeys.userSignatureLog(), range.since + 1],
    end: [...e2eeKeys.userSignatureLog(), range.upto + 1],
  });
  for await (const entry of iter) {
    if (entry.key[2] === signerUserId) users.add(entry.key[3] as string);
  }
  return users;
}

/** The position of a user's latest device-list change, or null if there never was one. */
export async function deviceListHead(kv: Deno.Kv, userId: string): Promise<number | null> {
  return (await kv.get<number>(e2eeKeys.deviceListHead(userId))).value;
}
