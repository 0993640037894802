/** @jsxImportSource preact */
/**
 * Room actions in the room's header: settings, invite, leave.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { Room } from "matrix-js-sdk";
/** Room actions in the room's header: settings, invite, leave. */
export function RoomHeaderActions(_props: { room: Room }): JSX.Element | null {
  return null;
}
