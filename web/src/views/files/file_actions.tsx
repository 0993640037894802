/** @jsxImportSource preact */
/**
 * The composer's attach-file and record-voice buttons.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { Room } from "matrix-js-sdk";
/** The composer's attach-file and record-voice buttons. */
export function FileActions(_props: { room: Room }): JSX.Element | null {
  return null;
}
