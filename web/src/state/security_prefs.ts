/**
 * The user's choices about secure messaging that are not keys: whether messages from people
 * they have not verified carry a warning (off by default, as in Element; kept in account data so
 * every device of the account follows it), and "not now" for the set-up prompt on this device.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";

/** The account-data type that holds {@link SecurityPrefs.warnUnverified}. */
export const SECURITY_PREFS_TYPE = "lu.gemeng.security";

/** Where "not now" is remembered on this device (the value is the user ID that said it). */
const LATER_KEY = "gemeng.security.later";
/**
 * The user ID whose new recovery key was shown but not confirmed as saved on this device (the
 * page was closed first): the key is gone, so the prompt offers to make a new one.
 */
const UNSAVED_KEY = "gemeng.security.unsaved";

function localStore(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** The user's secure-messaging preferences. */
export class SecurityPrefs {
  readonly #warn = signal(false);
  readonly #later = signal<string | null>(localStore()?.getItem(LATER_KEY) ?? null);
  readonly #unsaved = signal<string | null>(localStore()?.getItem(UNSAVED_KEY) ?? null);
  #client: MatrixClient | null = null;

  /** Messages from people the user has not verified carry a red mark. */
  readonly warnUnverified: ReadonlySignal<boolean> = computed(() => this.#warn.value);
  /** The user ID that put the set-up prompt off on this device, if any. */
  readonly later: ReadonlySignal<string | null> = computed(() => this.#later.value);
  /** The user ID whose recovery key was shown here but never confirmed as saved, if any. */
  readonly unsaved: ReadonlySignal<string | null> = computed(() => this.#unsaved.value);

  /** Follows `client`'s account data (null when signed out). */
  attach(client: MatrixClient | null): void {
    this.#client = client;
    this.#read();
  }

  /** Account data changed: reads the preference again when it is this one. */
  accountData(event: MatrixEvent): void {
    if (event.getType() === SECURITY_PREFS_TYPE) this.#read();
  }

  #read(): void {
    const content = this.#client?.getAccountData(SECURITY_PREFS_TYPE as never)?.getContent();
    this.#warn.value = content?.warn_unverified_senders === true;
  }

  /** Turns the warning about unverified senders on or off, for every device of the account. */
  async setWarnUnverified(on: boolean): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const before = this.#warn.peek();
    this.#warn.value = on;
    const content = client.getAccountData(SECURITY_PREFS_TYPE as never)?.getContent() ?? {};
    try {
      await client.setAccountData(
        SECURITY_PREFS_TYPE as never,
        { ...content, warn_unverified_senders: on } as never,
      );
    } catch (err) {
      this.#warn.value = before;
      throw err;
    }
  }

  /** Puts the set-up prompt off on this device: a short reminder stays instead. */
  remindLater(userId: string): void {
    this.#later.value = userId;
    localStore()?.setItem(LATER_KEY, userId);
  }

  /** Remembers that `userId`'s new recovery key is (not) confirmed as saved yet. */
  keyUnsaved(userId: string, unsaved: boolean): void {
    this.#unsaved.value = unsaved ? userId : null;
    if (unsaved) localStore()?.setItem(UNSAVED_KEY, userId);
    else localStore()?.removeItem(UNSAVED_KEY);
  }
}
