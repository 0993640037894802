/** @jsxImportSource preact */
/**
 * Icons of the file views (decorative: the controls carry the names).
 *
 * @module
 */

import type { JSX } from "preact";

const PATHS = {
  attach:
    "M21.4 11.1l-8.5 8.5a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8",
  mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
  send: "M4 12l16-8-6 16-2.5-6.5z",
  close: "M6 6l12 12M18 6L6 18",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  file: "M6 3h8l4 4v14H6zM14 3v4h4",
  retry: "M4 12a8 8 0 1 0 2.3-5.7M4 4v4h4",
} as const;

/** A stroked 24x24 icon. */
export function Icon(props: { name: keyof typeof PATHS; class?: string }): JSX.Element {
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

/** A filled play triangle or pause bars. */
export function PlayIcon(props: { playing: boolean; class?: string }): JSX.Element {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      class={props.class ?? "h-5 w-5"}
      fill="currentColor"
    >
      {props.playing ? <path d="M7 5h4v14H7zM13 5h4v14h-4z" /> : <path d="M8 5v14l11-7z" />}
    </svg>
  );
}

/** Class of the small round icon buttons of the composer and players. */
export const ICON_BUTTON =
  "inline-flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-700";

/** Class of the small text buttons in file messages. */
export const SMALL_BUTTON =
  "inline-flex min-h-9 items-center gap-1 rounded-md border border-slate-400 px-3 py-1 text-sm font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800";
