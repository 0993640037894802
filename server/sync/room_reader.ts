/**
 * Sync's low-level reads of the rooms store (`hs.rooms`): room heads in batches, timelines
 * by stream position with history visibility applied, and state as maps of event IDs at a
 * position or before an event. Everything here works on stored events; nothing is formatted
 * for clients until a response has picked what it sends (`rooms_adapter.ts` formats).
 *
 * History visibility: a user whose current membership is `join` sees every event from that
 * membership event on (the membership is in the state of each of them), so only older events
 * go through `server/rooms/visibility.ts`' state lookups.
 *
 * @module
 */

import type { StateMap } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import {
  type MembershipRecord,
  type RoomHead,
  roomKeys,
  type TimelineEntry,
} from "../rooms/schema.ts";
import { dropExpired, filterVisibleEvents } from "../rooms/visibility.ts";
import { recentTimelines } from "./recent_timeline.ts";
import { getManyChunked } from "../store/kv_batch.ts";

/** Timeline entries read per batch while looking for visible, matching events. */
export const SCAN_BATCH = 50;
/** Most timeline entries one page looks at (a filter that matches little stops here). */
export const MAX_SCAN = 5000;

/** A stored event with its stream position. */
export interface TimelineItem {
  pos: number;
  stored: StoredEvent;
}

/** A page of stored events, ascending by position. */
export interface StoredPage {
  events: TimelineItem[];
  /** Whether more matching events exist beyond the page. */
  limited: boolean;
  /**
   * Whether every event looked at was visible through the user's membership alone (events
   * after their current join), so any member joined as early sees the same page.
   */
  byMembership: boolean;
}

/** A state as event IDs by state tuple key, with its group when known. */
export interface StateRef {
  group: number | null;
  state: StateMap;
}

/** The heads of rooms (null for a room without one), read in batches. */
export async function readHeads(
  hs: Homeserver,
  roomIds: readonly string[],
): Promise<Map<string, RoomHead | null>> {
  const out = new Map<string, RoomHead | null>();
  const heads = await getManyChunked<RoomHead>(hs.kv, roomIds.map((id) => roomKeys.head(id)));
  heads.forEach((head, i) => out.set(roomIds[i], head.value));
  return out;
}

/** Whether a joined user sees the event without looking at the state at it. */
function visibleToMember(stored: StoredEvent, membership: MembershipRecord | null): boolean {
  const { meta } = stored;
  return membership?.membership === "join" && meta.pos !== null && meta.pos >= membership.pos &&
    meta.rejected === null && !meta.outlier && meta.stateGroup !== null;
}

/**
 * Event IDs of state events shown even where history visibility hides them (a sync's timeline
 * shows the room's current state events, as Synapse does: a member who left and came back sees
 * who joined meanwhile). Called only when such an event is met.
 */
export type KeptState = () => Promise<ReadonlySet<string>>;

/** The events of `ordered` that `userId` may see, in order. */
async function visibleOf(
  hs: Homeserver,
  userId: string,
  ordered: StoredEvent[],
  options: { membership: MembershipRecord | null; keep?: KeptState },
): Promise<StoredEvent[]> {
  const { membership } = options;
  // Messages past the room's max_lifetime are shown to no one, members included.
  ordered = await dropExpired(hs.rooms, ordered);
  const rest = ordered.filter((stored) => !visibleToMember(stored, membership));
  // By event ID: an erased sender's event comes back as a redacted copy (visibility.ts).
  const allowed = new Map<string, StoredEvent>();
  if (rest.length > 0) {
    for (const e of await filterVisibleEvents(hs.rooms, userId, rest, { membership })) {
      allowed.set(e.event.eventId, e);
    }
  }
  const plain = (e: StoredEvent) =>
    e.meta.rejected === null && !e.meta.outlier && e.meta.pos !== null;
  // A user always sees their own membership events (a rejected invite, a ban while invited),
  // or a room would leave their sync without a trace.
  const own = (e: StoredEvent) =>
    e.event.type === "m.room.member" && e.event.stateKey === userId && plain(e);
  const hidden = rest.filter((e) => !allowed.has(e.event.eventId) && !own(e));
  const kept = options.keep && hidden.some((e) => e.event.stateKey !== undefined && plain(e))
    ? await options.keep()
    : null;
  return ordered.filter((e) =>
    visibleToMember(e, membership) || allowed.has(e.event.eventId) || own(e) ||
    (kept !== null && e.event.stateKey !== undefined && plain(e) && kept.has(e.event.eventId))
  ).map((e) => visibleToMember(e, membership) ? e : allowed.get(e.event.eventId) ?? e);
}

/**
 * The room's timeline entries in `(after, upto]` in batches, newest first when `newest`. The
 * newest entries come from memory ({@link recentTimelines}) when it has them; a first read
 * from KV is offered to it. The first batch holds at most `firstBatch` entries.
 */
export async function* timelineBatches(
  hs: Homeserver,
  roomId: string,
  range: { after: number; upto: number; newest: boolean; firstBatch: number },
): AsyncGenerator<TimelineEntry[]> {
  const rooms = hs.rooms;
  let batch = Math.max(1, Math.min(SCAN_BATCH, range.firstBatch));
  if (!range.newest) {
    let cursor = range.after;
    while (true) {
      const entries = await rooms.timeline(roomId, {
        dir: "f",
        from: cursor,
        to: range.upto,
        limit: batch,
      });
      if (entries.length > 0) yield entries;
      if (entries.length < batch) return;
      cursor = entries[entries.length - 1].pos;
      batch = SCAN_BATCH;
    }
  }
  const recent = recentTimelines(hs);
  const memory = await recent.newest(roomId, range);
  let cursor = range.upto + 1;
  if (memory) {
    for (let i = 0; i < memory.entries.length;) {
      const slice = memory.entries.slice(i, i + batch);
      i += slice.length;
      batch = SCAN_BATCH;
      yield slice;
    }
    cursor = memory.covered + 1;
  }
  // Only a read up to a visible position is complete enough to keep.
  let first = memory === null && range.upto <= hs.stream.visiblePosition;
  while (cursor > range.after + 1) {
    const entries = await rooms.timeline(roomId, {
      dir: "b",
      from: cursor,
      to: range.after + 1,
      limit: batch,
    });
    const done = entries.length < batch;
    if (first) {
      // Every entry between the oldest one read and `upto` is in `entries`.
      const lo = done ? range.after : entries[entries.length - 1].pos - 1;
      recent.noteNewest(roomId, { lo, hi: range.upto, entries });
      first = false;
    }
    if (entries.length > 0) yield entries;
    if (done) return;
    cursor = entries[entries.length - 1].pos;
    batch = SCAN_BATCH;
  }
}

/**
 * Reads the room's timeline in `(after, upto]` (newest first when `newest`) in batches, and
 * hands each batch's visible events to `consume` until it returns true. The first batch holds
 * `firstBatch` entries (a page of `limit` needs `limit + 1` to know whether it is limited).
 *
 * @returns whether the scan stopped at {@link MAX_SCAN} entries without `consume` stopping it
 */
export async function scanVisible(
  hs: Homeserver,
  roomId: string,
  range: {
    userId: string;
    after: number;
    upto: number;
    newest: boolean;
    firstBatch: number;
    membership?: MembershipRecord | null;
    /** Called when an event looked at was not visible through the membership alone. */
    sawUnplain?: () => void;
    keep?: KeptState;
  },
  consume: (visible: StoredEvent[]) => boolean | Promise<boolean>,
): Promise<boolean> {
  const rooms = hs.rooms;
  const membership = range.membership !== undefined
    ? range.membership
    : await rooms.membership(roomId, range.userId);
  let scanned = 0;
  for await (const entries of timelineBatches(hs, roomId, range)) {
    scanned += entries.length;
    const loaded = await rooms.events(entries.map((e) => e.eventId));
    const ordered: StoredEvent[] = [];
    for (const e of entries) {
      const stored = loaded.get(e.eventId);
      if (stored) ordered.push(stored);
    }
    if (range.sawUnplain && ordered.some((stored) => !visibleToMember(stored, membership))) {
      range.sawUnplain();
    }
    const visible = await visibleOf(hs, range.userId, ordered, { membership, keep: range.keep });
    if (await consume(visible)) return false;
    if (scanned >= MAX_SCAN) return true;
  }
  return false;
}

/** The newest (or oldest) `limit` visible events in `(after, upto]` that pass `accept`. */
export async function storedPage(
  hs: Homeserver,
  roomId: string,
  range: {
    userId: string;
    after: number;
    upto: number;
    limit: number;
    newest: boolean;
    membership?: MembershipRecord | null;
    accept?: (stored: StoredEvent) => boolean;
    keep?: KeptState;
  },
): Promise<StoredPage> {
  const out: TimelineItem[] = [];
  let limited = false;
  let byMembership = true;
  const truncated = await scanVisible(
    hs,
    roomId,
    { ...range, firstBatch: range.limit + 1, sawUnplain: () => byMembership = false },
    (visible) => {
      for (const stored of visible) {
        if (range.accept && !range.accept(stored)) continue;
        if (out.length === range.limit) {
          limited = true;
          return true;
        }
        out.push({ pos: stored.meta.pos!, stored });
      }
      return false;
    },
  );
  if (range.newest) out.reverse();
  return { events: out, limited: limited || truncated, byMembership };
}

/** The state before an event (its group before), or null for outliers. */
export async function stateBeforeEvent(
  hs: Homeserver,
  stored: StoredEvent,
): Promise<StateRef | null> {
  // The create event (no prev_events) has nothing before it; its stored group is its own.
  if (stored.event.prevEvents.length === 0) return { group: null, state: new Map() };
  // The room's state then, which is the event's own state unless it came on a side branch.
  const group = stored.meta.roomStateBefore ?? stored.meta.stateGroupBefore;
  if (group === null) return null;
  return { group, state: await hs.rooms.states.stateOf(group) };
}

/**
 * The room's state after every event at a position `<= pos`: the current state when the
 * room's newest event is at or before `pos` (given its head), else the state after the last
 * timeline event at or before `pos`.
 */
export async function stateAtPosition(
  hs: Homeserver,
  roomId: string,
  where: { pos: number; head?: RoomHead | null },
): Promise<StateRef> {
  const head = where.head !== undefined ? where.head : await hs.rooms.head(roomId);
  if (head && head.lastPos <= where.pos) {
    return { group: head.stateGroup, state: await hs.rooms.states.stateOf(head.stateGroup) };
  }
  const memory = await recentTimelines(hs).newest(roomId, { after: 0, upto: where.pos });
  const [last] = memory && memory.entries.length > 0
    ? memory.entries
    : await hs.rooms.timeline(roomId, { dir: "b", from: where.pos + 1, limit: 1 });
  if (!last) return { group: null, state: new Map() };
  const stored = await hs.rooms.event(last.eventId);
  const group = stored?.meta.roomStateAfter ?? stored?.meta.stateGroup ?? null;
  if (group === null) return { group: null, state: new Map() };
  return { group, state: await hs.rooms.states.stateOf(group) };
}
