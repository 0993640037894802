/** @jsxImportSource preact */
/**
 * Incoming and running device or user verifications (emoji), over every signed-in screen.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";

/** Incoming and running device or user verifications (emoji), over every signed-in screen. */
export function VerificationOverlay(): JSX.Element | null {
  return null;
}
