/** @jsxImportSource preact */
/**
 * Finding people: a search field over the user directory (a full Matrix ID also works), the
 * people found as buttons, and, when several may be chosen, the chosen ones with a button each
 * to take them off again.
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import type { MessageKey } from "../../i18n/index.ts";
import { type PickedUser, userLabel, type UserPicker } from "../../state/user_picker.ts";
import { useApp } from "../context.ts";
import { CloseIcon } from "./icons.tsx";

/** Props of {@link UserPickerField}. */
export interface UserPickerFieldProps {
  picker: UserPicker;
  /** Picking one person does this (start a chat); absent: people are added to the chosen. */
  onPick?: (user: PickedUser) => void;
  /** What choosing a found person does (their button's description). */
  pickHint: MessageKey;
  busy?: boolean;
}

const STATUS_KEYS: Partial<Record<string, MessageKey>> = {
  searching: "rooms.picker.searching",
  failed: "rooms.picker.failed",
};

/** The people search of the room dialogs. */
export function UserPickerField(props: UserPickerFieldProps): JSX.Element {
  const { i18n } = useApp();
  const { picker } = props;
  const id = useId();
  const results = picker.results.value;
  const status = picker.status.value;
  const chosen = picker.chosen.value;
  const pick = (user: PickedUser) => props.onPick ? props.onPick(user) : picker.choose(user);
  const statusKey = status === "done" && results.length === 0
    ? "rooms.picker.none"
    : STATUS_KEYS[status];
  return (
    <div class="flex flex-col gap-2">
      <label for={id} class="text-sm font-medium">{i18n.t("rooms.picker.label")}</label>
      <input
        id={id}
        type="search"
        data-autofocus
        class="rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
        value={picker.query.value}
        autocomplete="off"
        autocapitalize="none"
        spellcheck={false}
        aria-describedby={`${id}-hint`}
        onInput={(event) => picker.search(event.currentTarget.value)}
        onKeyDown={(event) => {
          // Enter picks the only person found; it never submits the surrounding form.
          if (event.key !== "Enter") return;
          event.preventDefault();
          if (results.length === 1 && !props.busy) pick(results[0]);
        }}
      />
      <p id={`${id}-hint`} class="text-sm text-slate-600 dark:text-slate-300">
        {i18n.t("rooms.picker.hint")}
      </p>
      <p role="status" class="text-sm text-slate-700 empty:hidden dark:text-slate-200">
        {statusKey ? i18n.t(statusKey, { query: picker.query.value.trim() }) : ""}
      </p>
      <p id={`${id}-action`} hidden>{i18n.t(props.pickHint)}</p>
      {results.length > 0 && (
        <ul class="flex flex-col gap-1" aria-label={i18n.t("rooms.picker.results")}>
          {results.map((user) => (
            <li key={user.userId}>
              <button
                type="button"
                disabled={props.busy}
                aria-describedby={`${id}-action`}
                class="flex w-full min-w-0 flex-col items-start rounded-md border border-slate-300 px-3 py-2 text-left hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-600 dark:hover:bg-slate-800"
                onClick={() => pick(user)}
              >
                <span class="max-w-full truncate text-sm font-semibold">{userLabel(user)}</span>
                {user.displayName && " "}
                {user.displayName && (
                  <span class="max-w-full truncate text-xs text-slate-600 dark:text-slate-300">
                    {user.userId}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      )}
      {!props.onPick && chosen.length > 0 && (
        <div class="flex flex-col gap-1">
          <h3 class="text-sm font-medium">{i18n.t("rooms.picker.chosen")}</h3>
          <ul class="flex flex-wrap gap-2">
            {chosen.map((user) => (
              <li
                key={user.userId}
                class="flex max-w-full items-center gap-1 rounded-full bg-sky-100 py-1 pr-1 pl-3 text-sm text-sky-950 dark:bg-sky-900 dark:text-sky-50"
              >
                <span class="truncate" title={user.userId}>{userLabel(user)}</span>
                <button
                  type="button"
                  class="rounded-full p-1 hover:bg-sky-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-sky-800"
                  aria-label={i18n.t("rooms.picker.remove", { name: userLabel(user) })}
                  onClick={() => picker.unchoose(user.userId)}
                >
                  <CloseIcon />
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
