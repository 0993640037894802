/**
 * What one event's commit writes (`event_pipeline.ts` builds it inside the room's lock): the
 * event record and its parts, timeline and depth entries, the room head, the state group and
 * current-state entry (state events), the membership record (member events), relation index
 * entries, the redaction's changes to its target (mark, relation entries, search postings), the
 * transaction ID and the stream maximum.
 *
 * @module
 */

import { type RoomEvent, type StateMap, stateTupleKey } from "../../federation/types.ts";
import type { SearchBlock } from "../search/index.ts";
import { STREAM_META_KEY } from "../stream.ts";
import { relationMutations, relationRemovals } from "../sync/relations.ts";
import { Mutations } from "./mutations.ts";
import type { RoomContext } from "./room_cache.ts";
import { encodePdu, type StoredEvent } from "./room_store.ts";
import {
  type EventMeta,
  type EventRecord,
  type MembershipRecord,
  type RoomHead,
  roomKeys,
  type RoomRecord,
  type StrippedStateEvent,
  type TimelineEntry,
  TXN_TTL_MS,
} from "./schema.ts";
import type { PreparedGroup, StateStore } from "./state_store.ts";

/** The event a redaction redacts, and the index writes that take its text out. */
export interface RedactionTarget {
  stored: StoredEvent;
  record: EventRecord;
  search: { set: [Deno.KvKey, SearchBlock][]; remove: Deno.KvKey[] };
}

/** What one event's commit writes and changes. */
export interface Written {
  mutations: Mutations;
  head: RoomHead;
  extremities: RoomEvent[];
  meta: EventMeta;
  membershipRecord: MembershipRecord | null;
  redactedTarget: StoredEvent | null;
}

/**
 * The one commit of an event (see `event_pipeline.ts`), and what it changes in the room.
 */
export function eventMutations(
  ctx: RoomContext | null,
  event: RoomEvent,
  w: {
    states: StateStore;
    room: RoomRecord;
    pos: number;
    stateBefore: StateMap;
    stateAfter: StateMap;
    groupBefore: number | null;
    groupAfter: number;
    prepared: PreparedGroup | null;
    previousMembership: MembershipRecord | null;
    redactionTarget: RedactionTarget | null;
    strippedState: StrippedStateEvent[] | undefined;
    txn?: { deviceId: string; txnId: string };
  },
): Written {
  const { room, pos, stateBefore, groupBefore, groupAfter, prepared } = w;
  const roomId = room.roomId;
  const isState = event.stateKey !== undefined;
  const tuple = isState ? stateTupleKey(event.type, event.stateKey!) : null;
  const membership = event.type === "m.room.member" ? event.content.membership : undefined;
  const meta: EventMeta = {
    roomId,
    pos,
    depth: event.depth,
    stateGroupBefore: groupBefore ?? groupAfter,
    stateGroup: groupAfter,
    rejected: null,
    outlier: false,
    txn: w.txn ?? null,
    redactedBy: null,
    receivedTs: Date.now(),
    replacesState: tuple !== null ? stateBefore.get(tuple) ?? null : null,
  };
  if (w.strippedState) meta.strippedState = w.strippedState;
  const m = new Mutations();
  const encoded = encodePdu(event);
  const record: EventRecord = { meta, pdu: encoded.pdu, parts: encoded.parts.length };
  m.set(roomKeys.event(event.eventId), record, {
    sizeHint: (encoded.pdu?.length ?? 0) * 2 + 1024,
  });
  encoded.parts.forEach((part, i) => {
    m.set(roomKeys.eventPart(event.eventId, i), part, { sizeHint: part.length * 2 + 8 });
  });
  const entry: TimelineEntry = {
    pos,
    eventId: event.eventId,
    type: event.type,
    sender: event.sender,
  };
  if (isState) entry.stateKey = event.stateKey;
  if (typeof membership === "string") entry.membership = membership;
  m.set(roomKeys.timeline(roomId, pos), entry);
  m.set(roomKeys.depth(roomId, event.depth, event.eventId), pos);
  for (const [key, value] of relationMutations(event, pos)) m.set(key, value);

  const prevIds = new Set(event.prevEvents);
  const extremities = [
    ...(ctx?.extremities ?? []).filter((e) => !prevIds.has(e.eventId)),
    event,
  ];
  const head: RoomHead = {
    extremities: extremities.map((e) => e.eventId),
    stateGroup: groupAfter,
    lastPos: pos,
    maxDepth: Math.max(ctx?.head.maxDepth ?? 0, event.depth),
  };
  m.set(roomKeys.head(roomId), head, { shared: true });
  if (!ctx) m.set(roomKeys.room(roomId), room);

  if (prepared) {
    w.states.write(m, prepared);
    m.set(roomKeys.currentState(roomId, event.type, event.stateKey!), {
      eventId: event.eventId,
      ...(typeof membership === "string" ? { membership } : {}),
    });
  }
  let membershipRecord: MembershipRecord | null = null;
  if (typeof membership === "string") {
    membershipRecord = {
      roomId,
      userId: event.stateKey!,
      membership,
      eventId: event.eventId,
      pos,
      sender: event.sender,
      lastJoinPos: membership === "join" ? pos : w.previousMembership?.lastJoinPos ?? null,
    };
    m.set(roomKeys.userRoom(event.stateKey!, roomId), membershipRecord);
  }
  let redactedTarget: StoredEvent | null = null;
  if (event.type === "m.room.redaction" && event.redacts !== undefined) {
    const target = w.redactionTarget;
    if (target) {
      const targetMeta = { ...target.record.meta, redactedBy: event.eventId };
      m.set(roomKeys.event(event.redacts), { ...target.record, meta: targetMeta }, {
        sizeHint: (target.record.pdu?.length ?? 0) * 2 + 1024,
      });
      redactedTarget = { ...target.stored, meta: targetMeta };
      const { event: targetEvent, meta: { pos: targetPos } } = target.stored;
      if (targetPos !== null) {
        for (const key of relationRemovals(targetEvent, targetPos)) m.delete(key);
      }
      for (const key of target.search.remove) m.delete(key);
      for (const [key, block] of target.search.set) m.set(key, block);
    } else {
      m.set(roomKeys.pendingRedaction(event.redacts, event.eventId), null);
    }
  }
  if (w.txn) {
    m.set(
      roomKeys.txn(event.sender, w.txn.deviceId, roomId, w.txn.txnId),
      { eventId: event.eventId, createdTs: meta.receivedTs },
      { expireIn: TXN_TTL_MS },
    );
  }
  m.max(STREAM_META_KEY, pos, { shared: true });
  return { mutations: m, head, extremities, meta, membershipRecord, redactedTarget };
}
