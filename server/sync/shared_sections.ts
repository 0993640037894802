/**
 * The per-room part of an incremental sync that is the same for every member: after a message
 * in a room of 500 members, 500 long-polls wake with the same token and the same filter and
 * would each read, check and format the same events. The first of them computes the timeline
 * and state sections once, without a viewer; the others reuse them.
 *
 * Only a joined member whose join is at or before `since` takes this path: every event after
 * `since` then comes after their join, so history visibility lets them see it without a state
 * lookup (`room_reader.ts`). A computation that met any other event (rejected, an outlier, one
 * without a state group) is not shared, and every member computes their own sections.
 *
 * What depends on the viewer is redone per member, from the stored event: events the member
 * sent (`unsigned.transaction_id` for the sending device), member events about the member
 * (`invite_room_state`), events with a bundled thread (`current_user_participated`) and
 * redacted events (their `redacted_because` may be the member's own redaction).
 * Entries are keyed by room, `since`, `upto`, the kind of state section (`state` or
 * `state_after`) and the filter's effect on the sections, and live one second (their
 * `unsigned.age` is that old at most).
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { SyncFilter } from "./filter.ts";
import type { StateItemRef } from "./lazy_members.ts";
import type { ClientEvent } from "./room_source.ts";

/** How long a shared section stays usable. */
export const SHARED_SECTION_MS = 1000;
/** Most entries kept per server (each is one room between two positions). */
const MAX_ENTRIES = 256;

/** One timeline event of a shared section. */
export interface SharedTimelineItem {
  stored: StoredEvent;
  /** The event formatted without a viewer, with the filter's `event_fields` applied. */
  event: Record<string, unknown>;
  /** Whether the formatted event has a bundled thread (whose flags depend on the viewer). */
  threaded: boolean;
}

/** The timeline and state sections of one room between two positions, for any member. */
export interface SharedSections {
  timeline: SharedTimelineItem[];
  limited: boolean;
  prevBatch: string;
  /** The state section's events (formatted, projected); shared, never to be changed. */
  state: readonly Record<string, unknown>[];
  /** What each event of `state` is (its member, its ID), for the lazy-loading record. */
  stateRefs: readonly StateItemRef[];
  hasNews: boolean;
}

interface Entry {
  at: number;
  sections: Promise<SharedSections | null>;
}

const caches = new WeakMap<Homeserver, Map<string, Entry>>();
const filterKeys = new WeakMap<SyncFilter, string>();

/** What of a filter shapes the timeline and state sections (its compiled matchers aside). */
export function sectionFilterKey(filter: SyncFilter): string {
  let key = filterKeys.get(filter);
  if (key === undefined) {
    key = JSON.stringify([
      filter.eventFields ?? null,
      filter.eventFormat,
      filter.room.timeline,
      filter.room.state,
    ]);
    filterKeys.set(filter, key);
  }
  return key;
}

function cacheOf(hs: Homeserver): Map<string, Entry> {
  let cache = caches.get(hs);
  if (!cache) caches.set(hs, cache = new Map());
  return cache;
}

/**
 * The shared sections of `roomId` in `(since, upto]` for `filter`, computed by `compute` when
 * no fresh entry exists (concurrent callers share one computation). `compute` returns null
 * when its result may not be shared; every caller then computes its own.
 */
export function sharedSections(
  hs: Homeserver,
  where: {
    roomId: string;
    since: number;
    upto: number;
    filter: SyncFilter;
    /** Whether the state section is `state_after` (it leads to the timeline's end). */
    stateAfter: boolean;
  },
  compute: () => Promise<SharedSections | null>,
): Promise<SharedSections | null> {
  const cache = cacheOf(hs);
  const key = `${where.roomId}\n${where.since}\n${where.upto}\n${
    where.stateAfter ? "after" : "before"
  }\n${sectionFilterKey(where.filter)}`;
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && now - hit.at < SHARED_SECTION_MS) return hit.sections;
  if (hit) cache.delete(key);
  // Entries are kept in insertion order, which is the order they expire in: drop the expired
  // ones at the front now rather than only when the map is full.
  for (const [k, entry] of cache) {
    if (now - entry.at < SHARED_SECTION_MS) break;
    cache.delete(k);
  }
  if (cache.size >= MAX_ENTRIES) {
    // Drop what has expired, then the oldest (a Map iterates in insertion order).
    for (const [k, entry] of cache) if (now - entry.at >= SHARED_SECTION_MS) cache.delete(k);
    while (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  }
  const sections = compute();
  cache.set(key, { at: now, sections });
  // A failed computation is not kept: the next caller tries again.
  sections.catch(() => {
    if (cache.get(key)?.sections === sections) cache.delete(key);
  });
  return sections;
}

/** Whether a viewer-free formatted event needs formatting again for `userId`. */
export function personalFor(item: SharedTimelineItem, userId: string): boolean {
  const { event, meta } = item.stored;
  return item.threaded || event.sender === userId || event.stateKey === userId ||
    meta.redactedBy !== null;
}

/** Whether a formatted event carries a bundled thread. */
export function hasThread(event: ClientEvent): boolean {
  const relations = event.unsigned?.["m.relations"] as Record<string, unknown> | undefined;
  return relations?.["m.thread"] !== undefined;
}
