/**
 * What the room dialogs share: an action that may take a while and fail, held as signals, and
 * the catalogue message for an error from the server.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MessageKey } from "../i18n/index.ts";

/** The algorithm new encrypted rooms use. */
export const MEGOLM = "m.megolm.v1.aes-sha2";

/** A failed action, as the dialogs show it. */
export interface ActionProblem {
  key: MessageKey;
  /** The server's or the browser's words, shown after ours (may be empty). */
  message: string;
}

/** The catalogue key and detail for an error from the server or the network. */
export function problemOf(err: unknown): ActionProblem {
  const code = (err as { errcode?: string })?.errcode;
  const message = err instanceof Error ? err.message : String(err);
  if (code === "M_FORBIDDEN") return { key: "rooms.error.forbidden", message };
  if (code === "M_LIMIT_EXCEEDED") return { key: "rooms.error.rateLimited", message };
  if (code === "M_TOO_LARGE") return { key: "rooms.error.tooLarge", message };
  return { key: "rooms.error.failed", message };
}

/** An action that may take a while and fail: busy and problem as signals. */
export class Task {
  readonly #busy = signal(false);
  readonly #problem = signal<ActionProblem | null>(null);
  /** Under way. */
  readonly busy: ReadonlySignal<boolean> = computed(() => this.#busy.value);
  /** Why the last attempt failed. */
  readonly problem: ReadonlySignal<ActionProblem | null> = computed(() => this.#problem.value);

  /**
   * Runs `work` unless a run is under way; true when it succeeded. `explain` words a failure
   * for this action (default: {@link problemOf}).
   */
  async run(
    work: () => Promise<void>,
    options: { explain?: (err: unknown) => ActionProblem } = {},
  ): Promise<boolean> {
    if (this.#busy.value) return false;
    this.#busy.value = true;
    this.#problem.value = null;
    try {
      await work();
      return true;
    } catch (err) {
      console.warn("gemeng: a room action failed", err);
      this.#problem.value = (options.explain ?? problemOf)(err);
      return false;
    } finally {
      this.#busy.value = false;
    }
  }

  /** Shows a problem found before asking the server. */
  fail(key: MessageKey): void {
    this.#problem.value = { key, message: "" };
  }

  /** Forgets the last problem. */
  clear(): void {
    this.#problem.value = null;
  }
}
