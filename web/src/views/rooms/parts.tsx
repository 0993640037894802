/** @jsxImportSource preact */
/**
 * Small pieces the room dialogs share: the problem line of an action and the row of buttons
 * at a dialog's foot.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import type { ActionProblem } from "../../state/room_task.ts";
import { useApp } from "../context.ts";

/** The last problem of an action, announced to screen readers. */
export function ProblemText(props: { problem: ActionProblem | null }): JSX.Element {
  const { i18n } = useApp();
  const problem = props.problem;
  return (
    <div role="alert" class="empty:hidden">
      {problem && (
        <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
          {i18n.t(problem.key)}
          {problem.message && <span class="block text-xs break-words">{problem.message}</span>}
        </p>
      )}
    </div>
  );
}

/** The buttons at the foot of a dialog, the main one last (right) on wide screens. */
export function DialogButtons(props: { children: ComponentChildren }): JSX.Element {
  return <div class="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">{props.children}</div>;
}

/** The room's name as the list shows it. */
export function useRoomName(roomId: string): string {
  const { i18n, session } = useApp();
  const summary = session.rooms.rooms.value.find((room) => room.roomId === roomId);
  return summary?.name ?? i18n.t("shell.unnamedRoom");
}

/** Classes of a small text input or textarea. */
export const INPUT_CLASS =
  "rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 disabled:bg-slate-100 disabled:text-slate-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100 dark:disabled:bg-slate-900 dark:disabled:text-slate-300";
