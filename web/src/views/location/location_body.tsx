/** @jsxImportSource preact */
/**
 * A shared location in the timeline, on a map.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
/** A shared location in the timeline, on a map. */
export function LocationBody(_props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  return null;
}
