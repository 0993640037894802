/**
 * Languages of the app: the catalogues, choosing one from the browser's preferences, and the
 * {@link I18n} model whose `t` re-renders any component that used it when the language changes
 * (it reads a signal).
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import { type Catalogue, en, type MessageKey } from "./en.ts";
import { fr } from "./fr.ts";
import { de } from "./de.ts";
import { lb } from "./lb.ts";
import type { KeyValueStorage } from "../state/storage.ts";
import { elideFrench, formatNumber } from "./format.ts";

export type { Catalogue, MessageKey };

/** The languages the app speaks. */
export const LOCALES = ["en", "fr", "de", "lb"] as const;

/** One of {@link LOCALES}. */
export type Locale = typeof LOCALES[number];

const CATALOGUES: Readonly<Record<Locale, Catalogue>> = { en, fr, de, lb };

/** Each language's name in that language (shown in the language picker). */
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = {
  en: "English",
  fr: "Français",
  de: "Deutsch",
  lb: "Lëtzebuergesch",
};

const STORAGE_KEY = "gemeng.locale";

/** Values filled into a message's `{name}` placeholders. */
export type MessageParams = Readonly<Record<string, string | number>>;

/** Keys that have `.one` / `.other` plural forms, without the suffix. */
export type PluralKey = MessageKey extends infer K ? K extends `${infer Base}.other` ? Base : never
  : never;

function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/**
 * The first of the browser's preferred languages that the app speaks, matched on the primary
 * subtag (`fr-LU` -> `fr`); English when none matches.
 */
export function pickLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split("-")[0];
    if (isLocale(primary)) return primary;
  }
  return "en";
}

/** Fills `{name}` placeholders; unknown placeholders are left as they are. */
export function format(template: string, params?: MessageParams): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/** Options for {@link I18n}. */
export interface I18nOptions {
  /** Where the user's choice is kept (localStorage in the app). */
  storage?: KeyValueStorage;
  /** The browser's preferred languages (`navigator.languages`). */
  preferred?: readonly string[];
}

/** The current language and message lookup. */
export class I18n {
  readonly #locale = signal<Locale>("en");
  readonly #storage: KeyValueStorage | undefined;
  /** The language in use. */
  readonly locale: ReadonlySignal<Locale> = computed(() => this.#locale.value);

  constructor(options: I18nOptions = {}) {
    this.#storage = options.storage;
    const saved = options.storage?.getItem(STORAGE_KEY);
    this.#locale.value = isLocale(saved) ? saved : pickLocale(options.preferred ?? []);
  }

  /** Switches the language and remembers the choice. */
  setLocale(locale: Locale): void {
    this.#locale.value = locale;
    this.#storage?.setItem(STORAGE_KEY, locale);
  }

  /**
   * The message for `key` in the current language, with its placeholders filled (in French,
   * with "de", "que", "le", "la" elided before a name that starts with a vowel).
   */
  t(key: MessageKey, params?: MessageParams): string {
    const locale = this.#locale.value;
    const template = CATALOGUES[locale][key];
    return format(locale === "fr" && params ? elideFrench(template, params) : template, params);
  }

  /** The plural form of `base` for `count` (`{count}` is filled in, written as `Intl` does). */
  plural(base: PluralKey, count: number): string {
    const locale = this.#locale.value;
    const rule = new Intl.PluralRules(locale).select(count);
    const key = `${base}.${rule}` in en ? `${base}.${rule}` : `${base}.other`;
    return this.t(key as MessageKey, { count: formatNumber(locale, count) });
  }
}
