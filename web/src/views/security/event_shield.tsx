/** @jsxImportSource preact */
/**
 * A mark on a message from an unverified device, or one that cannot be decrypted yet.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
/** A mark on a message from an unverified device, or one that cannot be decrypted yet. */
export function EventShield(_props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  return null;
}
