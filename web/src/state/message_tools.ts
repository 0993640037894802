/**
 * The less frequent things done to a message: forward it to another conversation, pin and unpin
 * it (the room's `m.room.pinned_events` state), quote it in the composer and report it to the
 * server's administrators (`POST /rooms/{roomId}/report/{eventId}`). Loaded with the "More
 * actions" list: it imports no app module that the first screen has, so it stays one chunk.
 *
 * @module
 */

import type { MatrixClient, MatrixEvent, Method, Room } from "matrix-js-sdk";
import { PINNED_EVENTS, pinnedIds } from "./message_extras.ts";

/** Most pins kept: the state event must stay well under the 64 KiB event limit. */
const MAX_PINS = 100;
/** Event types that can be forwarded (what a person sent, not a room change or a poll). */
const FORWARDABLE = new Set(["m.room.message", "m.sticker"]);

/**
 * Whether the message is a reply (its body then starts with the quoted fallback). A small copy
 * of message_content.ts's check: importing that module would pull the Markdown renderer into a
 * chunk the first screen loads.
 */
function isReply(content: Record<string, unknown>): boolean {
  const relation = content["m.relates_to"] as Record<string, unknown> | undefined;
  if (relation?.rel_type === "m.thread" && relation.is_falling_back === true) return false;
  const inReplyTo = relation?.["m.in_reply_to"] as Record<string, unknown> | undefined;
  return typeof inReplyTo?.event_id === "string";
}

/** The body without a reply's "> " fallback lines. */
function withoutFallback(body: string): string {
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i].startsWith("> ")) i++;
  if (i === 0) return body;
  if (lines[i] === "") i++;
  return lines.slice(i).join("\n");
}

/** Whether `event` can be forwarded: a sent message or sticker, not deleted, not a state event. */
export function canForward(event: MatrixEvent): boolean {
  if (event.isState() || event.isRedacted() || event.status) return false;
  if (event.isDecryptionFailure()) return false;
  return FORWARDABLE.has(event.getType()) && typeof event.getContent().body === "string";
}

/**
 * The content a forward sends: the message as shown (an edit's latest text), with the same file
 * information (an encrypted attachment keeps its `file` keys, so the copy opens the same file),
 * but without its relations, mentions and reply fallback, which belong to the first room.
 */
export function forwardContent(event: MatrixEvent): Record<string, unknown> {
  const content: Record<string, unknown> = { ...event.getContent() };
  const wasReply = isReply(event.getWireContent()) || isReply(content);
  delete content["m.relates_to"];
  delete content["m.new_content"];
  delete content["m.mentions"];
  if (wasReply && typeof content.body === "string") {
    content.body = withoutFallback(content.body);
    if (typeof content.formatted_body === "string") {
      content.formatted_body = content.formatted_body.replace(
        /^<mx-reply>[\s\S]*?<\/mx-reply>/,
        "",
      );
    }
  }
  return content;
}

/** Sends a copy of `event` to the room `roomId`. */
export async function forwardMessage(
  client: MatrixClient,
  event: MatrixEvent,
  roomId: string,
): Promise<void> {
  const send = client.sendEvent as unknown as (
    roomId: string,
    threadId: string | null,
    type: string,
    content: Record<string, unknown>,
  ) => Promise<{ event_id: string }>;
  await send.call(client, roomId, null, event.getType(), forwardContent(event));
}

/** Pins `eventId` (newest pins first), or unpins it when it is pinned. */
export async function togglePin(client: MatrixClient, room: Room, eventId: string): Promise<void> {
  const current = pinnedIds(room);
  const pinned = current.includes(eventId)
    ? current.filter((id) => id !== eventId)
    : [eventId, ...current].slice(0, MAX_PINS);
  const sendState = client.sendStateEvent as unknown as (
    roomId: string,
    type: string,
    content: Record<string, unknown>,
    stateKey: string,
  ) => Promise<{ event_id: string }>;
  await sendState.call(client, room.roomId, PINNED_EVENTS, { pinned }, "");
}

/** Longest report reason sent (the server refuses more than 4 KiB). */
export const MAX_REPORT_REASON = 1000;

/** Reports a message to the server's administrators with a reason. */
export async function reportMessage(
  client: MatrixClient,
  event: MatrixEvent,
  reason: string,
): Promise<void> {
  const path = `/rooms/${encodeURIComponent(event.getRoomId() ?? "")}/report/${
    encodeURIComponent(event.getId() ?? "")
  }`;
  // Only `reason`: the spec dropped `score`, which the SDK's reportEvent still sends.
  await client.http.authedRequest("POST" as Method, path, undefined, {
    reason: reason.slice(0, MAX_REPORT_REASON),
  });
}

/** A message as Markdown quote lines ("> "), for the composer. */
export function quoteText(event: MatrixEvent): string {
  const content = event.getContent();
  let body = typeof content.body === "string" ? content.body : "";
  if (isReply(event.getWireContent()) || isReply(content)) body = withoutFallback(body);
  return body.split("\n").map((line) => `> ${line}`.trimEnd()).join("\n") + "\n\n";
}
