/** @jsxImportSource preact */
/**
 * The ringing and in-call panel, over every signed-in screen.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";

/** The ringing and in-call panel, over every signed-in screen. */
export function CallOverlay(): JSX.Element | null {
  return null;
}
