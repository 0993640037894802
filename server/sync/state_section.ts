/**
 * Choosing the state section of a room (spec: "Syncing", "Lazy-loading room members"): which
 * state entries a sync sends, picked by key from state maps before any event is loaded, and
 * what each sent event is for the lazy-loading record (`lazy_members.ts`).
 *
 * @module
 */

import { splitStateTupleKey, type StateMap, stateTupleKey } from "../../federation/types.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { type FilterableEvent, type RoomEventFilter, typeAllowed } from "./filter.ts";
import type { StateItemRef } from "./lazy_members.ts";
import type { TimelineItem } from "./room_reader.ts";

const MEMBER_TYPE = "m.room.member";

/** What a state event of a section is about, for the lazy-loading record. */
export function stateRef(stored: StoredEvent): StateItemRef {
  const { event } = stored;
  if (event.type !== MEMBER_TYPE || event.stateKey === undefined) {
    return { member: null, eventId: event.eventId };
  }
  const membership = event.content.membership;
  return {
    member: event.stateKey,
    eventId: event.eventId,
    membership: typeof membership === "string" ? membership : undefined,
  };
}

/** The member events of a timeline, as (member, event ID). */
export function timelineMembers(stored: Iterable<StoredEvent>): [string, string][] {
  const out: [string, string][] = [];
  for (const { event } of stored) {
    if (event.type === MEMBER_TYPE && event.stateKey !== undefined) {
      out.push([event.stateKey, event.eventId]);
    }
  }
  return out;
}

/** A stored event as the filters see it (redacted content is empty for them). */
export function filterView(stored: StoredEvent): FilterableEvent {
  const { event, meta } = stored;
  return {
    type: event.type,
    sender: event.sender,
    room_id: event.roomId,
    content: meta.redactedBy !== null ? {} : event.content,
  };
}

/**
 * Picks the state to send, by key, from the state the section leads to: the state at the start
 * of the timeline for `state`, at its end for `state_after`. Returns the event IDs to send, and
 * (with lazy loading) the senders' member events that skip the state filter.
 */
export function selectState(
  filter: RoomEventFilter,
  userId: string,
  options: {
    /** The state the client should hold once it applied the section. */
    target: StateMap;
    /** The state at `since` (null: everything counts as changed). */
    since: StateMap | null;
    timeline: readonly TimelineItem[];
    full: boolean;
  },
): { filtered: string[]; extra: string[] } {
  const lazy = filter.lazyLoadMembers;
  const senders = new Set<string>();
  for (const { stored } of options.timeline) {
    senders.add(stored.event.sender);
    // Members named by state events in the timeline are shown with them.
    if (stored.event.type === MEMBER_TYPE && stored.event.stateKey) {
      senders.add(stored.event.stateKey);
    }
  }
  const filtered: string[] = [];
  const chosen = new Set<string>();
  // The same map at both ends (an unlimited timeline's start, or a range without state
  // changes): nothing changed, and the scan is skipped.
  const unchanged = !options.full && options.since === options.target;
  for (const [key, eventId] of unchanged ? [] : options.target) {
    const changed = options.since === null || options.since.get(key) !== eventId;
    if (!options.full && !changed) continue;
    const [type, stateKey] = splitStateTupleKey(key);
    if (!typeAllowed(filter, type)) continue;
    if (lazy && type === MEMBER_TYPE) {
      // Members changed in the gap are always sent; otherwise only the timeline's senders
      // (and, with full state, the user's own membership).
      const wanted = senders.has(stateKey) || (options.full && stateKey === userId) ||
        (!options.full && changed);
      if (!wanted) continue;
    }
    filtered.push(eventId);
    chosen.add(eventId);
  }
  const extra: string[] = [];
  if (lazy && !options.full) {
    // Senders whose membership did not change in the gap may still be unknown to the client.
    for (const sender of senders) {
      const eventId = options.target.get(stateTupleKey(MEMBER_TYPE, sender));
      if (eventId !== undefined && !chosen.has(eventId)) extra.push(eventId);
    }
  }
  return { filtered, extra };
}
