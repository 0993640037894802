/** @jsxImportSource preact */
/**
 * Settings: desktop notifications for new messages.
 *
 * Placeholder until the feature lands: renders nothing.
 *
 * @module
 */

import type { JSX } from "preact";

/** Settings: desktop notifications for new messages. */
export function NotificationSettings(): JSX.Element | null {
  return null;
}
