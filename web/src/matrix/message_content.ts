/**
 * Message content as the composer sends it and the timeline reads it: text with mentions
 * turned into `body`, markdown `formatted_body` and `m.mentions`; replies (`m.in_reply_to`,
 * without the fallback the spec dropped in v1.13), thread messages (`m.thread` with the
 * `is_falling_back` reply for clients without threads), edits (`m.replace` with
 * `m.new_content`), reactions (`m.annotation`), and stripping old reply fallbacks from what
 * others send.
 *
 * Pure: plain objects in, plain objects out.
 *
 * @module
 */

import { renderMarkdown } from "./markdown.ts";
import { userPermalink } from "./html_sanitise.ts";

/** One piece of what the composer holds: text, or a mention pill. */
export type ComposerPart =
  | { text: string }
  | { mention: { userId: string; name: string } };

/** A message ready to become event content. */
export interface ComposedMessage {
  msgtype: "m.text" | "m.emote";
  /** Plain text (the markdown source with mentions as names). */
  body: string;
  /** The HTML, when the message has formatting or mentions. */
  html: string | null;
  /** The people mentioned (`m.mentions.user_ids`). */
  userIds: string[];
}

/** Event content as sent. */
export type Content = Record<string, unknown>;

const MARKDOWN_SPECIAL = /[\\`*_~[\]()<>#!|]/g;

/** The text of `parts` with mentions as names (what the composer shows, as plain text). */
export function partsText(parts: readonly ComposerPart[]): string {
  return parts.map((part) => "text" in part ? part.text : part.mention.name).join("");
}

/**
 * Turns the composer's parts into a message: markdown for the HTML, mentions as matrix.to
 * links; a `/me ` start makes an emote. Null when there is nothing but white space.
 */
export function composeMessage(parts: readonly ComposerPart[]): ComposedMessage | null {
  let source = "";
  let body = "";
  const userIds: string[] = [];
  for (const part of parts) {
    if ("text" in part) {
      source += part.text;
      body += part.text;
    } else {
      const { userId, name } = part.mention;
      source += `[${name.replace(MARKDOWN_SPECIAL, (c) => `\\${c}`)}](${userPermalink(userId)})`;
      body += name;
      if (!userIds.includes(userId)) userIds.push(userId);
    }
  }
  let msgtype: ComposedMessage["msgtype"] = "m.text";
  if (/^\/me\s/.test(source) && /^\/me\s/.test(body)) {
    msgtype = "m.emote";
    source = source.replace(/^\/me\s+/, "");
    body = body.replace(/^\/me\s+/, "");
  }
  // A leading double slash sends a message that starts with a slash.
  if (source.startsWith("//") && body.startsWith("//")) {
    source = source.slice(1);
    body = body.slice(1);
  }
  body = body.trim();
  source = source.trim();
  if (!body) return null;
  const rendered = renderMarkdown(source);
  return { msgtype, body, html: rendered.plain ? null : rendered.html, userIds };
}

function baseContent(message: ComposedMessage): Content {
  const content: Content = { msgtype: message.msgtype, body: message.body };
  if (message.html !== null) {
    content.format = "org.matrix.custom.html";
    content.formatted_body = message.html;
  }
  return content;
}

/** Options of {@link messageContent}. */
export interface MessageOptions {
  /** The event this message replies to. */
  replyTo?: string;
  /** The thread this message goes into. */
  thread?: {
    rootId: string;
    /** The latest event in the thread (the fallback reply for clients without threads). */
    latestEventId?: string;
  };
}

/** The content of a new message, a reply, or a message in a thread. */
export function messageContent(message: ComposedMessage, options: MessageOptions = {}): Content {
  const content = baseContent(message);
  content["m.mentions"] = message.userIds.length ? { user_ids: message.userIds } : {};
  const { replyTo, thread } = options;
  if (thread) {
    content["m.relates_to"] = replyTo
      ? {
        rel_type: "m.thread",
        event_id: thread.rootId,
        is_falling_back: false,
        "m.in_reply_to": { event_id: replyTo },
      }
      : {
        rel_type: "m.thread",
        event_id: thread.rootId,
        is_falling_back: true,
        "m.in_reply_to": { event_id: thread.latestEventId ?? thread.rootId },
      };
  } else if (replyTo) {
    content["m.relates_to"] = { "m.in_reply_to": { event_id: replyTo } };
  }
  return content;
}

/** Options of {@link editContent}. */
export interface EditOptions {
  /** The people the message mentioned before (they are not notified again). */
  previousUserIds?: readonly string[];
}

/**
 * The content of an edit of `originalId`: the new content in `m.new_content`, and a `* `
 * fallback at the top level for clients that do not know edits.
 */
export function editContent(
  message: ComposedMessage,
  originalId: string,
  options: EditOptions = {},
): Content {
  const newContent = baseContent(message);
  newContent["m.mentions"] = message.userIds.length ? { user_ids: message.userIds } : {};
  const fresh = message.userIds.filter((id) => !options.previousUserIds?.includes(id));
  const content: Content = {
    msgtype: message.msgtype,
    body: `* ${message.body}`,
    "m.new_content": newContent,
    "m.relates_to": { rel_type: "m.replace", event_id: originalId },
    "m.mentions": fresh.length ? { user_ids: fresh } : {},
  };
  if (message.html !== null) {
    content.format = "org.matrix.custom.html";
    content.formatted_body = `* ${message.html}`;
  }
  return content;
}

/** The content of a reaction `key` to `eventId`. */
export function reactionContent(eventId: string, key: string): Content {
  return { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } };
}

/**
 * A reply's `body` without the fallback older clients put in front of it: the leading lines
 * that start with `> `, and the blank line after them.
 */
export function stripReplyFallback(body: string): string {
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i].startsWith("> ")) i++;
  if (i === 0) return body;
  if (lines[i] === "") i++;
  return lines.slice(i).join("\n");
}

/** The event a message replies to (`m.relates_to.m.in_reply_to`), if any. */
export function replyTarget(content: Content): string | null {
  const relation = content["m.relates_to"] as Record<string, unknown> | undefined;
  const inReplyTo = relation?.["m.in_reply_to"] as Record<string, unknown> | undefined;
  // A thread's fallback reply is for clients without threads, not shown as a reply.
  if (relation?.rel_type === "m.thread" && relation.is_falling_back === true) return null;
  return typeof inReplyTo?.event_id === "string" ? inReplyTo.event_id : null;
}

/** The user IDs a message's `m.mentions` names. */
export function mentionedUserIds(content: Content): string[] {
  const mentions = content["m.mentions"] as { user_ids?: unknown } | undefined;
  const ids = mentions?.user_ids;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
}

/**
 * The composer parts that bring back a sent message for editing: text, and mention pills
 * where the HTML linked to a person (found by their link text in `body`).
 */
export function partsForEdit(
  body: string,
  mentions: readonly { userId: string; text: string }[],
): ComposerPart[] {
  const parts: ComposerPart[] = [];
  let rest = body;
  for (const mention of mentions) {
    if (!mention.text) continue;
    const at = rest.indexOf(mention.text);
    if (at < 0) continue;
    if (at > 0) parts.push({ text: rest.slice(0, at) });
    parts.push({ mention: { userId: mention.userId, name: mention.text } });
    rest = rest.slice(at + mention.text.length);
  }
  if (rest) parts.push({ text: rest });
  return parts;
}
