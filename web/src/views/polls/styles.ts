/**
 * Classes shared by the poll and location dialogs and buttons.
 *
 * @module
 */

/** Class of the dialogs' text inputs. */
export const INPUT_CLASS =
  "w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100";

/** Class of the round icon buttons in the composer. */
export const COMPOSER_BUTTON =
  "inline-flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-700";

/** Class of small secondary buttons inside messages. */
export const SMALL_BUTTON =
  "inline-flex min-h-9 items-center justify-center gap-1 rounded-md border border-slate-400 px-3 py-1 text-sm font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800";
