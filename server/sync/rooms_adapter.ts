/**
 * The {@link RoomSource} (and the rest of what sync needs) over the rooms store
 * (`hs.rooms`, `server/rooms/`): timelines by stream position with history visibility applied
 * (`server/rooms/visibility.ts`), state at a position, client-format events
 * (`server/client/client_event.ts`) with bundled aggregations.
 *
 * @module
 */

import { roomVersion } from "../../federation/room_versions.ts";
import { splitStateTupleKey, type StateMap } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import { clientEvents } from "../client/client_event.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { type RoomHead, roomKeys } from "../rooms/schema.ts";
import { filterVisibleEvents } from "../rooms/visibility.ts";
import type { MembershipChange, MembershipView } from "../e2ee/sync_fields.ts";
import { bundleAggregations } from "./relations.ts";
import { localListenersOf } from "./positions.ts";
import {
  type ClientEvent,
  type EventPage,
  type MembershipEntry,
  type RoomSource,
  stateKeyOf,
  type SyncEvent,
} from "./room_source.ts";
import type { SyncRoomsAccess } from "./sync_response.ts";

/** Timeline entries read per batch while looking for visible, matching events. */
const SCAN_BATCH = 50;
/** Most timeline entries one page looks at (a filter that matches little stops here). */
const MAX_SCAN = 5000;

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

function createAccess(hs: Homeserver): SyncRoomsAccess {
  const rooms = hs.rooms;

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
      }));
    },

    async events(roomId, range): Promise<EventPage> {
      const out: SyncEvent[] = [];
      const membership = await rooms.membership(roomId, range.userId);
      let cursor = range.newest ? range.upto + 1 : range.after;
      let scanned = 0;
      let limited = false;
      while (scanned < MAX_SCAN) {
        const entries = range.newest
          ? await rooms.timeline(roomId, {
            dir: "b",
            from: cursor,
            to: range.after + 1,
            limit: SCAN_BATCH,
          })
          : await rooms.timeline(roomId, {
            dir: "f",
            from: cursor,
            to: range.upto,
            limit: SCAN_BATCH,
          });
        if (entries.length === 0) break;
        scanned += entries.length;
        cursor = entries[entries.length - 1].pos;
        const loaded = await rooms.events(entries.map((e) => e.eventId));
        const ordered = entries.map((e) => loaded.get(e.eventId)).filter((e) => e !== undefined);
        const allowed = new Set(
          await filterVisibleEvents(rooms, range.userId, ordered, { membership }),
        );
        // A user always sees their own membership events (a rejected invite, a ban while
        // invited), or a room would leave their sync without a trace.
        const visible = ordered.filter((e) =>
          allowed.has(e) ||
          (e.event.type === "m.room.member" && e.event.stateKey === range.userId &&
            e.meta.rejected === null && !e.meta.outlier)
        );
        const formatted = await formatEvents(hs, visible, {
          userId: range.userId,
          deviceId: range.deviceId,
        });
        for (let i = 0; i < visible.length; i++) {
          const event = formatted[i];
          if (range.accept && !range.accept(event)) continue;
          if (out.length === range.limit) {
            limited = true;
            break;
          }
          out.push({ pos: visible[i].meta.pos!, event });
        }
        if (limited || entries.length < SCAN_BATCH) break;
      }
      if (scanned >= MAX_SCAN && !limited) limited = true;
      if (range.newest) out.reverse();
      return { events: out, limited };
    },

    async stateAt(roomId, pos) {
      const [last] = await rooms.timeline(roomId, { dir: "b", from: pos + 1, limit: 1 });
      if (!last) return new Map();
      const state = await rooms.stateAfter(last.eventId);
      return state ? await stateEvents(state) : new Map();
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

  const membershipView: MembershipView = {
    joinedRooms: (userId) => rooms.joinedRooms(userId),
    joinedMembers: (roomId) => rooms.members(roomId),
    async membershipChanges(userId, range) {
      const changes: MembershipChange[] = [];
      const mine = (await rooms.roomsOfUser(userId)).filter((m) =>
        m.membership === "join" || m.pos > range.since
      );
      const last = await lastPositions(mine.map((m) => m.roomId));
      for (const m of mine) {
        if ((last.get(m.roomId) ?? 0) <= range.since) continue;
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
    },
  };

  async function lastPositions(roomIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < roomIds.length; i += 10) {
      const slice = roomIds.slice(i, i + 10);
      const heads = await hs.kv.getMany<RoomHead[]>(slice.map((id) => roomKeys.head(id)));
      heads.forEach((head, j) => out.set(slice[j], head.value?.lastPos ?? 0));
    }
    return out;
  }

  return {
    source,
    membershipView,
    lastPositions,
    async usersSharingRoomsWith(userId) {
      const users = new Set<string>([userId]);
      for (const roomId of await rooms.joinedRooms(userId)) {
        for (const other of localListenersOf(hs, roomId)) users.add(other);
      }
      return users;
    },
    powerLevelOf,
  };
}

/** A user's power level in a (client-format) state map, v12 creators included. */
export function powerLevelOf(state: Map<string, ClientEvent>, userId: string): number {
  const create = state.get(stateKeyOf("m.room.create", ""));
  const rules = roomVersion(String(create?.content.room_version ?? "1"));
  if (create && rules) {
    const creators = rules.createHasCreator ? [create.content.creator] : [
      create.sender,
      ...(Array.isArray(create.content.additional_creators)
        ? create.content.additional_creators
        : []),
    ];
    if (rules.privilegedCreators && creators.includes(userId)) return Infinity;
    const pl = state.get(stateKeyOf("m.room.power_levels", ""));
    if (!pl) return creators.includes(userId) ? 100 : 0;
  }
  const content = state.get(stateKeyOf("m.room.power_levels", ""))?.content ?? {};
  const users = content.users as Record<string, unknown> | undefined;
  const level = Number(users?.[userId] ?? content.users_default ?? 0);
  return Number.isFinite(level) ? level : 0;
}

/** Turns an engine state map key into the sync side's key (tests and tools). */
export function syncStateKey(tupleKey: string): string {
  const [type, stateKey] = splitStateTupleKey(tupleKey);
  return stateKeyOf(type, stateKey);
}
