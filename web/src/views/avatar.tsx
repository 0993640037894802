/** @jsxImportSource preact */
/**
 * A person's (or a room's) picture: the server's thumbnail of an `mxc://` URL, fetched with the
 * access token (authenticated media) and cached, or initials on a coloured disc when there is no
 * picture or it cannot load. Shared by the timeline, the member list, the room list and the
 * settings.
 *
 * @module
 */

import type { Room } from "matrix-js-sdk";
import type { JSX } from "preact";
import { useApp } from "./context.ts";
import { useMedia } from "./files/use_media.ts";

/** Disc colours, all dark enough for white initials at WCAG AA. */
const COLOURS = [
  "bg-sky-800",
  "bg-emerald-800",
  "bg-violet-800",
  "bg-rose-800",
  "bg-amber-800",
  "bg-teal-800",
  "bg-indigo-800",
  "bg-fuchsia-800",
];

/**
 * Classes for the sizes the app uses. Classes rather than an inline style: message bodies are
 * checked for `[style]` (sanitised HTML must not carry any), and the picture sits next to them.
 */
const SIZES: Readonly<Record<number, string>> = {
  24: "size-6 text-[10px]",
  32: "size-8 text-xs",
  40: "size-10 text-base",
  48: "size-12 text-lg",
  56: "size-14 text-xl",
  64: "size-16 text-2xl",
};

/** The text alternative of a decorative picture: none, as the name is written next to it. */
const DECORATIVE = "";

/** Up to two initials of a name ("Anna Muller" -> "AM"; "@ben:x" -> "B"). */
export function initialsOf(name: string): string {
  const words = name.replace(/^[#@!+]/, "").split(/[\s:._-]+/).filter((word) => word !== "");
  if (name.startsWith("@") || name.startsWith("#")) words.splice(1);
  return words.slice(0, 2).map((word) => [...word][0]!.toUpperCase()).join("") || "?";
}

/** The same colour every time for the same ID, so people are easy to tell apart. */
function colourOf(key: string): string {
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return COLOURS[hash % COLOURS.length];
}

/** The `mxc://` URL of a member's picture in a room, from their member event. */
export function memberAvatarUrl(room: Room, userId: string): string | null {
  const url = room.getMember(userId)?.getMxcAvatarUrl();
  return url && url.startsWith("mxc://") ? url : null;
}

/** Props of {@link Avatar}. */
export interface AvatarProps {
  /** The picture, if any. */
  mxc: string | null | undefined;
  /** The name the initials come from. */
  name: string;
  /** What picks the disc's colour (a user or room ID); the name when absent. */
  colourKey?: string;
  /** Width and height in CSS pixels. */
  size: number;
}

/**
 * A round picture `size` pixels wide. Decorative (hidden from assistive technology): the name is
 * always written next to it.
 */
export function Avatar(props: AvatarProps): JSX.Element {
  const { session } = useApp();
  const px = props.size;
  // Twice the size for sharp pictures on high-density screens.
  const media = useMedia(
    session.clientReady.value,
    props.mxc ? { url: props.mxc } : null,
    { thumbnail: { width: px * 2, height: px * 2 } },
  );
  const sized = SIZES[px];
  // A size without a class of its own falls back to a style.
  const style = sized ? undefined : { width: `${px}px`, height: `${px}px` };
  if (media.url) {
    return (
      <img
        src={media.url}
        alt={DECORATIVE}
        data-avatar="image"
        style={style}
        class={`shrink-0 rounded-full object-cover ${sized ?? ""}`}
      />
    );
  }
  return (
    <span
      aria-hidden="true"
      data-avatar="initials"
      style={style && { ...style, fontSize: `${Math.round(px * 0.4)}px` }}
      class={`flex shrink-0 items-center justify-center rounded-full font-bold text-white select-none ${
        sized ?? ""
      } ${colourOf(props.colourKey ?? props.name)}`}
    >
      {initialsOf(props.name)}
    </span>
  );
}
