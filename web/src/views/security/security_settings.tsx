/** @jsxImportSource preact */
/**
 * Settings: cross-signing, secure backup with a recovery key, this account's devices.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";

/** Settings: cross-signing, secure backup with a recovery key, this account's devices. */
export function SecuritySettings(): JSX.Element | null {
  return null;
}
