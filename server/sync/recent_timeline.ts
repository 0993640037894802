/**
 * The newest stretch of each active room's timeline, in memory: every timeline entry of the
 * room between two positions. Timeline entries never change once visible, so a stretch read
 * from KV up to the visible position stays true; it only grows at its newest end. After a
 * message in a 500-member room, the first member's sync reads the new entry and the other
 * 499 find it here (their timeline, their unread counts and the device-list membership scan
 * all read the same stretch).
 *
 * Only positions at or below the stream's visible position are ever kept (an entry above it
 * may still be in flight); readers asking beyond it read KV.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import type { TimelineEntry } from "../rooms/schema.ts";

/** Entries kept per room (the oldest go first). */
export const RECENT_ENTRIES = 128;
/** Memory for all rooms' stretches. */
const RECENT_MAX_BYTES = 8 * 1024 * 1024;
/** Approximate retained bytes of one timeline entry. */
const ENTRY_BYTES = 240;

/** Every timeline entry of a room at positions in `(lo, hi]`, ascending. */
interface Stretch {
  lo: number;
  hi: number;
  entries: TimelineEntry[];
}

/** The first index in `entries` (ascending) whose position is above `pos`. */
function indexAbove(entries: readonly TimelineEntry[], pos: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (entries[mid].pos <= pos) low = mid + 1;
    else high = mid;
  }
  return low;
}

function trimmed(stretch: Stretch): Stretch {
  if (stretch.entries.length <= RECENT_ENTRIES) return stretch;
  const drop = stretch.entries.length - RECENT_ENTRIES;
  return {
    lo: stretch.entries[drop - 1].pos,
    hi: stretch.hi,
    entries: stretch.entries.slice(drop),
  };
}

/** The recent timelines of one server. */
export class RecentTimelines {
  readonly #hs: Homeserver;
  readonly #stretches = new LruCache<string, Stretch>(Infinity, {
    maxBytes: RECENT_MAX_BYTES,
    // Kept once the server goes idle after a burst (server/memory_trim.ts).
    idleBytes: RECENT_MAX_BYTES / 4,
    sizeOf: (stretch) => 200 + stretch.entries.length * ENTRY_BYTES,
  });
  /** Extensions in flight, so that concurrent syncs of one room read the new entries once. */
  readonly #extending = new Map<string, Promise<void>>();

  constructor(hs: Homeserver) {
    this.#hs = hs;
  }

  /** The stretch of the room reaching at least `upto`, extended from KV when it is short. */
  async #reaching(roomId: string, upto: number): Promise<Stretch | undefined> {
    // Above the visible position an entry may still be in flight: memory must not claim it.
    if (upto > this.#hs.stream.visiblePosition) return undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const stretch = this.#stretches.get(roomId);
      if (!stretch || stretch.hi >= upto) return stretch;
      const pending = this.#extending.get(roomId);
      if (pending) {
        await pending;
        continue;
      }
      const extension = this.#extend(roomId, stretch, upto).finally(() =>
        this.#extending.delete(roomId)
      );
      this.#extending.set(roomId, extension);
      await extension;
    }
    const stretch = this.#stretches.get(roomId);
    return stretch && stretch.hi >= upto ? stretch : undefined;
  }

  async #extend(roomId: string, stretch: Stretch, upto: number): Promise<void> {
    const added = await this.#hs.rooms.timeline(roomId, {
      dir: "f",
      from: stretch.hi,
      to: upto,
      limit: RECENT_ENTRIES + 1,
    });
    if (this.#stretches.get(roomId) !== stretch) return;
    if (added.length > RECENT_ENTRIES) {
      // A burst longer than a stretch: the next reader starts a new one.
      this.#stretches.delete(roomId);
      return;
    }
    this.#stretches.set(
      roomId,
      trimmed({ lo: stretch.lo, hi: upto, entries: [...stretch.entries, ...added] }),
    );
  }

  /**
   * Every entry in `(after, upto]`, ascending, or null when there are more than `max` (the
   * caller pages through KV instead).
   */
  async between(
    roomId: string,
    range: { after: number; upto: number; max: number },
  ): Promise<TimelineEntry[] | null> {
    const { after, upto, max } = range;
    if (upto <= after) return [];
    const stretch = await this.#reaching(roomId, upto);
    if (stretch && stretch.lo <= after) {
      const from = indexAbove(stretch.entries, after);
      const to = indexAbove(stretch.entries, upto);
      return to - from > max ? null : stretch.entries.slice(from, to);
    }
    const complete = upto <= this.#hs.stream.visiblePosition;
    const entries = await this.#hs.rooms.timeline(roomId, {
      dir: "f",
      from: after,
      to: upto,
      limit: max + 1,
    });
    if (entries.length > max) return null;
    if (complete) this.#offer(roomId, { lo: after, hi: upto, entries });
    return entries;
  }

  /**
   * The newest entries at or below `upto`, newest first, from memory: all entries in
   * `(covered, upto]` with `covered >= after`. Null when memory has nothing reaching `upto`.
   */
  async newest(
    roomId: string,
    range: { after: number; upto: number },
  ): Promise<{ entries: TimelineEntry[]; covered: number } | null> {
    const stretch = await this.#reaching(roomId, range.upto);
    if (!stretch || stretch.lo >= range.upto) return null;
    const covered = Math.max(range.after, stretch.lo);
    const from = indexAbove(stretch.entries, covered);
    const to = indexAbove(stretch.entries, range.upto);
    return { entries: stretch.entries.slice(from, to).reverse(), covered };
  }

  /**
   * Offers what a backwards KV read found: `entries` (newest first) are every entry in
   * `(lo, hi]`, and `hi` was at or below the visible position when the read started.
   */
  noteNewest(roomId: string, stretch: { lo: number; hi: number; entries: TimelineEntry[] }): void {
    this.#offer(roomId, { ...stretch, entries: [...stretch.entries].reverse() });
  }

  /** Drops a room's stretch (its older entries were purged: `server/retention/`). */
  forget(roomId: string): void {
    this.#stretches.delete(roomId);
  }

  /** Keeps `stretch` when it reaches further than the one in memory (or there is none). */
  #offer(roomId: string, offered: Stretch): void {
    if (offered.entries.length > RECENT_ENTRIES) return;
    // Backfilled events are placed below every entry a room has: a stretch may claim no more
    // than down to its lowest entry (or 0), or a later backfill would fall inside its claim.
    const floor = Math.min((offered.entries[0]?.pos ?? 1) - 1, 0);
    const stretch = offered.lo < floor ? { ...offered, lo: floor } : offered;
    const current = this.#stretches.get(roomId);
    if (current && current.hi >= stretch.hi) return;
    if (current && current.hi >= stretch.lo && current.lo <= stretch.lo) {
      // Overlapping: join them, so the stretch keeps its older part.
      const older = current.entries.slice(0, indexAbove(current.entries, stretch.lo));
      this.#stretches.set(
        roomId,
        trimmed({ lo: current.lo, hi: stretch.hi, entries: [...older, ...stretch.entries] }),
      );
      return;
    }
    this.#stretches.set(roomId, stretch);
  }
}

const instances = new WeakMap<Homeserver, RecentTimelines>();

/** The recent timelines of a server (created on first use). */
export function recentTimelines(hs: Homeserver): RecentTimelines {
  let found = instances.get(hs);
  if (!found) instances.set(hs, found = new RecentTimelines(hs));
  return found;
}
