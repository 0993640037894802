/**
 * What one event's commit writes (`event_pipeline.ts` decides, inside the room's lock, what the
 * event is: accepted, rejected, soft-failed; in the timeline, backfilled or an outlier): the
 * event record and its parts, timeline and depth entries, the references to its prev_events
 * (the extremity index), the room head, the state groups, the current-state diff with the
 * membership records it changes, relation index entries, the redaction's changes to its
 * target, the transaction ID, the outbound federation queue and the stream maximum.
 *
 * @module
 */

import {
  type RoomEvent,
  splitStateTupleKey,
  type StateMap,
  stateTupleKey,
} from "../../federation/types.ts";
import type { SearchBlock } from "../search/index.ts";
import { STREAM_META_KEY } from "../stream.ts";
import { relationMutations, relationRemovals } from "../sync/relations.ts";
import { Mutations } from "./mutations.ts";
import { encodePdu, type StoredEvent } from "./room_store.ts";
import {
  BACKFILL_COUNTER_KEY,
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

/** How an event enters the room (see `event_pipeline.ts`). */
export type Placement =
  /** A new event in the timeline at a positive stream position. */
  | "timeline"
  /** An older event, below everything in the timeline (negative position). */
  | "backfill"
  /** Known for checks only (auth chains, state of a join): no position, no state group. */
  | "outlier";

/** One entry of a current-state change: the tuple's new event (null removes it). */
export interface StateChange {
  key: string;
  event: RoomEvent | null;
}

/** What one commit changes in the room's current state. */
export interface CurrentStateUpdate {
  changes: StateChange[];
  /** The previous membership records of the changed member tuples (by user ID). */
  previous: Map<string, MembershipRecord>;
}

/** The inputs of {@link eventMutations}. */
export interface EventWrite {
  states: StateStore;
  room: RoomRecord;
  /** True when the room record is new (its first commit on this server). */
  newRoom: boolean;
  placement: Placement;
  /** Stream position (timeline), negative backfill position, or null (outliers, rejected). */
  pos: number | null;
  /** For backfill: the counter value behind `pos` (pos = -counter). */
  backfillCounter?: number;
  stateBefore: StateMap;
  groupBefore: number | null;
  groupAfter: number | null;
  /**
   * For timeline events: the room's current state group before and after the event (they
   * differ from the event's own groups when its branch is not the room's current state).
   */
  roomState?: { before: number | null; after: number };
  /** New state groups to write (the state before a merge, after the event, current state). */
  prepared: PreparedGroup[];
  rejected: string | null;
  softFailed: boolean;
  /** The new room head, when this commit changes it. */
  head: RoomHead | null;
  current: CurrentStateUpdate | null;
  redactionTarget: RedactionTarget | null;
  /** False when the server's redaction policy withholds this redaction from its target. */
  redactionApplies: boolean;
  strippedState: StrippedStateEvent[] | undefined;
  txn?: { deviceId: string; txnId: string };
  /** Outbound federation: adds the queue entries to the commit (local events only). */
  outbox?: (m: Mutations, pos: number) => void;
  /**
   * True when the event's prev_events are the room's forward extremities (a local event, a
   * remote one on the head): timeline events already admitted, which no admission asks the
   * extremity index about again, so their marks are not written.
   */
  prevsOnHead?: boolean;
}

/** What one event's commit writes and changes. */
export interface Written {
  mutations: Mutations;
  meta: EventMeta;
  membershipRecords: MembershipRecord[];
  redactedTarget: StoredEvent | null;
}

/** The one commit of an event (see `event_pipeline.ts`), and what it changes in the room. */
export function eventMutations(event: RoomEvent, w: EventWrite): Written {
  const { room, pos, stateBefore, groupBefore, groupAfter } = w;
  const roomId = room.roomId;
  const isState = event.stateKey !== undefined;
  const tuple = isState ? stateTupleKey(event.type, event.stateKey!) : null;
  const membership = event.type === "m.room.member" ? event.content.membership : undefined;
  const accepted = w.rejected === null && !w.softFailed;
  const inTimeline = w.placement !== "outlier" && accepted && pos !== null;
  const meta: EventMeta = {
    roomId,
    pos: inTimeline ? pos : null,
    depth: event.depth,
    stateGroupBefore: groupBefore ?? groupAfter,
    stateGroup: groupAfter,
    rejected: w.rejected,
    outlier: w.placement === "outlier",
    txn: w.txn ?? null,
    redactedBy: null,
    receivedTs: Date.now(),
    replacesState: tuple !== null && accepted ? stateBefore.get(tuple) ?? null : null,
  };
  if (w.softFailed) meta.softFailed = true;
  if (w.roomState && w.roomState.before !== null && w.roomState.before !== meta.stateGroupBefore) {
    meta.roomStateBefore = w.roomState.before;
  }
  if (w.roomState && w.roomState.after !== meta.stateGroup) {
    meta.roomStateAfter = w.roomState.after;
  }
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
  if (w.newRoom) m.set(roomKeys.room(roomId), room);
  for (const prepared of w.prepared) w.states.write(m, prepared);

  if (inTimeline) {
    const entry: TimelineEntry = {
      pos: pos!,
      eventId: event.eventId,
      type: event.type,
      sender: event.sender,
    };
    if (isState) entry.stateKey = event.stateKey;
    if (typeof membership === "string") entry.membership = membership;
    m.set(roomKeys.timeline(roomId, pos!), entry);
    m.set(roomKeys.depth(roomId, event.depth, event.eventId), pos!);
    for (const [key, value] of relationMutations(event, pos!)) m.set(key, value);
  }
  if (w.placement !== "outlier" && accepted && !w.prevsOnHead) {
    // The extremity index: an event some accepted event builds on is no forward extremity.
    // Only the admission of a new remote event off the head reads it (`event_commit.ts`).
    for (const prev of event.prevEvents) m.set(roomKeys.referenced(prev), null);
  }
  if (w.placement === "backfill" && w.backfillCounter !== undefined) {
    m.max(BACKFILL_COUNTER_KEY, w.backfillCounter);
  }
  if (w.head) m.set(roomKeys.head(roomId), w.head, { shared: true });

  const membershipRecords = w.current
    ? currentStateMutations(m, roomId, w.current, pos ?? w.head?.lastPos ?? 0)
    : [];

  let redactedTarget: StoredEvent | null = null;
  if (event.type === "m.room.redaction" && event.redacts !== undefined && accepted) {
    const target = w.redactionTarget;
    if (target && w.redactionApplies) {
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
    } else if (!target) {
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
  if (inTimeline && pos! > 0) {
    w.outbox?.(m, pos!);
    m.max(STREAM_META_KEY, pos!, { shared: true });
  }
  return { mutations: m, meta, membershipRecords, redactedTarget };
}

/**
 * Adds a current-state change to a write: the current-state entries and the membership
 * records of the member tuples it changes (their `pos` is where the change became current).
 */
export function currentStateMutations(
  m: Mutations,
  roomId: string,
  update: CurrentStateUpdate,
  pos: number,
): MembershipRecord[] {
  const records: MembershipRecord[] = [];
  for (const change of update.changes) {
    const [type, stateKey] = splitStateTupleKey(change.key);
    if (change.event === null) {
      m.delete(roomKeys.currentState(roomId, type, stateKey));
      continue;
    }
    const membership = type === "m.room.member" ? change.event.content.membership : undefined;
    m.set(roomKeys.currentState(roomId, type, stateKey), {
      eventId: change.event.eventId,
      ...(typeof membership === "string" ? { membership } : {}),
    });
    if (typeof membership !== "string") continue;
    const previous = update.previous.get(stateKey) ?? null;
    const record: MembershipRecord = {
      roomId,
      userId: stateKey,
      membership,
      eventId: change.event.eventId,
      pos,
      sender: change.event.sender,
      lastJoinPos: membership === "join" ? pos : previous?.lastJoinPos ?? null,
    };
    records.push(record);
    m.set(roomKeys.userRoom(stateKey, roomId), record);
  }
  return records;
}
