/**
 * What the room list says about a room's newest message: a short preview (the decrypted text
 * when the client holds the key, else a label for what it is) with its sender and time.
 *
 * @module
 */

import type { MatrixEvent, Room } from "matrix-js-sdk";

/** What kind of message a preview describes; the view turns each into words. */
export type PreviewKind =
  | "text"
  | "emote"
  | "encrypted"
  | "deleted"
  | "image"
  | "video"
  | "audio"
  | "voice"
  | "file"
  | "location"
  | "poll"
  | "call"
  | "other";

/** The newest message of a room, as the list shows it. */
export interface MessagePreview {
  kind: PreviewKind;
  /** The message's text on one line ("text" and "emote"; a poll's question), else null. */
  text: string | null;
  /** The sender's name in the room. */
  sender: string;
  /** The message was sent by the signed-in user. */
  own: boolean;
  ts: number;
}

/** Longest preview text kept; the view cuts it to the row's width. */
const TEXT_MAX = 140;
/** How far back from the newest event to look for a message (state and reactions are skipped). */
const LOOK_BACK = 60;

const MESSAGE_TYPES = new Set([
  "m.room.message",
  "m.room.encrypted",
  "m.sticker",
  "m.poll.start",
  "org.matrix.msc3381.poll.start",
  "m.call.invite",
]);

const BY_MSGTYPE: Readonly<Record<string, PreviewKind>> = {
  "m.text": "text",
  "m.notice": "text",
  "m.emote": "emote",
  "m.image": "image",
  "m.video": "video",
  "m.audio": "audio",
  "m.file": "file",
  "m.location": "location",
};

/** A message body on one line, without the quoted fallback of a reply. */
function oneLine(body: string): string {
  const unquoted = body.startsWith("> ") ? body.replace(/^(?:>[^\n]*\n)+\n?/, "") : body;
  const line = unquoted.replace(/\s+/g, " ").trim();
  return line.length > TEXT_MAX ? `${line.slice(0, TEXT_MAX - 1)}…` : line;
}

function pollQuestion(content: Record<string, unknown>): string | null {
  const block = (content["org.matrix.msc3381.poll.start"] ?? content["m.poll.start"]) as
    | { question?: Record<string, unknown> }
    | undefined;
  const question = block?.question;
  const text = question?.["org.matrix.msc1767.text"] ?? question?.body ??
    (Array.isArray(question?.["m.text"])
      ? (question["m.text"][0] as { body?: unknown } | undefined)?.body
      : undefined);
  return typeof text === "string" && text.trim() ? oneLine(text) : null;
}

/** What `event` shows as in a preview: its kind, and its text when it has one. */
export function describeMessage(event: MatrixEvent): { kind: PreviewKind; text: string | null } {
  if (event.isRedacted()) return { kind: "deleted", text: null };
  const type = event.getType();
  if (type === "m.room.encrypted" || event.isDecryptionFailure()) {
    return { kind: "encrypted", text: null };
  }
  const content = event.getContent();
  if (type === "m.sticker") return { kind: "image", text: null };
  if (type === "m.call.invite") return { kind: "call", text: null };
  if (type !== "m.room.message") return { kind: "poll", text: pollQuestion(content) };
  const msgtype = typeof content.msgtype === "string" ? content.msgtype : "";
  if (msgtype === "m.audio" && "org.matrix.msc3245.voice" in content) {
    return { kind: "voice", text: null };
  }
  // An unknown msgtype's body is its fallback text (spec: "m.room.message msgtypes").
  const kind = BY_MSGTYPE[msgtype] ?? "text";
  if (kind !== "text" && kind !== "emote") return { kind, text: null };
  const text = typeof content.body === "string" ? oneLine(content.body) : "";
  return text ? { kind, text } : { kind: "other", text: null };
}

/** Whether the room list previews `event`: a message of the main timeline, not an edit. */
function previewable(event: MatrixEvent): boolean {
  // Before decryption an edit is only known as encrypted; its relation is in the clear.
  const relation = event.getWireContent()["m.relates_to"] as { rel_type?: unknown } | undefined;
  if (relation?.rel_type === "m.replace") return false;
  return MESSAGE_TYPES.has(event.getType()) || MESSAGE_TYPES.has(event.getWireType());
}

/** The preview of `room`'s newest message in the loaded timeline; null when there is none. */
export function lastMessagePreview(room: Room, ownUserId: string | null): MessagePreview | null {
  const events = room.getLiveTimeline().getEvents();
  const stop = Math.max(0, events.length - LOOK_BACK);
  for (let i = events.length - 1; i >= stop; i--) {
    const event = events[i];
    if (!previewable(event)) continue;
    const senderId = event.getSender() ?? "";
    const { kind, text } = describeMessage(event);
    return {
      kind,
      text,
      sender: room.getMember(senderId)?.name?.trim() || senderId,
      own: senderId === ownUserId,
      ts: event.getTs(),
    };
  }
  return null;
}
