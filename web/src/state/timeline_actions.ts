/**
 * What a person does to a message in the timeline: react (and take the reaction back, by
 * redacting their own annotation), delete, send again after a failure or give up, and read an
 * edited message's earlier versions (`/relations` of type `m.replace`).
 *
 * @module
 */

import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { reactionContent } from "../matrix/message_content.ts";

/** One reaction key on a message, with who used it. */
export interface ReactionChip {
  key: string;
  /** User IDs, in the order they reacted. */
  senders: string[];
  /** This user's reaction with this key (to take it back). */
  mine: MatrixEvent | null;
}

/** A message's reactions, the most used first. */
export function reactionsOf(
  room: Room,
  event: MatrixEvent,
  myUserId: string | null,
): ReactionChip[] {
  const eventId = event.getId();
  if (!eventId) return [];
  // The room's main timeline set aggregates apart from the room's own container (the SDK makes
  // it first); threads share the room's.
  const containers = [
    event.getThread()?.timelineSet.relations,
    room.getUnfilteredTimelineSet().relations,
    room.relations,
  ];
  const relations = containers
    .map((container) => container?.getChildEventsForEvent(eventId, "m.annotation", "m.reaction"))
    .find((found) => found !== undefined);
  const sorted = relations?.getSortedAnnotationsByKey() ?? [];
  const chips: ReactionChip[] = [];
  for (const [key, events] of sorted) {
    const live = [...events].filter((e) => !e.isRedacted() && e.status !== "cancelled");
    if (live.length === 0) continue;
    live.sort((a, b) => a.getTs() - b.getTs());
    const senders = [...new Set(live.map((e) => e.getSender() ?? ""))];
    const mine = live.find((e) => e.getSender() === myUserId) ?? null;
    chips.push({ key, senders, mine });
  }
  return chips;
}

/** Sends any event type (the SDK's typing lists only the types it names). */
function sendRaw(
  client: MatrixClient,
  roomId: string,
  type: string,
  content: Record<string, unknown>,
): Promise<{ event_id: string }> {
  const send = client.sendEvent as unknown as (
    roomId: string,
    threadId: string | null,
    type: string,
    content: Record<string, unknown>,
  ) => Promise<{ event_id: string }>;
  return send.call(client, roomId, null, type, content);
}

/** Statuses of an event that has not reached the server and can be given up. */
const CANCELLABLE = new Set(["not_sent", "queued", "encrypting"]);

/** Adds this user's reaction `key`, or takes it back when it is there. */
export async function toggleReaction(
  client: MatrixClient,
  room: Room,
  event: MatrixEvent,
  key: string,
): Promise<void> {
  const eventId = event.getId();
  if (!eventId) return;
  const mine = reactionsOf(room, event, client.getUserId()).find((chip) => chip.key === key)?.mine;
  if (mine) {
    if (mine.status && CANCELLABLE.has(mine.status)) {
      client.cancelPendingEvent(mine);
      return;
    }
    await client.redactEvent(room.roomId, mine.getId()!);
    return;
  }
  await sendRaw(client, room.roomId, "m.reaction", reactionContent(eventId, key));
}

/** Deletes a message (a redaction); a message that never left is given up instead. */
export async function deleteMessage(client: MatrixClient, room: Room, event: MatrixEvent) {
  if (event.status && CANCELLABLE.has(event.status)) {
    client.cancelPendingEvent(event);
    return;
  }
  await client.redactEvent(room.roomId, event.getId()!);
}

/** Sends a message that failed again. */
export async function resend(client: MatrixClient, room: Room, event: MatrixEvent): Promise<void> {
  await client.resendEvent(event, room);
}

/** Gives up a message that failed. */
export function cancelSend(client: MatrixClient, event: MatrixEvent): void {
  if (event.status && CANCELLABLE.has(event.status)) client.cancelPendingEvent(event);
}

/** One version of an edited message. */
export interface EditVersion {
  eventId: string;
  ts: number;
  /** The message content of this version. */
  content: Record<string, unknown>;
  original: boolean;
}

/** Most edit pages read for one history. */
const MAX_EDIT_PAGES = 10;

/** Every version of an edited message, newest first (the sender's own edits only). */
export async function loadEditHistory(
  client: MatrixClient,
  room: Room,
  event: MatrixEvent,
): Promise<EditVersion[]> {
  const eventId = event.getId()!;
  const edits: MatrixEvent[] = [];
  let from: string | null = null;
  for (let page = 0; page < MAX_EDIT_PAGES; page++) {
    const result: { events: MatrixEvent[]; nextBatch?: string | null } = await client.relations(
      room.roomId,
      eventId,
      "m.replace",
      "m.room.message",
      from ? { from } : {},
    );
    edits.push(...result.events);
    from = result.nextBatch ?? null;
    if (!from) break;
  }
  const versions: EditVersion[] = edits
    .filter((edit) => edit.getSender() === event.getSender() && !edit.isRedacted())
    .map((edit) => ({
      eventId: edit.getId() ?? "",
      ts: edit.getTs(),
      content: (edit.getContent()["m.new_content"] ?? {}) as Record<string, unknown>,
      original: false,
    }))
    .filter((version) => typeof version.content.body === "string");
  versions.sort((a, b) => b.ts - a.ts);
  versions.push({
    eventId,
    ts: event.getTs(),
    content: event.getOriginalContent() as Record<string, unknown>,
    original: true,
  });
  return versions;
}
