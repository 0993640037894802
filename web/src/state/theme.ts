/**
 * Light and dark themes: the user's choice (`system`, `light`, `dark`), the device's preference
 * (`prefers-color-scheme`), and the theme that results. The app applies {@link Theme.effective}
 * to the document (a `dark` class on `<html>` that the stylesheet's dark variant keys on).
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { KeyValueStorage } from "./storage.ts";

/** What the user chose. */
export type ThemeChoice = "system" | "light" | "dark";

/** The theme in effect. */
export type ThemeName = "light" | "dark";

/** The choices, in the order the settings screen lists them. */
export const THEME_CHOICES: readonly ThemeChoice[] = ["system", "light", "dark"];

const STORAGE_KEY = "gemeng.theme";

function isChoice(value: unknown): value is ThemeChoice {
  return value === "system" || value === "light" || value === "dark";
}

/** Options for {@link Theme}. */
export interface ThemeOptions {
  storage?: KeyValueStorage;
  /** Whether the device prefers dark at start-up. */
  systemPrefersDark?: boolean;
}

/** The theme model. */
export class Theme {
  readonly #choice = signal<ThemeChoice>("system");
  readonly #systemDark = signal(false);
  readonly #storage: KeyValueStorage | undefined;

  /** What the user chose. */
  readonly choice: ReadonlySignal<ThemeChoice> = computed(() => this.#choice.value);
  /** The theme in effect. */
  readonly effective: ReadonlySignal<ThemeName> = computed(() => {
    const choice = this.#choice.value;
    if (choice !== "system") return choice;
    return this.#systemDark.value ? "dark" : "light";
  });

  constructor(options: ThemeOptions = {}) {
    this.#storage = options.storage;
    const saved = options.storage?.getItem(STORAGE_KEY);
    if (isChoice(saved)) this.#choice.value = saved;
    this.#systemDark.value = options.systemPrefersDark ?? false;
  }

  /** Records the device's preference (the app listens to the media query). */
  setSystemPrefersDark(dark: boolean): void {
    this.#systemDark.value = dark;
  }

  /** Sets and remembers the user's choice. */
  choose(choice: ThemeChoice): void {
    this.#choice.value = choice;
    if (choice === "system") this.#storage?.removeItem(STORAGE_KEY);
    else this.#storage?.setItem(STORAGE_KEY, choice);
  }

  /** Switches to the opposite of the theme in effect (the header's toggle). */
  toggle(): void {
    this.choose(this.effective.value === "dark" ? "light" : "dark");
  }
}
