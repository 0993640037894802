/** @jsxImportSource preact */
/**
 * Small pieces of the spaces views: the problem line of an action, and the input style (the
 * room dialogs' look, kept here so the chunk imports nothing of the first screen).
 *
 * @module
 */

import type { JSX } from "preact";
import type { SpacesProblem } from "../../state/spaces.ts";
import { useSpacesText } from "./spaces_text.ts";

/** The last problem of an action, announced to screen readers. */
export function ProblemLine(props: { problem: SpacesProblem | null }): JSX.Element {
  const t = useSpacesText();
  const problem = props.problem;
  return (
    <div role="alert" class="empty:hidden">
      {problem && (
        <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
          {t(problem.key)}
          {problem.message && <span class="block text-xs break-words">{problem.message}</span>}
        </p>
      )}
    </div>
  );
}

/** Classes of a text input or textarea. */
export const INPUT_CLASS =
  "rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100";

/** Classes of the row of buttons at a dialog's foot, the main one last on wide screens. */
export const BUTTON_ROW = "flex flex-col-reverse gap-2 sm:flex-row sm:justify-end";
