/** @jsxImportSource preact */
/**
 * An image, video, audio, voice or file message in the timeline.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { MatrixEvent, Room } from "matrix-js-sdk";
/** An image, video, audio, voice or file message in the timeline. */
export function FileBody(_props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  return null;
}
