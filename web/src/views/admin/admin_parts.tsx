/** @jsxImportSource preact */
/**
 * Pieces every admin console section uses: the console's text in the app's language, the API
 * client from context, loading with errors shown, labelled inputs,
 * buttons, the confirmation dialog of destructive actions, and waiting for the server's
 * background tasks. Tables and searchable lists are in `admin_lists.tsx`.
 *
 * @module
 */

import { type ComponentChildren, createContext, type JSX } from "preact";
import { useCallback, useContext, useEffect, useId, useState } from "preact/hooks";
import { type AdminKey, adminText } from "../../i18n/admin.ts";
import type { MessageParams } from "../../i18n/index.ts";
import { type AdminApi, AdminError } from "../../state/admin_api.ts";
import { useApp } from "../context.ts";
import { Dialog } from "../dialog.tsx";
import { DialogButtons, INPUT_CLASS } from "../rooms/parts.tsx";

/** The console's API client. */
export const AdminContext = createContext<AdminApi | null>(null);

/** The API client of the console around this view. */
export function useAdminApi(): AdminApi {
  const api = useContext(AdminContext);
  if (!api) throw new Error("useAdminApi outside the admin console");
  return api;
}

/** The console's messages in the app's language, and numbers, sizes and times in it too. */
export function useText() {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return {
    t: (key: AdminKey, params?: MessageParams) => adminText(locale, key, params),
    time: (ts: number | null | undefined) =>
      ts ? new Date(ts).toLocaleString(locale, { dateStyle: "short", timeStyle: "short" }) : "–",
    num: (n: number) => n.toLocaleString(locale),
    bytes: (n: number) => {
      const units = ["B", "KB", "MB", "GB", "TB"];
      let i = 0;
      while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
      return `${n.toLocaleString(locale, { maximumFractionDigits: i ? 1 : 0 })} ${units[i]}`;
    },
  };
}

/** What a failed request shows: our words for the common cases, the server's after them. */
export function problemText(t: (key: AdminKey) => string, err: unknown): string {
  if (!(err instanceof AdminError)) return `${t("failed")} ${String(err)}`;
  const key: AdminKey = err.code === "M_FORBIDDEN"
    ? "forbidden"
    : err.code === "M_NETWORK"
    ? "offline"
    : err.status === 404
    ? "notFound"
    : "failed";
  return `${t(key)} ${err.message}`;
}

/** Loads data for a view; `reload` runs `load` again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const { t } = useText();
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setProblem(null);
    load().then((value) => live && setData(value), (err) => {
      if (live) setProblem(problemText(t, err));
    });
    return () => {
      live = false;
    };
    // The caller names what the load depends on.
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data, problem, reload };
}

/** Loads an admin API path (`/v1/...`), again when the path changes. */
export function useGet(path: string) {
  const api = useAdminApi();
  return useLoad(() => api.get(path), [path]);
}

/**
 * Waits for a background task of the server (a room's deletion, a history purge) whose status
 * is at `path`: the task once complete, or null while it still runs after a minute; a failed
 * task throws its error.
 */
// deno-lint-ignore no-explicit-any
export async function waitForTask(api: AdminApi, path: string): Promise<any> {
  for (let i = 0; i < 120; i++) {
    const task = await api.get(path);
    if (task.status === "complete") return task;
    if (task.status === "failed") throw new Error(task.error ?? "failed");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return null;
}

/** An action's busy state, its problem and its success message. */
export function useAction() {
  const { t } = useText();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = async (work: () => Promise<string | void>): Promise<boolean> => {
    if (busy) return false;
    setBusy(true);
    setProblem(null);
    setDone(null);
    try {
      setDone((await work()) || null);
      return true;
    } catch (err) {
      setProblem(problemText(t, err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, done, run, setDone };
}

/** A problem, announced. */
export function Problem(props: { text: string | null }): JSX.Element {
  return (
    <div role="alert" class="empty:hidden">
      {props.text && (
        <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm break-words text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
          {props.text}
        </p>
      )}
    </div>
  );
}

/** A success message, announced politely. */
export function Done(props: { text: string | null }): JSX.Element {
  return (
    <p role="status" class="text-sm text-emerald-800 empty:hidden dark:text-emerald-300">
      {props.text}
    </p>
  );
}

const BUTTON =
  "rounded-md px-3 py-1.5 text-sm font-semibold whitespace-nowrap focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 disabled:opacity-60";
const KINDS = {
  main: "bg-sky-800 text-white hover:bg-sky-900",
  quiet:
    "border border-slate-400 bg-white text-slate-900 hover:bg-slate-100 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700",
  danger: "bg-red-700 text-white hover:bg-red-800",
};

/** A button; `label` names it for screen readers when the text alone is ambiguous. */
export function Btn(props: {
  onClick?: () => void;
  children: ComponentChildren;
  kind?: keyof typeof KINDS;
  busy?: boolean;
  submit?: boolean;
  label?: string;
}): JSX.Element {
  return (
    <button
      type={props.submit ? "submit" : "button"}
      class={`${BUTTON} ${KINDS[props.kind ?? "quiet"]}`}
      disabled={props.busy}
      aria-label={props.label}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

/** A labelled text input. */
export function Input(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: string;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
}): JSX.Element {
  const id = useId();
  return (
    <div class="flex min-w-0 flex-col gap-1">
      <label for={id} class="text-sm font-medium">{props.label}</label>
      <input
        id={id}
        type={(props.type ?? "text") as "text"}
        class={INPUT_CLASS}
        value={props.value}
        maxLength={1024}
        required={props.required}
        autocomplete={props.autocomplete ?? "off"}
        autocapitalize="none"
        spellcheck={false}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {props.hint && (
        <p id={`${id}-hint`} class="text-xs text-slate-600 dark:text-slate-300">{props.hint}</p>
      )}
    </div>
  );
}

/** A labelled text area. */
export function TextArea(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  rows: number;
  maxLength?: number;
}): JSX.Element {
  const id = useId();
  return (
    <div class="flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{props.label}</label>
      <textarea
        id={id}
        class={INPUT_CLASS}
        rows={props.rows}
        maxLength={props.maxLength}
        value={props.value}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
    </div>
  );
}

/** A labelled checkbox. */
export function Check(props: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}): JSX.Element {
  return (
    <label class="flex items-center gap-2 text-sm">
      <input
        type="checkbox"
        checked={props.checked}
        onChange={(event) => props.onChange(event.currentTarget.checked)}
      />
      {props.label}
    </label>
  );
}

/**
 * A checkbox inside a confirmation: it keeps its own state and writes it to `into[name]`, which
 * the confirmation's action reads when it runs.
 */
export function CheckInto<K extends string>(props: {
  label: string;
  into: Record<K, boolean>;
  name: K;
}): JSX.Element {
  const [checked, setChecked] = useState(props.into[props.name]);
  return (
    <Check
      label={props.label}
      checked={checked}
      onChange={(value) => [setChecked(value), props.into[props.name] = value]}
    />
  );
}

/** A form whose submit runs `onSubmit` (Enter works in its inputs). */
export function Form(props: { onSubmit: () => void; children: ComponentChildren; label?: string }) {
  return (
    <form
      class="flex flex-wrap items-end gap-3"
      aria-label={props.label}
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}

/** A section of the console with its heading. */
export function Panel(props: { title: string; children: ComponentChildren }): JSX.Element {
  const id = useId();
  return (
    <section
      aria-labelledby={id}
      class="flex min-w-0 flex-col gap-3 rounded-xl border border-slate-300 bg-white p-3 sm:p-4 dark:border-slate-700 dark:bg-slate-900"
    >
      <h2 id={id} class="text-base font-bold">{props.title}</h2>
      {props.children}
    </section>
  );
}

/**
 * Asks before a destructive action: `onConfirm` runs with the dialog open (its problem shows
 * there); the dialog closes when it succeeded.
 */
export function Confirm(props: {
  title: string;
  text: string;
  confirm: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
  children?: ComponentChildren;
}): JSX.Element {
  const { t } = useText();
  const action = useAction();
  const id = useId();
  return (
    <Dialog title={props.title} onClose={props.onClose} describedBy={id}>
      <p id={id} class="text-sm">{props.text}</p>
      {props.children}
      <Problem text={action.problem} />
      <DialogButtons>
        <Btn onClick={props.onClose}>{t("cancel")}</Btn>
        <Btn
          kind="danger"
          busy={action.busy}
          onClick={() =>
            void action.run(async () => {
              await props.onConfirm();
            }).then((ok) => ok && props.onClose())}
        >
          {props.confirm}
        </Btn>
      </DialogButtons>
    </Dialog>
  );
}

/** A confirmation to show, or none. */
export type Asking = Omit<Parameters<typeof Confirm>[0], "onClose"> | null;

/** State of one confirmation dialog: `ask` opens it, and it renders itself. */
export function useConfirm() {
  const [asking, setAsking] = useState<Asking>(null);
  const dialog = asking && <Confirm {...asking} onClose={() => setAsking(null)} />;
  return { ask: setAsking, dialog };
}

/**
 * A button whose action asks first: a click opens `asking` with `ask` (of useConfirm). Its text
 * is the dialog's confirm word unless `children` say otherwise; `named` gives it the dialog's
 * title as its name, for a row's button whose word alone does not say on what.
 */
export function AskBtn(props: {
  ask: (asking: Asking) => void;
  asking: NonNullable<Asking>;
  kind?: keyof typeof KINDS;
  named?: boolean;
  children?: ComponentChildren;
}): JSX.Element {
  return (
    <Btn
      kind={props.kind}
      label={props.named ? props.asking.title : undefined}
      onClick={() => props.ask(props.asking)}
    >
      {props.children ?? props.asking.confirm}
    </Btn>
  );
}
