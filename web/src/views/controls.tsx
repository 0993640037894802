/** @jsxImportSource preact */
/**
 * Small controls shared by the screens: labelled text fields bound to a form {@link Field},
 * the problem banner, buttons, the language picker and the theme toggle.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";
import { LOCALE_NAMES, LOCALES, type MessageKey } from "../i18n/index.ts";
import type { Field, Problem } from "../state/auth_forms.ts";
import { useApp } from "./context.ts";

/** Props of {@link TextField}. */
export interface TextFieldProps {
  field: Field;
  label: MessageKey;
  hint?: MessageKey;
  type?: "text" | "password" | "url";
  autocomplete?: string;
  required?: boolean;
  onBlur?: () => void;
}

/** A labelled input bound to a form field. */
export function TextField(props: TextFieldProps): JSX.Element {
  const { i18n } = useApp();
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div class="flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{i18n.t(props.label)}</label>
      <input
        id={id}
        // Preact's input typings split by type; all three kinds take the same attributes here.
        type={(props.type ?? "text") as "text"}
        class="rounded-md border border-slate-400 bg-white px-3 py-2 text-base text-slate-900 focus:outline-2 focus:outline-offset-1 focus:outline-sky-600 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
        value={props.field.value}
        onInput={(event) => props.field.set(event.currentTarget.value)}
        onBlur={props.onBlur}
        autocomplete={props.autocomplete}
        required={props.required}
        autocapitalize="none"
        spellcheck={false}
        aria-describedby={props.hint ? hintId : undefined}
      />
      {props.hint && (
        <p id={hintId} class="text-sm text-slate-600 dark:text-slate-300">{i18n.t(props.hint)}</p>
      )}
    </div>
  );
}

/** The last problem of a form, announced to screen readers. */
export function ProblemBanner(props: { problem: Problem | null }): JSX.Element {
  const { i18n } = useApp();
  return (
    <div role="alert" class="empty:hidden">
      {props.problem && (
        <p class="rounded-md border border-red-700 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-400 dark:bg-red-950 dark:text-red-200">
          {i18n.t(props.problem.key, props.problem.params)}
        </p>
      )}
    </div>
  );
}

/** Props of {@link Button}. */
export interface ButtonProps {
  children: ComponentChildren;
  onClick?: () => void;
  type?: "button" | "submit";
  variant?: "primary" | "quiet";
  busy?: boolean;
  label?: string;
}

const BUTTON_STYLES = {
  primary:
    "bg-sky-700 text-white hover:bg-sky-800 disabled:opacity-70 dark:bg-sky-700 dark:hover:bg-sky-600",
  quiet:
    "border border-slate-400 text-slate-800 hover:bg-slate-100 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800",
};

/** A button; `busy` disables it and tells assistive technology. */
export function Button(props: ButtonProps): JSX.Element {
  return (
    <button
      type={props.type ?? "button"}
      class={`inline-flex min-h-10 items-center justify-center gap-2 rounded-md px-4 py-2 text-sm font-semibold focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ${
        BUTTON_STYLES[props.variant ?? "primary"]
      }`}
      onClick={props.onClick}
      disabled={props.busy}
      aria-busy={props.busy}
      aria-label={props.label}
    >
      {props.children}
    </button>
  );
}

/** Picks the app's language. */
export function LanguageSelect(props: { compact?: boolean }): JSX.Element {
  const { i18n } = useApp();
  const id = useId();
  return (
    <div class={props.compact ? "flex items-center gap-2" : "flex flex-col gap-1"}>
      <label for={id} class={props.compact ? "sr-only" : "text-sm font-medium"}>
        {i18n.t("settings.language")}
      </label>
      <select
        id={id}
        class="rounded-md border border-slate-400 bg-white px-2 py-2 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
        value={i18n.locale.value}
        onChange={(event) => i18n.setLocale(event.currentTarget.value as typeof LOCALES[number])}
      >
        {LOCALES.map((locale) => (
          <option key={locale} value={locale} lang={locale}>{LOCALE_NAMES[locale]}</option>
        ))}
      </select>
    </div>
  );
}

/** Switches between the light and the dark theme. */
export function ThemeToggle(): JSX.Element {
  const { i18n, theme } = useApp();
  const dark = theme.effective.value === "dark";
  return (
    <button
      type="button"
      class="rounded-md p-2 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700"
      aria-label={i18n.t(dark ? "theme.toLight" : "theme.toDark")}
      onClick={() => theme.toggle()}
    >
      <svg
        aria-hidden="true"
        viewBox="0 0 24 24"
        class="h-5 w-5"
        fill="none"
        stroke="currentColor"
        stroke-width="2"
      >
        {dark
          ? (
            <>
              <circle cx="12" cy="12" r="4" />
              <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
            </>
          )
          : <path d="M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z" />}
      </svg>
    </button>
  );
}

/**
 * A screen's heading, focused when the screen appears so keyboard and screen-reader users
 * start there.
 */
export function ScreenHeading(props: { children: ComponentChildren; class?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1} class={`outline-none ${props.class ?? ""}`}>{props.children}</h1>
  );
}

/** An in-app link: a real link (so it can open in a new tab) that navigates in place. */
export function AppLink(props: {
  href: string;
  onNavigate: () => void;
  children: ComponentChildren;
  class?: string;
}): JSX.Element {
  return (
    <a
      href={props.href}
      class={props.class ??
        "font-semibold text-sky-800 underline underline-offset-2 hover:text-sky-900 dark:text-sky-300 dark:hover:text-sky-200"}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        props.onNavigate();
      }}
    >
      {props.children}
    </a>
  );
}
