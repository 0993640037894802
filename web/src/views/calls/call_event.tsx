/** @jsxImportSource preact */
/**
 * A call's invite, answer or hang-up in the timeline.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
/** A call's invite, answer or hang-up in the timeline. */
export function CallEventBody(_props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  return null;
}
