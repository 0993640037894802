/** @jsxImportSource preact */
/**
 * The composer's create-poll button and dialog.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { Room } from "matrix-js-sdk";
/** The composer's create-poll button and dialog. */
export function PollAction(_props: { room: Room }): JSX.Element | null {
  return null;
}
