/** @jsxImportSource preact */
/**
 * A room's picture: the shared {@link Avatar} of its `m.room.avatar`, or its initials on a disc
 * whose colour follows the room.
 *
 * @module
 */

import type { JSX } from "preact";
import { Avatar } from "../avatar.tsx";

/** A room's avatar, `size` pixels wide (decorative: the room's name is next to it). */
export function RoomAvatar(
  props: { mxc: string | null; name: string; size: number; roomId?: string },
): JSX.Element {
  return <Avatar mxc={props.mxc} name={props.name} colourKey={props.roomId} size={props.size} />;
}
