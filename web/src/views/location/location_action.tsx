/** @jsxImportSource preact */
/**
 * The composer's share-location button and dialog.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";
import type { Room } from "matrix-js-sdk";
/** The composer's share-location button and dialog. */
export function LocationAction(_props: { room: Room }): JSX.Element | null {
  return null;
}
