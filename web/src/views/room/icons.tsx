/** @jsxImportSource preact */
/**
 * The timeline's and composer's icons (stroke icons on a 24-unit grid, hidden from assistive
 * technology: every button that shows one has its own accessible name).
 *
 * @module
 */

import type { JSX } from "preact";

const PATHS = {
  reply: "M9 14 4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11",
  react:
    "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8.5 14.5s1.2 2 3.5 2 3.5-2 3.5-2M9 9.5h.01M15 9.5h.01",
  thread: "M21 12a8 8 0 0 1-11.6 7.1L4 20l1.1-4.6A8 8 0 1 1 21 12zM8 10h8M8 14h5",
  edit: "M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z",
  delete: "M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6",
  send: "M22 2 11 13M22 2l-7 20-4-9-9-4z",
  close: "M18 6 6 18M6 6l12 12",
  retry: "M21 12a9 9 0 1 1-3-6.7L21 8M21 3v5h-5",
  down: "M12 5v14M19 12l-7 7-7-7",
  lock: "M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4",
  clock: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2",
  check: "M20 6 9 17l-5-5",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  forward: "M15 14l5-5-5-5M20 9H9.5A5.5 5.5 0 0 0 4 14.5V20",
  pin: "M12 17v5M9 3h6l-1 6 3 4H7l3-4z",
  quote: "M7 7h4v4H7zM7 11c0 3-1 5-3 6M15 7h4v4h-4zM15 11c0 3-1 5-3 6",
  flag: "M4 22V4h13l-2 4 2 4H4",
  alert:
    "M12 9v4M12 17h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
} as const;

/** An icon's name. */
export type IconName = keyof typeof PATHS;

/** An icon. */
export function RoomIcon(props: { name: IconName; class?: string }): JSX.Element {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      class={props.class ?? "h-5 w-5"}
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      <path d={PATHS[props.name]} />
    </svg>
  );
}
