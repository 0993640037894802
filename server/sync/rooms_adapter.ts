/**
 * The {@link RoomSource} (and the rest of what sync needs) over the rooms store
 * (`hs.rooms`, `server/rooms/`): timelines by stream position with history visibility applied
 * (`server/rooms/visibility.ts`), state at a position, client-format events
 * (`server/client/client_event.ts`) with bundled aggregations.
 *
 * @module
 */

import { splitStateTupleKey, type StateMap } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import { clientEvents } from "../client/client_event.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { MembershipRecord, RoomHead } from "../rooms/schema.ts";
import type { MembershipChange, MembershipView } from "../e2ee/sync_fields.ts";
import { bundleAggregations } from "./relations.ts";
import { LruCache } from "../rooms/lru.ts";
import { localListenersOf } from "./positions.ts";
import { readHeads, scanVisible, stateAtPosition } from "./room_reader.ts";
import { RECENT_ENTRIES, recentTimelines } from "./recent_timeline.ts";
import {
  type ClientEvent,
  type EventPage,
  type MembershipEntry,
  type RoomSource,
  stateKeyOf,
  type SyncEvent,
} from "./room_source.ts";
import type { SyncRoomsAccess } from "./sync_response.ts";

const accessors = new WeakMap<Homeserver, SyncRoomsAccess>();

/** The room access of a server (created on first use). */
export function roomsAccess(hs: Homeserver): SyncRoomsAccess {
  let access = accessors.get(hs);
  if (!access) accessors.set(hs, access = createAccess(hs));
  return access;
}

/** Formats stored events for a viewer, with bundled aggregations. */
export async function formatEvents(
  hs: Homeserver,
  stored: readonly StoredEvent[],
  viewer: { userId: string; deviceId?: string },
): Promise<ClientEvent[]> {
  const events = await clientEvents(hs.rooms, stored, viewer) as unknown as ClientEvent[];
  await bundleAggregations(hs, events, viewer.userId);
  return events;
}

/** Users whose membership records stay in memory between their syncs. */
const CACHED_USER_ROOMS = 10_000;
/** Rooms whose latest head read is kept for syncs that start at the same position. */
const SHARED_HEAD_READS = 10_000;

/** A room's head as read once the stream's visible position was `visible`. */
interface HeadRead {
  visible: number;
  head: Promise<RoomHead | null>;
}

/**
 * Reads room heads for syncs that need every change up to a visible position: the read of a
 * room started once that position was visible is shared (a message wakes every member's sync
 * at the same position, and one read of the head serves them all); the others are read in
 * batches.
 */
function sharedHeadReader(
  hs: Homeserver,
): (roomIds: readonly string[], visible: number) => Promise<Map<string, RoomHead | null>> {
  const reads = new LruCache<string, HeadRead>(SHARED_HEAD_READS);
  return async (roomIds, visible) => {
    const pending: [string, Promise<RoomHead | null>][] = [];
    const missing: string[] = [];
    for (const roomId of roomIds) {
      const read = reads.get(roomId);
      if (read && read.visible >= visible) pending.push([roomId, read.head]);
      else missing.push(roomId);
    }
    // Reads issued from here on see every commit up to the current visible position.
    const now = hs.stream.visiblePosition;
    for (let i = 0; i < missing.length; i += 10) {
      const slice = missing.slice(i, i + 10);
      const batch = readHeads(hs, slice);
      for (const roomId of slice) {
        const head = batch.then((heads) => heads.get(roomId) ?? null);
        const read = { visible: now, head };
        reads.set(roomId, read);
        // A failed read is not kept: the next sync reads again.
        head.catch(() => {
          if (reads.get(roomId) === read) reads.delete(roomId);
        });
        pending.push([roomId, head]);
      }
    }
    const out = new Map<string, RoomHead | null>();
    for (const [roomId, head] of pending) out.set(roomId, await head);
    return out;
  };
}

function createAccess(hs: Homeserver): SyncRoomsAccess {
  const rooms = hs.rooms;
  // Valid while the notifier's membership serial of the user is unchanged. Forgetting a room
  // does not change it, so only incremental syncs use the copy (a forgotten room they show
  // is one whose leave they report).
  const userRoomsCache = new LruCache<string, { serial: number; records: MembershipRecord[] }>(
    CACHED_USER_ROOMS,
  );
  const sharedHeads = sharedHeadReader(hs);

  async function stateEvents(state: StateMap): Promise<Map<string, ClientEvent>> {
    const stored = await rooms.events(state.values());
    const list = [...state.values()].map((id) => stored.get(id)).filter((e) => e !== undefined);
    const formatted = await clientEvents(rooms, list) as unknown as ClientEvent[];
    const out = new Map<string, ClientEvent>();
    for (const event of formatted) out.set(stateKeyOf(event.type, event.state_key ?? ""), event);
    return out;
  }

  const source: RoomSource = {
    async memberships(userId) {
      const records = await rooms.roomsOfUser(userId);
      return records.filter((r) => !r.forgotten).map((r) => ({
        roomId: r.roomId,
        membership: r.membership as MembershipEntry["membership"],
        pos: r.pos,
        eventId: r.eventId,
        record: r,
      }));
    },

    async events(roomId, range): Promise<EventPage> {
      const out: SyncEvent[] = [];
      let limited = false;
      const truncated = await scanVisible(
        hs,
        roomId,
        { ...range, firstBatch: range.limit + 1 },
        async (visible) => {
          const formatted = await formatEvents(hs, visible, {
            userId: range.userId,
            deviceId: range.deviceId,
          });
          for (let i = 0; i < visible.length; i++) {
            const event = formatted[i];
            if (range.accept && !range.accept(event)) continue;
            if (out.length === range.limit) {
              limited = true;
              return true;
            }
            out.push({ pos: visible[i].meta.pos!, event });
          }
          return false;
        },
      );
      if (range.newest) out.reverse();
      return { events: out, limited: limited || truncated };
    },

    async stateAt(roomId, pos) {
      return await stateEvents((await stateAtPosition(hs, roomId, { pos })).state);
    },

    async currentState(roomId) {
      return await stateEvents(await rooms.currentStateMap(roomId));
    },

    async strippedState(_roomId, membershipEventId) {
      const stored = await rooms.event(membershipEventId);
      if (!stored) return [];
      const own = {
        type: stored.event.type,
        state_key: stored.event.stateKey ?? "",
        sender: stored.event.sender,
        content: stored.event.content,
        event_id: stored.event.eventId,
        origin_server_ts: stored.event.originServerTs,
      };
      const stripped = (stored.meta.strippedState ?? []) as unknown as Record<string, unknown>[];
      return [...stripped, own];
    },

    async event(eventId) {
      const stored = await rooms.event(eventId);
      if (!stored || stored.meta.pos === null) return null;
      const [event] = await formatEvents(hs, [stored], { userId: "" });
      return { pos: stored.meta.pos, event };
    },

    joinedMembers: (roomId) => rooms.members(roomId),
  };

  /**
   * Membership changes in `(since, upto]` in the rooms of `mine` that the user is joined to
   * or whose membership changed in the range, given those rooms' heads.
   */
  async function membershipChangesIn(
    mine: readonly MembershipRecord[],
    heads: ReadonlyMap<string, RoomHead | null>,
    range: { since: number; upto: number },
  ): Promise<MembershipChange[]> {
    const changes: MembershipChange[] = [];
    for (const m of mine) {
      if (m.membership !== "join" && m.pos <= range.since) continue;
      if ((heads.get(m.roomId)?.lastPos ?? 0) <= range.since) continue;
      const recent = await recentTimelines(hs).between(m.roomId, {
        after: range.since,
        upto: range.upto,
        max: RECENT_ENTRIES,
      });
      if (recent) {
        for (const entry of recent) {
          if (entry.type === "m.room.member" && entry.membership && entry.stateKey) {
            changes.push({
              roomId: m.roomId,
              userId: entry.stateKey,
              membership: entry.membership,
            });
          }
        }
        continue;
      }
      let from = range.since;
      while (true) {
        const entries = await rooms.timeline(m.roomId, {
          dir: "f",
          from,
          to: range.upto,
          limit: 200,
        });
        for (const entry of entries) {
          if (entry.type === "m.room.member" && entry.membership && entry.stateKey) {
            changes.push({
              roomId: m.roomId,
              userId: entry.stateKey,
              membership: entry.membership,
            });
          }
        }
        if (entries.length < 200) break;
        from = entries[entries.length - 1].pos;
      }
    }
    return changes;
  }

  const membershipView: MembershipView = {
    joinedRooms: (userId) => rooms.joinedRooms(userId),
    joinedMembers: (roomId) => rooms.members(roomId),
    async membershipChanges(userId, range) {
      const mine = (await rooms.roomsOfUser(userId)).filter((m) =>
        m.membership === "join" || m.pos > range.since
      );
      const heads = await readHeads(hs, mine.map((m) => m.roomId));
      return await membershipChangesIn(mine, heads, range);
    },
  };

  return {
    source,
    membershipView,
    async userRooms(userId, options = {}) {
      const serial = hs.notifier?.membershipSerial(userId);
      if (options.cached && serial !== undefined) {
        const hit = userRoomsCache.get(userId);
        if (hit && hit.serial === serial) return hit.records;
      }
      const records = await rooms.roomsOfUser(userId);
      if (serial !== undefined && hs.notifier.membershipSerial(userId) === serial) {
        userRoomsCache.set(userId, { serial, records });
      }
      return records;
    },
    heads: (roomIds, options = {}) =>
      options.visible === undefined
        ? readHeads(hs, roomIds)
        : sharedHeads(roomIds, options.visible),
    syncMembershipView(userId, read) {
      // The requester's rooms and their heads were read by the sync already.
      return {
        ...membershipView,
        joinedRooms: (other) =>
          other === userId
            ? Promise.resolve(
              read.records.filter((m) => m.membership === "join").map((m) => m.roomId),
            )
            : rooms.joinedRooms(other),
        async membershipChanges(other, range) {
          if (other !== userId) return await membershipView.membershipChanges(other, range);
          const mine = read.records.filter((m) => m.membership === "join" || m.pos > range.since);
          const missing = mine.filter((m) => !read.heads.has(m.roomId)).map((m) => m.roomId);
          const heads = missing.length === 0
            ? read.heads
            : new Map([...read.heads, ...await readHeads(hs, missing)]);
          return await membershipChangesIn(mine, heads, range);
        },
      };
    },
    async usersSharingRoomsWith(userId) {
      const users = new Set<string>([userId]);
      for (const roomId of await rooms.joinedRooms(userId)) {
        for (const other of localListenersOf(hs, roomId)) users.add(other);
      }
      return users;
    },
  };
}

/** Turns an engine state map key into the sync side's key (tests and tools). */
export function syncStateKey(tupleKey: string): string {
  const [type, stateKey] = splitStateTupleKey(tupleKey);
  return stateKeyOf(type, stateKey);
}
