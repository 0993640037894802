/** @jsxImportSource preact */
/**
 * Voice and video call buttons in the room's header.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { Room } from "matrix-js-sdk";
/** Voice and video call buttons in the room's header. */
export function CallButtons(_props: { room: Room }): JSX.Element | null {
  return null;
}
