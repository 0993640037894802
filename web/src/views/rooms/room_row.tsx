/** @jsxImportSource preact */
/**
 * One joined room in the room list: its picture, name, newest message and when it came, bold
 * while unread, with a mark when someone mentioned the user.
 *
 * The link holds the room's name alone, so it reads (and is found) as the room and its name is
 * all its visible text (WCAG "label in name"); the unread state, the preview and the time
 * describe it, and its `::after` covers the row so the whole row opens the room.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import type { I18n, MessageKey } from "../../i18n/index.ts";
import { formatRecent } from "../../i18n/format.ts";
import type { RoomSummary } from "../../state/room_list.ts";
import type { MessagePreview, PreviewKind } from "../../state/room_preview.ts";
import { useApp } from "../context.ts";
import { RoomAvatar } from "./room_avatar.tsx";

const LABELS: Readonly<Record<Exclude<PreviewKind, "text" | "emote">, MessageKey>> = {
  encrypted: "rooms.preview.encrypted",
  deleted: "rooms.preview.deleted",
  image: "rooms.preview.image",
  video: "rooms.preview.video",
  audio: "rooms.preview.audio",
  voice: "rooms.preview.voice",
  file: "rooms.preview.file",
  location: "rooms.preview.location",
  poll: "rooms.preview.poll",
  call: "rooms.preview.call",
  other: "rooms.preview.other",
};

/** The preview's line: the sender first in groups and for one's own messages. */
function previewText(i18n: I18n, preview: MessagePreview, direct: boolean): string {
  const sender = preview.own ? i18n.t("rooms.preview.you") : preview.sender;
  if (preview.kind === "emote") {
    return i18n.t("rooms.preview.emote", { sender, text: preview.text ?? "" });
  }
  const text = preview.kind === "text"
    ? preview.text ?? ""
    : preview.kind === "poll" && preview.text
    ? i18n.t("rooms.preview.pollQuestion", { question: preview.text })
    : i18n.t(LABELS[preview.kind]);
  return direct && !preview.own ? text : i18n.t("rooms.preview.from", { sender, text });
}

/** A joined room's row; `selected` when it is the open room. */
export function RoomRow(props: { room: RoomSummary; selected: boolean }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const { room } = props;
  const id = useId();
  const name = room.name ?? i18n.t("shell.unnamedRoom");
  const unread = room.unread > 0 || room.highlight > 0;
  const preview = room.preview;
  const ts = preview?.ts ?? 0;
  const parts = [room.highlight > 0 && "m", room.unread > 0 && "u", preview && "p", ts > 0 && "t"];
  const described = parts.filter(Boolean).map((part) => `${id}-${part}`).join(" ");
  return (
    <li
      class={`relative flex items-center gap-3 rounded-md px-2 py-2 text-sm hover:bg-slate-200 dark:hover:bg-slate-800 ${
        props.selected ? "bg-slate-200 dark:bg-slate-800" : ""
      }`}
    >
      <RoomAvatar
        mxc={room.avatarUrl}
        name={name}
        roomId={room.directUserId ?? room.roomId}
        size={40}
      />
      <span class="flex min-w-0 flex-1 flex-col">
        <span class="flex items-baseline justify-between gap-2">
          {/* The link covers the row (its ::after), so the whole row opens the room. */}
          <a
            id={`${id}-n`}
            href={`/rooms/${encodeURIComponent(room.roomId)}`}
            aria-describedby={described || undefined}
            aria-current={props.selected ? "page" : undefined}
            data-unread={unread ? "true" : undefined}
            onClick={(event) => {
              if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
              event.preventDefault();
              app.openRoom(room.roomId);
            }}
            class={`truncate text-inherit no-underline outline-none after:absolute after:inset-0 after:rounded-md focus-visible:after:outline-2 focus-visible:after:outline-sky-600 ${
              unread ? "font-bold" : "font-medium"
            }`}
          >
            {name}
          </a>
          {ts > 0 && (
            <time
              id={`${id}-t`}
              dateTime={new Date(ts).toISOString()}
              class={`shrink-0 text-xs ${
                unread ? "font-bold" : "text-slate-600 dark:text-slate-300"
              }`}
            >
              {formatRecent(i18n.locale.value, ts)}
            </time>
          )}
        </span>
        <span class="flex min-h-5 items-center justify-between gap-2">
          <span
            id={`${id}-p`}
            class={`truncate text-xs ${
              unread ? "font-semibold" : "text-slate-600 dark:text-slate-300"
            }`}
          >
            {preview ? previewText(i18n, preview, room.directUserId !== null) : ""}
          </span>
          <span class="flex shrink-0 gap-1 empty:hidden">
            {room.highlight > 0 && (
              <span
                id={`${id}-m`}
                role="img"
                aria-label={i18n.plural("shell.highlight", room.highlight)}
                class="min-w-5 rounded-full bg-red-700 px-1.5 text-center text-xs font-bold text-white"
              >
                @
              </span>
            )}
            {room.unread > 0 && (
              <span
                id={`${id}-u`}
                role="img"
                aria-label={i18n.plural("shell.unread", room.unread)}
                class="min-w-5 rounded-full bg-slate-700 px-1.5 text-center text-xs font-bold text-white dark:bg-slate-600"
              >
                {room.unread}
              </span>
            )}
          </span>
        </span>
      </span>
    </li>
  );
}
