/**
 * How the timeline lays out its events, as data: which events get a tile (reactions, edits,
 * poll votes and call signalling aggregate elsewhere and get none), day separators between
 * days, and sender groups (consecutive messages from one sender within a few minutes show the
 * name once). Read receipts on events without a tile move to the tile above them.
 *
 * Pure: the model hands in plain facts about each event.
 *
 * @module
 */

import { isPollStartType, POLL_END_TYPES, POLL_RESPONSE_TYPES } from "./poll_tally.ts";

/** What kind of tile an event gets. */
export type TileKind =
  | "message"
  | "poll"
  | "call"
  | "state"
  | "undecryptable"
  | "redacted"
  | "hidden";

/** Facts about one event that decide its tile. */
export interface EventFacts {
  type: string;
  /** `m.relates_to.rel_type` of the clear content, if any. */
  relType?: string;
  isState: boolean;
  redacted: boolean;
  /** Encrypted and not (yet) decrypted. */
  undecryptable: boolean;
  /** For `m.room.member`: the membership, and the one before. */
  membership?: string;
  prevMembership?: string;
}

const CALL_TILES = new Set(["m.call.invite", "m.call.hangup", "m.call.reject"]);
const STATE_TILES = new Set([
  "m.room.create",
  "m.room.member",
  "m.room.name",
  "m.room.topic",
  "m.room.encryption",
]);
const AGGREGATED = new Set<string>([
  "m.reaction",
  "m.room.redaction",
  ...POLL_RESPONSE_TYPES,
  ...POLL_END_TYPES,
]);

/** The tile an event gets. */
export function tileKind(facts: EventFacts): TileKind {
  const { type } = facts;
  if (facts.undecryptable) return "undecryptable";
  if (AGGREGATED.has(type)) return "hidden";
  // Edits change the event they replace; they have no tile of their own.
  if (facts.relType === "m.replace") return "hidden";
  if (facts.isState) {
    if (!STATE_TILES.has(type)) return "hidden";
    if (type === "m.room.member") {
      const { membership, prevMembership } = facts;
      // Profile changes and repeated joins would fill the timeline with noise.
      if (membership === prevMembership) return "hidden";
    }
    return "state";
  }
  if (facts.redacted) return "redacted";
  if (type === "m.room.message" || type === "m.sticker") return "message";
  if (isPollStartType(type)) return "poll";
  if (CALL_TILES.has(type)) return "call";
  return "hidden";
}

/** What the layout needs of an event. */
export interface LayoutEvent {
  id: string;
  sender: string;
  ts: number;
  kind: TileKind;
}

/** One row of the timeline. */
export type TimelineRow =
  | { type: "day"; key: string; ts: number }
  | {
    type: "event";
    key: string;
    /** Index into the events given to {@link layoutTimeline}. */
    index: number;
    /** Same sender as the tile above, within {@link GROUP_WINDOW_MS}: no name shown. */
    continuation: boolean;
    /** Who has read up to here (user IDs), receipts on hidden events below included. */
    readers: string[];
  };

/** Messages from one sender within this span form a group. */
export const GROUP_WINDOW_MS = 5 * 60 * 1000;

/** Kinds that group by sender. */
const GROUPING: ReadonlySet<TileKind> = new Set([
  "message",
  "poll",
  "undecryptable",
  "redacted",
]);

/** Options of {@link layoutTimeline}. */
export interface LayoutOptions {
  /** The calendar day of a time (local time in the app). */
  dayOf: (ts: number) => string;
  /** User IDs by the event ID their read receipt points at. */
  receipts?: ReadonlyMap<string, readonly string[]>;
}

/** The local calendar day of `ts`, as `YYYY-M-D`. */
export function localDay(ts: number): string {
  const date = new Date(ts);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** Lays out events (oldest first) as rows: day separators, tiles, groups, receipts. */
export function layoutTimeline(
  events: readonly LayoutEvent[],
  options: LayoutOptions,
): TimelineRow[] {
  const rows: TimelineRow[] = [];
  let lastDay: string | null = null;
  let previous: LayoutEvent | null = null;
  let lastTile: Extract<TimelineRow, { type: "event" }> | null = null;
  const pendingReaders: string[] = [];
  events.forEach((event, index) => {
    const readers = options.receipts?.get(event.id) ?? [];
    if (event.kind === "hidden") {
      // A receipt on a hidden event shows on the nearest tile above it.
      if (lastTile) lastTile.readers.push(...readers);
      else pendingReaders.push(...readers);
      return;
    }
    const day = options.dayOf(event.ts);
    if (day !== lastDay) {
      rows.push({ type: "day", key: `day-${day}`, ts: event.ts });
      lastDay = day;
      previous = null;
    }
    const continuation = previous !== null && GROUPING.has(event.kind) &&
      GROUPING.has((previous as LayoutEvent).kind) &&
      (previous as LayoutEvent).sender === event.sender &&
      event.ts - (previous as LayoutEvent).ts <= GROUP_WINDOW_MS;
    lastTile = {
      type: "event",
      key: event.id,
      index,
      continuation,
      readers: [...pendingReaders.splice(0), ...readers],
    };
    rows.push(lastTile);
    previous = event;
  });
  for (const row of rows) {
    if (row.type === "event" && row.readers.length > 1) row.readers = [...new Set(row.readers)];
  }
  return rows;
}
