/**
 * The E2EE parts of `/sync` (`to_device`, `device_lists`, `device_one_time_keys_count`,
 * `device_unused_fallback_key_types`) and `GET /keys/changes`, computed from the E2EE store
 * and the rooms' membership between two stream positions.
 *
 * @module
 */

import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { oneTimeKeyCounts, unusedFallbackKeyTypes } from "./device_keys.ts";
import { usersChangedBetween, usersSignedBetween } from "./device_lists.ts";
import { visiblePosition } from "./positions.ts";
import { latestDeviceListWrite } from "./sync_memory.ts";
import { type ToDeviceEvent, toDeviceForSync } from "./to_device.ts";

/** A membership change in a room, as the rooms store reports it. */
export interface MembershipChange {
  roomId: string;
  userId: string;
  /** The new membership: `join`, `leave`, `ban`, `invite`, `knock`. */
  membership: string;
}

/** What the device-list computation needs to know about rooms. */
export interface MembershipView {
  /** Rooms the user is joined to now. */
  joinedRooms(userId: string): Promise<readonly string[]>;
  /** Users joined to a room now. */
  joinedMembers(roomId: string): Promise<readonly string[]>;
  /**
   * Membership changes at positions in `(since, upto]` in the rooms `userId` is joined to now
   * or was joined to during the range (its own joins and leaves included).
   */
  membershipChanges(
    userId: string,
    range: { since: number; upto: number },
  ): Promise<readonly MembershipChange[]>;
}

/**
 * The view of a server without rooms (or before the rooms store is wired in): the requester
 * shares no room with anyone, so only its own changes are reported.
 */
export const NO_ROOMS: MembershipView = {
  joinedRooms: () => Promise.resolve([]),
  joinedMembers: () => Promise.resolve([]),
  membershipChanges: () => Promise.resolve([]),
};

/** The `device_lists` of a sync response or `/keys/changes`. */
export interface DeviceLists {
  changed: string[];
  left: string[];
}

/**
 * Users whose device lists the requester must refresh between two positions:
 * `changed` = users sharing a room with the requester (and the requester) whose devices or
 * cross-signing keys changed, plus users who newly share a room (a join by them, or by the
 * requester into their room); `left` = users who no longer share any room after a leave.
 */
export async function deviceListsBetween(
  hs: Homeserver,
  userId: string,
  range: { since: number; upto: number; rooms: MembershipView },
): Promise<DeviceLists> {
  const { rooms } = range;
  const changed = new Set<string>();
  const left = new Set<string>();
  if (range.upto <= range.since) return { changed: [], left: [] };
  const myRooms = new Set(await rooms.joinedRooms(userId));
  const sharesRoom = async (other: string) => {
    if (other === userId) return true;
    for (const roomId of await rooms.joinedRooms(other)) if (myRooms.has(roomId)) return true;
    return false;
  };

  // The logs are read only when something may have been written to them above `since`.
  const seesAll = hs.notifier?.seesAllAfter(range.since) ?? false;
  const written = (stream: "device_lists" | "signatures") =>
    !seesAll || latestDeviceListWrite(hs.kv, stream) > range.since;
  const candidates = written("device_lists")
    ? await usersChangedBetween(hs.kv, range)
    : new Set<string>();
  for (const other of candidates) if (await sharesRoom(other)) changed.add(other);
  // Keys this user signed: their clients re-fetch them to see the signature.
  if (written("signatures")) {
    for (const other of await usersSignedBetween(hs.kv, userId, range)) changed.add(other);
  }

  // Membership changes in the rooms the requester is in, or was in during the range.
  const changes = await rooms.membershipChanges(userId, range);
  const leftRooms = new Set<string>();
  for (const change of changes) {
    if (change.userId === userId) {
      if (change.membership === "join") {
        for (const member of await rooms.joinedMembers(change.roomId)) changed.add(member);
      } else if (change.membership === "leave" || change.membership === "ban") {
        leftRooms.add(change.roomId);
      }
    } else if (change.membership === "join") {
      changed.add(change.userId);
    } else if (change.membership === "leave" || change.membership === "ban") {
      if (!(await sharesRoom(change.userId))) left.add(change.userId);
    }
  }
  for (const roomId of leftRooms) {
    if (myRooms.has(roomId)) continue;
    for (const member of await rooms.joinedMembers(roomId)) {
      if (!(await sharesRoom(member))) left.add(member);
    }
  }
  for (const user of left) changed.delete(user);
  return { changed: [...changed], left: [...left] };
}

/** The E2EE fields of one sync response, and the to-device position reached. */
export interface E2eeSyncFields {
  to_device: { events: ToDeviceEvent[] };
  device_lists?: DeviceLists;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
  /** The to-device position the next `since` covers (less than `upto` when truncated). */
  toDeviceReached: number;
}

/**
 * Computes the E2EE fields of a sync response for one device.
 *
 * @param range.since the position of the request's `since` (null for an initial sync), and
 *   `toDeviceSince` when the token carries a separate to-device position
 * @param range.upto the position the response's `next_batch` stands for
 */
export async function e2eeSyncFields(
  hs: Homeserver,
  device: { userId: string; deviceId: string },
  range: {
    since: number | null;
    toDeviceSince?: number | null;
    upto: number;
    rooms: MembershipView;
  },
): Promise<E2eeSyncFields> {
  const toDeviceSince = range.toDeviceSince !== undefined ? range.toDeviceSince : range.since;
  const [toDevice, counts, fallback, lists] = await Promise.all([
    toDeviceForSync(hs.kv, device, { since: toDeviceSince, upto: range.upto }),
    oneTimeKeyCounts(hs.kv, device),
    unusedFallbackKeyTypes(hs.kv, device),
    range.since === null ? undefined : deviceListsBetween(hs, device.userId, {
      since: range.since,
      upto: range.upto,
      rooms: range.rooms,
    }),
  ]);
  return {
    to_device: { events: toDevice.events },
    ...(lists ? { device_lists: lists } : {}),
    device_one_time_keys_count: counts,
    device_unused_fallback_key_types: fallback,
    toDeviceReached: toDevice.reached,
  };
}

/** Reads a stream position out of a sync token (the leading integer of `s<pos>...`). */
export function streamPositionOf(token: string): number | null {
  const match = /^s?(\d{1,15})(?:$|[^0-9])/.exec(token);
  return match ? Number(match[1]) : null;
}

/**
 * `GET /keys/changes`: the users whose device lists changed between two sync tokens.
 *
 * @throws {MatrixError} M_INVALID_PARAM for tokens that are not sync tokens
 */
export async function keyChanges(
  hs: Homeserver,
  userId: string,
  range: { from: string; to: string; rooms?: MembershipView },
): Promise<DeviceLists> {
  const from = streamPositionOf(range.from);
  const to = streamPositionOf(range.to);
  if (from === null || to === null) throw invalidParam("'from' and 'to' must be sync tokens");
  const upto = Math.min(to, await visiblePosition(hs));
  const rooms = range.rooms ?? NO_ROOMS;
  return await deviceListsBetween(hs, userId, { since: from, upto, rooms });
}
