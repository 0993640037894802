/** @jsxImportSource preact */
/**
 * Icons of polls and locations (decorative: the controls carry the names).
 *
 * @module
 */

import type { JSX } from "preact";

const PATHS = {
  poll: "M5 20V10M12 20V4M19 20v-7",
  pin:
    "M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21zM12 12a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z",
  crosshair: "M12 2v4M12 18v4M2 12h4M18 12h4M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8z",
  plus: "M12 5v14M5 12h14",
  minus: "M5 12h14",
  check: "M5 12l4.5 4.5L19 7",
  trophy: "M8 4h8v5a4 4 0 0 1-8 0zM8 6H5a3 3 0 0 0 3 4M16 6h3a3 3 0 0 1-3 4M12 13v4M9 20h6",
} as const;

/** A stroked 24x24 icon. */
export function PollsIcon(props: { name: keyof typeof PATHS; class?: string }): JSX.Element {
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

/** The poll icon of the composer. */
export function PollIcon(props: { class?: string }): JSX.Element {
  return <PollsIcon name="poll" class={props.class} />;
}
