/** @jsxImportSource preact */
/**
 * A poll in the timeline: answers, votes, results, end.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
/** A poll in the timeline: answers, votes, results, end. */
export function PollBody(_props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  return null;
}
