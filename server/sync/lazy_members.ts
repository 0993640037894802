/**
 * Lazy-loaded members a device already has (spec: "Lazy-loading room members": "the server
 * ... may choose to not send redundant membership events which the client has already been
 * sent"): with `lazy_load_members` and without `include_redundant_members`, an incremental
 * sync leaves out a member event the device was sent before, in the state or the timeline of
 * an earlier response of the same token chain.
 *
 * Kept in memory per device: for each (room, member) the event ID last sent and the
 * `next_batch` position of the response that carried it. An event counts as known to a sync
 * from `since` only when it was sent in a response at or before `since` (a client that retries
 * a token whose answer it never got is sent the members again) and no earlier than the
 * device's latest initial sync (after which the client starts from nothing). Everything here is
 * a hint: whatever is forgotten (bounded memory, a restart) is simply sent again, which the
 * spec allows.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";

/** (device, room, member) entries kept per server (about 250 bytes each: 12 MiB at most). */
const MAX_ENTRIES = 50_000;
/** Devices whose latest initial sync position is kept. */
const MAX_DEVICES = 20_000;

interface Sent {
  eventId: string;
  /** The position of the response that sent it (its `next_batch`). */
  upto: number;
}

interface Memory {
  sent: LruCache<string, Sent>;
  /** Device -> position of its latest initial sync (the start of its token chain). */
  epochs: LruCache<string, number>;
}

const memories = new WeakMap<Homeserver, Memory>();

function memoryOf(hs: Homeserver): Memory {
  let memory = memories.get(hs);
  if (!memory) {
    memories.set(
      hs,
      memory = { sent: new LruCache(MAX_ENTRIES), epochs: new LruCache(MAX_DEVICES) },
    );
  }
  return memory;
}

/** A syncing device. */
export interface LazyDevice {
  userId: string;
  deviceId: string;
}

function deviceKey(device: LazyDevice): string {
  return `${device.userId}\n${device.deviceId}`;
}

/** What one sync of a device knows and records about its members. */
export interface LazyMemberTracker {
  /** Whether the device already has `eventId` as `member`'s member event in `roomId`. */
  known(roomId: string, member: string, eventId: string): boolean;
  /** Notes member events this sync sends (state or timeline). */
  sent(roomId: string, members: Iterable<readonly [member: string, eventId: string]>): void;
}

/**
 * The tracker of one sync of `device` covering `(since, upto]` (`since` null: an initial sync,
 * which starts a new token chain and knows nothing; `fullState` knows nothing either).
 */
export function lazyMemberTracker(
  hs: Homeserver,
  device: LazyDevice,
  range: { since: number | null; upto: number; fullState: boolean },
): LazyMemberTracker {
  const memory = memoryOf(hs);
  const key = deviceKey(device);
  let epoch = memory.epochs.get(key);
  let dedupe = range.since !== null && !range.fullState;
  if (range.since === null || epoch === undefined) {
    // A new chain, or one whose start was forgotten: nothing recorded so far can be trusted.
    epoch = range.upto;
    memory.epochs.set(key, epoch);
    dedupe = false;
  }
  const since = range.since ?? -Infinity;
  const start = epoch;
  return {
    known(roomId, member, eventId) {
      if (!dedupe) return false;
      const entry = memory.sent.get(`${key}\n${roomId}\n${member}`);
      return entry !== undefined && entry.eventId === eventId && entry.upto <= since &&
        entry.upto >= start;
    },
    sent(roomId, members) {
      for (const [member, eventId] of members) {
        const entryKey = `${key}\n${roomId}\n${member}`;
        const entry = memory.sent.get(entryKey);
        // An earlier send of the same event (in this chain) stays the one that counts.
        if (
          entry !== undefined && entry.eventId === eventId && entry.upto <= range.upto &&
          entry.upto >= start
        ) continue;
        memory.sent.set(entryKey, { eventId, upto: range.upto });
      }
    },
  };
}

/** A state event of a section, by whom it is about when it is a member event. */
export interface StateItemRef {
  /** The member's user ID for an `m.room.member` event, else null. */
  member: string | null;
  eventId: string;
  /** The membership it sets (member events only). */
  membership?: string;
}

/**
 * The state items of one room section without the member events the device already has, and
 * notes the member events this section sends (those of the state kept and of the timeline).
 * `refs` is parallel to `state`.
 */
export function withoutKnownMembers<T>(
  tracker: LazyMemberTracker,
  roomId: string,
  sections: {
    state: readonly T[];
    refs: readonly StateItemRef[];
    timelineMembers: Iterable<readonly [string, string]>;
  },
): T[] {
  const kept: T[] = [];
  const sent: (readonly [string, string])[] = [...sections.timelineMembers];
  sections.state.forEach((item, i) => {
    const { member, eventId } = sections.refs[i];
    if (member !== null && tracker.known(roomId, member, eventId)) return;
    kept.push(item);
    if (member !== null) sent.push([member, eventId]);
  });
  tracker.sent(roomId, sent);
  return kept;
}
