/** @jsxImportSource preact */
/**
 * A room's picture (the server's thumbnail of its `m.room.avatar`, fetched with the access
 * token), or its initial on a coloured disc when it has none.
 *
 * @module
 */

import type { JSX } from "preact";
import { useApp } from "../context.ts";
import { useMedia } from "../files/use_media.ts";

/** A room's avatar, `size` pixels wide (decorative: the room's name is next to it). */
export function RoomAvatar(
  props: { mxc: string | null; name: string; size: number },
): JSX.Element {
  const { session } = useApp();
  const px = props.size;
  const media = useMedia(
    session.clientReady.value,
    props.mxc ? { url: props.mxc } : null,
    { thumbnail: { width: px * 2, height: px * 2 } },
  );
  const style = { width: `${px}px`, height: `${px}px` };
  if (media.url) {
    return <img src={media.url} alt="" style={style} class="shrink-0 rounded-full object-cover" />;
  }
  const initial = [...props.name.replace(/^[#@!]/, "").trim()][0]?.toUpperCase() ?? "?";
  return (
    <span
      aria-hidden="true"
      style={{ ...style, fontSize: `${Math.round(px * 0.45)}px` }}
      class="flex shrink-0 items-center justify-center rounded-full bg-sky-800 font-bold text-white"
    >
      {initial}
    </span>
  );
}
