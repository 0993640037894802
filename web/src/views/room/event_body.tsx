/** @jsxImportSource preact */
/**
 * What a tile shows inside: text (formatted or plain, a reply's old fallback removed), emotes,
 * notices; files, images, audio and video (FileBody), locations (LocationBody), polls
 * (PollBody), calls (CallEventBody); and the short lines for deleted messages, messages that
 * cannot be decrypted yet, and room changes (joins, name, topic, encryption).
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import type { MessageKey } from "../../i18n/index.ts";
import { replyTarget, stripReplyFallback } from "../../matrix/message_content.ts";
import { displayName } from "../../state/timeline.ts";
import type { TileKind } from "../../state/timeline_items.ts";
import { CallEventBody } from "../calls/call_event.tsx";
import { useApp } from "../context.ts";
import { FileBody } from "../files/file_body.tsx";
import { LocationBody } from "../location/location_body.tsx";
import { PollBody } from "../polls/poll_body.tsx";
import { FormattedBody, PlainBody } from "./formatted_body.tsx";
import { RoomIcon } from "./icons.tsx";

const FILE_TYPES = new Set(["m.image", "m.file", "m.video", "m.audio"]);

/** The text of a message's content (formatted when it has HTML). */
export function MessageText(props: {
  content: Record<string, unknown>;
  room: Room;
  isReply: boolean;
}): JSX.Element {
  const { content } = props;
  const html = content.format === "org.matrix.custom.html" &&
      typeof content.formatted_body === "string"
    ? content.formatted_body
    : null;
  if (html !== null) return <FormattedBody html={html} room={props.room} />;
  let body = typeof content.body === "string" ? content.body : "";
  if (props.isReply) body = stripReplyFallback(body);
  return <PlainBody text={body} />;
}

/** The body of a message tile. */
export function EventBody(
  props: { event: MatrixEvent; room: Room; kind: TileKind; version: number },
): JSX.Element | null {
  const { i18n } = useApp();
  const { event, room, kind } = props;
  switch (kind) {
    case "redacted":
      return (
        <p class="flex items-center gap-2 text-sm text-slate-600 italic dark:text-slate-300">
          <RoomIcon name="delete" class="h-4 w-4" />
          {i18n.t("timeline.deleted")}
        </p>
      );
    case "undecryptable":
      return (
        <p class="flex items-center gap-2 text-sm text-slate-600 italic dark:text-slate-300">
          <RoomIcon name="lock" class="h-4 w-4" />
          {i18n.t("timeline.undecryptable")}
        </p>
      );
    case "poll":
      return <PollBody event={event} room={room} />;
    case "call":
      return <CallEventBody event={event} room={room} />;
    case "state":
      return <StateText event={event} room={room} />;
    case "message":
      break;
    default:
      return null;
  }
  const content = event.getContent() as Record<string, unknown>;
  const msgtype = content.msgtype;
  if (event.getType() === "m.sticker") {
    return <p class="text-sm italic">{String(content.body ?? "")}</p>;
  }
  if (typeof msgtype === "string" && FILE_TYPES.has(msgtype)) {
    return <FileBody event={event} room={room} />;
  }
  if (msgtype === "m.location") return <LocationBody event={event} room={room} />;
  if (msgtype === "m.key.verification.request") {
    // Its body is a fallback for clients without in-room verification; this app has it.
    const name = displayName(room, event.getSender() ?? "");
    return (
      <p class="text-sm text-slate-600 italic dark:text-slate-300">
        {i18n.t("timeline.verificationRequest", { name })}
      </p>
    );
  }
  const isReply = replyTarget(event.getWireContent()) !== null ||
    replyTarget(content) !== null;
  const text = <MessageText content={content} room={room} isReply={isReply} />;
  if (msgtype === "m.emote") {
    const name = displayName(room, event.getSender() ?? "");
    return <div class="break-words whitespace-pre-wrap italic">* {name} {text}</div>;
  }
  const notice = msgtype === "m.notice" ? " text-slate-700 dark:text-slate-300" : "";
  return <div class={`break-words whitespace-pre-wrap${notice}`}>{text}</div>;
}

const MEMBER_KEYS: Readonly<Record<string, MessageKey>> = {
  join: "timeline.state.joined",
  leave: "timeline.state.left",
  invite: "timeline.state.invited",
  ban: "timeline.state.banned",
  knock: "timeline.state.knocked",
};

/** A room change in words. */
function StateText(props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  const { i18n } = useApp();
  const { event } = props;
  const content = event.getContent();
  const sender = displayName(props.room, event.getSender() ?? "");
  const target = event.target?.name ?? displayName(props.room, event.getStateKey() ?? "");
  let text: string | null = null;
  switch (event.getType()) {
    case "m.room.create":
      text = i18n.t("timeline.state.created", { name: sender });
      break;
    case "m.room.member": {
      const membership = content.membership as string;
      const before = event.getPrevContent().membership;
      if (membership === "leave" && event.getSender() !== event.getStateKey()) {
        text = before === "invite"
          ? i18n.t("timeline.state.inviteWithdrawn", { name: sender, target })
          : before === "ban"
          ? i18n.t("timeline.state.unbanned", { name: sender, target })
          : i18n.t("timeline.state.removed", { name: sender, target });
      } else if (MEMBER_KEYS[membership]) {
        text = i18n.t(MEMBER_KEYS[membership], { name: sender, target });
      }
      break;
    }
    case "m.room.name":
      text = content.name
        ? i18n.t("timeline.state.renamed", { name: sender, room: String(content.name) })
        : i18n.t("timeline.state.nameRemoved", { name: sender });
      break;
    case "m.room.topic":
      text = content.topic
        ? i18n.t("timeline.state.topic", { name: sender, topic: String(content.topic) })
        : i18n.t("timeline.state.topicRemoved", { name: sender });
      break;
    case "m.room.encryption":
      text = i18n.t("timeline.state.encrypted", { name: sender });
      break;
  }
  return text ? <p class="text-center text-xs text-slate-600 dark:text-slate-300">{text}</p> : null;
}
