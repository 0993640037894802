/**
 * Unread notification and highlight counts (spec: "Receiving notifications", "Marking
 * notifications as read", threaded read receipts): the user's push rules evaluated over the
 * room's events after their read-up-to marks. Pure: the caller loads the events and receipts.
 *
 * An event belongs to a thread when it has an `m.thread` relation; every other event (thread
 * roots included) is in the main timeline. An event counts when it is after the user's
 * unthreaded receipt and after the receipt of its own thread (`main` for the main timeline),
 * taking whichever of `m.read` and `m.read.private` is further ahead.
 *
 * @module
 */

import type { PushRuleset } from "../push/default_rules.ts";
import type { PushContext, PushEvent } from "../push/evaluator.ts";
import { pushOutcome } from "./shared_push.ts";

/** Counts of one room or thread. */
export interface UnreadCounts {
  notification_count: number;
  highlight_count: number;
}

/** The read-up-to stream positions of a user in a room. */
export interface ReadMarks {
  /** Highest unthreaded receipt position (0 when none). */
  unthreaded: number;
  /** Highest receipt per thread key (`main` or a thread root). */
  threads: ReadonlyMap<string, number>;
}

/** An event with its stream position. */
export interface PositionedEvent {
  pos: number;
  event: PushEvent & { event_id?: string };
}

/** The result: the room's counts, and per-thread counts (threads with something unread). */
export interface UnreadResult {
  room: UnreadCounts;
  /** Main-timeline counts alone (the room's counts when threads are reported separately). */
  main: UnreadCounts;
  threads: Map<string, UnreadCounts>;
}

/** The thread root an event belongs to, or null for the main timeline. */
export function threadOf(event: { content?: unknown }): string | null {
  const content = event.content as Record<string, unknown> | undefined;
  const relation = content?.["m.relates_to"] as Record<string, unknown> | undefined;
  if (relation?.rel_type === "m.thread" && typeof relation.event_id === "string") {
    return relation.event_id;
  }
  return null;
}

/** Lowest position after which events count, for a thread key. */
function threshold(marks: ReadMarks, threadKey: string): number {
  return Math.max(marks.unthreaded, marks.threads.get(threadKey) ?? 0);
}

/**
 * Counts the notifying and highlighting events among `events` (ascending or not) that are
 * after the user's read marks and not sent by the user.
 */
export function countUnread(
  events: readonly PositionedEvent[],
  options: {
    userId: string;
    ruleset: PushRuleset;
    marks: ReadMarks;
    context: (event: PushEvent) => PushContext;
  },
): UnreadResult {
  const room: UnreadCounts = { notification_count: 0, highlight_count: 0 };
  const main: UnreadCounts = { notification_count: 0, highlight_count: 0 };
  const threads = new Map<string, UnreadCounts>();
  for (const { pos, event } of events) {
    if (event.sender === options.userId) continue;
    const thread = threadOf(event);
    if (pos <= threshold(options.marks, thread ?? "main")) continue;
    const outcome = pushOutcome(options.ruleset, event, options.context(event));
    if (!outcome.notify && !outcome.highlight) continue;
    let target = main;
    if (thread !== null) {
      target = threads.get(thread) ?? { notification_count: 0, highlight_count: 0 };
      threads.set(thread, target);
    }
    for (const counts of [room, target]) {
      if (outcome.notify) counts.notification_count++;
      if (outcome.highlight) counts.highlight_count++;
    }
  }
  return { room, main, threads };
}
