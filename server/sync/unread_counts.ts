/**
 * Unread notification and highlight counts per (user, room), kept up to a stream position in
 * memory so that a sync evaluates push rules only on the events that arrived since the last
 * one, as Synapse's push summaries do, instead of recounting the whole unread backlog.
 *
 * A cached count is reused while it was computed with the same read marks (the further of
 * `m.read` and `m.read.private`, unthreaded and per thread), the same ruleset (the push rule
 * cache hands out one object per version of the rules) and the same membership event; any of
 * them changing recounts from the read marks, at most {@link MAX_UNREAD_SCAN} events.
 * Events are evaluated as stored PDUs (redacted content for redacted events): no client
 * formatting, no aggregations. Each event is evaluated once, with the room as it was when it
 * was first counted, the way push rules apply when an event arrives.
 *
 * The read marks themselves are reused while no receipt of the user in the room appeared in
 * the stream since they were read (the incremental sync lists receipt changes anyway).
 *
 * @module
 */

import { redactPdu } from "../../federation/redaction.ts";
import type { Homeserver } from "../homeserver.ts";
import type { PushRuleset } from "../push/default_rules.ts";
import type { PushEvent } from "../push/evaluator.ts";
import { LruCache } from "../rooms/lru.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { ReceiptEntry } from "../store/receipts.ts";
import { hiddenByIgnore, NO_IGNORED } from "./ignored_users.ts";
import { recentTimelines } from "./recent_timeline.ts";
import { powerLevelIn, type RoomFacts } from "./room_facts.ts";
import { timelineBatches } from "./room_reader.ts";
import {
  countUnread,
  type PositionedEvent,
  type ReadMarks,
  type UnreadCounts,
  type UnreadResult,
} from "./unread.ts";

/** Most events after the read marks a recount looks at (counts stop growing there). */
export const MAX_UNREAD_SCAN = 500;
/** (user, room) pairs whose counts stay in memory (a few hundred bytes each). */
const CACHED_COUNTS = 50_000;
/** Timeline entries read per batch. */
const READ_BATCH = 100;

interface CountEntry {
  joinPos: number;
  marks: ReadMarks;
  marksKey: string;
  /** The receipts behind `marks` include every receipt at positions up to this one. */
  marksAt: number;
  ruleset: PushRuleset;
  /** The ignore list counted with (a new list is a new set: everything is counted again). */
  ignored: ReadonlySet<string>;
  /** Events up to this position are counted. */
  counted: number;
  result: UnreadResult;
}

const caches = new WeakMap<Homeserver, LruCache<string, CountEntry>>();
const pushViews = new WeakMap<StoredEvent, PushEvent>();

function cacheOf(hs: Homeserver): LruCache<string, CountEntry> {
  let cache = caches.get(hs);
  if (!cache) caches.set(hs, cache = new LruCache(CACHED_COUNTS));
  return cache;
}

/**
 * Forgets every kept count: the next sync of each room recounts from the read marks (tests
 * compare kept counts with recounts this way).
 */
export function forgetUnreadCounts(hs: Homeserver): void {
  caches.get(hs)?.clear();
}

/** What one room's counts need from the sync computing them. */
export interface UnreadQuery {
  userId: string;
  roomId: string;
  /** Position of the user's current (join) membership event: counting starts after it. */
  joinPos: number;
  upto: number;
  /** The sync's `since` (null for an initial sync). */
  since: number | null;
  /** Whether a receipt of the user in this room is among the sync's receipt changes. */
  ownReceiptChanged: boolean;
  /** The user's receipts in the room. */
  loadReceipts: () => Promise<ReceiptEntry[]>;
  ruleset: PushRuleset;
  /** Facts of the room's state at `upto` (member count, power levels). */
  facts: RoomFacts;
  /** The user's display name in the room. */
  displayName: () => Promise<string | null>;
  /** Users the user ignores: their non-state events are not counted. */
  ignored?: ReadonlySet<string>;
}

function marksOf(receipts: readonly ReceiptEntry[], joinPos: number): ReadMarks {
  const threads = new Map<string, number>();
  let unthreaded = joinPos;
  for (const receipt of receipts) {
    if (receipt.threadKey === "") unthreaded = Math.max(unthreaded, receipt.eventOrder);
    else {
      threads.set(
        receipt.threadKey,
        Math.max(threads.get(receipt.threadKey) ?? 0, receipt.eventOrder),
      );
    }
  }
  return { unthreaded, threads };
}

function marksKeyOf(marks: ReadMarks): string {
  const threads = [...marks.threads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([marks.unthreaded, threads]);
}

/** An event as push rules see it: the stored PDU's fields, redacted when it was redacted. */
export function pushViewOf(stored: StoredEvent): PushEvent {
  let view = pushViews.get(stored);
  if (!view) {
    const { event, meta, rules } = stored;
    const content = meta.redactedBy !== null
      ? (redactPdu(event.pdu, rules).content as Record<string, unknown>) ?? {}
      : event.content;
    view = {
      event_id: event.eventId,
      type: event.type,
      sender: event.sender,
      room_id: event.roomId,
      content,
      origin_server_ts: event.originServerTs,
    };
    if (event.stateKey !== undefined) view.state_key = event.stateKey;
    pushViews.set(stored, view);
  }
  return view;
}

/**
 * Events of others in `(after, upto]`, oldest first, or the newest `limit` of them when
 * `newest`. Returns null when `newest` is false and more than `limit` exist.
 */
async function othersEvents(
  hs: Homeserver,
  where: {
    roomId: string;
    userId: string;
    after: number;
    upto: number;
    ignored: ReadonlySet<string>;
  },
  options: { limit: number; newest: boolean },
): Promise<PositionedEvent[] | null> {
  const ids: { pos: number; eventId: string }[] = [];
  if (options.newest) {
    const batches = timelineBatches(hs, where.roomId, {
      after: where.after,
      upto: where.upto,
      newest: true,
      firstBatch: READ_BATCH,
    });
    for await (const entries of batches) {
      for (const entry of entries) {
        if (entry.sender !== where.userId) ids.push({ pos: entry.pos, eventId: entry.eventId });
      }
      if (ids.length >= options.limit) break;
    }
    ids.length = Math.min(ids.length, options.limit);
  } else {
    // Others' events are a subset: a stretch of `limit` entries holds at most `limit`.
    const entries = await recentTimelines(hs).between(where.roomId, {
      after: where.after,
      upto: where.upto,
      max: options.limit,
    });
    if (entries === null) return null;
    for (const entry of entries) {
      if (entry.sender !== where.userId) ids.push({ pos: entry.pos, eventId: entry.eventId });
    }
  }
  const loaded = await hs.rooms.events(ids.map((e) => e.eventId));
  const out: PositionedEvent[] = [];
  for (const { pos, eventId } of ids) {
    const stored = loaded.get(eventId);
    if (!stored || stored.meta.rejected !== null || stored.meta.outlier) continue;
    if (hiddenByIgnore(where.ignored, stored.event)) continue;
    out.push({ pos, event: pushViewOf(stored) });
  }
  return out;
}

function add(a: UnreadCounts, b: UnreadCounts): UnreadCounts {
  return {
    notification_count: a.notification_count + b.notification_count,
    highlight_count: a.highlight_count + b.highlight_count,
  };
}

function merge(a: UnreadResult, b: UnreadResult): UnreadResult {
  const threads = new Map(a.threads);
  for (const [thread, counts] of b.threads) {
    const before = threads.get(thread);
    threads.set(thread, before ? add(before, counts) : counts);
  }
  return { room: add(a.room, b.room), main: add(a.main, b.main), threads };
}

async function evaluate(
  q: UnreadQuery,
  events: readonly PositionedEvent[],
  marks: ReadMarks,
): Promise<UnreadResult> {
  const displayName = events.length > 0 ? await q.displayName() : null;
  return countUnread(events, {
    userId: q.userId,
    ruleset: q.ruleset,
    marks,
    context: (event) => ({
      userId: q.userId,
      displayName,
      memberCount: q.facts.joined,
      senderPowerLevel: powerLevelIn(q.facts, event.sender),
      notificationPowerLevels: q.facts.notificationLevels,
    }),
  });
}

/** The user's unread counts in a room up to `upto`. */
export async function unreadCounts(hs: Homeserver, q: UnreadQuery): Promise<UnreadResult> {
  const cache = cacheOf(hs);
  const key = `${q.userId}\u0000${q.roomId}`;
  const entry = cache.get(key);
  let marks: ReadMarks;
  let marksAt: number;
  if (
    entry && entry.joinPos === q.joinPos && q.since !== null && entry.marksAt >= q.since &&
    !q.ownReceiptChanged
  ) {
    // No receipt of the user in `(since, upto]` either (this sync lists them): the marks
    // still hold at `upto`, and the next sync, from `upto`, reuses them without a read.
    marks = entry.marks;
    marksAt = q.upto;
  } else {
    marks = marksOf(await q.loadReceipts(), q.joinPos);
    marksAt = q.upto;
  }
  const marksKey = entry?.marks === marks ? entry.marksKey : marksKeyOf(marks);
  const ignored = q.ignored ?? NO_IGNORED;
  const where = { roomId: q.roomId, userId: q.userId, upto: q.upto, ignored };
  let result: UnreadResult | null = null;
  if (
    entry && entry.joinPos === q.joinPos && entry.marksKey === marksKey &&
    entry.ruleset === q.ruleset && entry.ignored === ignored && entry.counted <= q.upto
  ) {
    if (entry.counted === q.upto) result = entry.result;
    else {
      const added = await othersEvents(hs, { ...where, after: entry.counted }, {
        limit: MAX_UNREAD_SCAN,
        newest: false,
      });
      if (added) result = merge(entry.result, await evaluate(q, added, marks));
    }
  }
  if (result === null) {
    const lowest = Math.max(q.joinPos, Math.min(marks.unthreaded, ...marks.threads.values()));
    const events = await othersEvents(hs, { ...where, after: lowest }, {
      limit: MAX_UNREAD_SCAN,
      newest: true,
    });
    result = await evaluate(q, events!.reverse(), marks);
  }
  if (!entry || entry.counted <= q.upto) {
    cache.set(key, {
      joinPos: q.joinPos,
      marks,
      marksKey,
      marksAt,
      ruleset: q.ruleset,
      ignored,
      counted: q.upto,
      result,
    });
  }
  return result;
}
