/**
 * The account part of the settings: changing the password, signing out every other device, and
 * deactivating the account. Each asks for the account password, which the server checks through
 * user-interactive auth ({@link withPassword}).
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { AccountKey } from "../i18n/account.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import { withPassword, WrongPassword } from "./security_password.ts";

/** A failed action of the account or profile settings, as the forms show it. */
export interface AccountProblem {
  key: AccountKey;
  /** The server's or the browser's words, shown after ours (may be empty). */
  message: string;
}

/** The message for an error from the server or the network. */
export function explainProblem(err: unknown): AccountProblem {
  if (err instanceof WrongPassword) return { key: "account.wrongPassword", message: "" };
  const code = (err as { errcode?: string })?.errcode;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "M_WEAK_PASSWORD":
      return { key: "account.weakPassword", message: "" };
    case "M_FORBIDDEN":
      return { key: "account.forbidden", message };
    case "M_LIMIT_EXCEEDED":
      return { key: "account.rateLimited", message: "" };
    case "M_TOO_LARGE":
      return { key: "account.tooLarge", message: "" };
    default:
      return { key: "account.failed", message };
  }
}

/** An action of a settings form that may take a while and fail: busy and problem as signals. */
export class FormTask {
  readonly #busy = signal(false);
  readonly #problem = signal<AccountProblem | null>(null);
  /** Under way. */
  readonly busy: ReadonlySignal<boolean> = computed(() => this.#busy.value);
  /** Why the last attempt failed. */
  readonly problem: ReadonlySignal<AccountProblem | null> = computed(() => this.#problem.value);

  /** Runs `work` unless a run is under way; true when it succeeded. */
  async run(work: () => Promise<void>): Promise<boolean> {
    if (this.#busy.value) return false;
    this.#busy.value = true;
    this.#problem.value = null;
    try {
      await work();
      return true;
    } catch (err) {
      console.warn("gemeng: an account action failed", err);
      this.#problem.value = explainProblem(err);
      return false;
    } finally {
      this.#busy.value = false;
    }
  }

  /** Shows a problem found before asking the server. */
  fail(key: AccountKey): void {
    this.#problem.value = { key, message: "" };
  }

  /** Forgets the last problem. */
  clear(): void {
    this.#problem.value = null;
  }
}

/** What the last successful action was, for the status line. */
export type AccountNotice =
  | { kind: "passwordChanged" }
  | { kind: "signedOutOthers"; count: number }
  | null;

/** Longest password the forms send; the server has its own limit too. */
const MAX_PASSWORD = 1024;

/** Password change, signing out other devices and deactivation. */
export class AccountModel {
  readonly #app: AppModel;
  readonly #notice = signal<AccountNotice>(null);
  /** What just succeeded. */
  readonly notice: ReadonlySignal<AccountNotice> = computed(() => this.#notice.value);
  /** Changing the password. */
  readonly password = new FormTask();
  /** Signing out the other devices. */
  readonly devices = new FormTask();
  /** Deactivating the account. */
  readonly deactivation = new FormTask();

  constructor(app: AppModel) {
    this.#app = app;
  }

  #signedIn() {
    const client = this.#app.session.clientReady.value;
    const userId = this.#app.session.userId.value;
    return client && userId ? { client, userId } : null;
  }

  /**
   * Changes the password after checking the current one; the server signs out the other
   * devices (`logout_devices`, its default). True when it changed.
   */
  async changePassword(
    fields: { current: string; next: string; confirm: string },
  ): Promise<boolean> {
    const me = this.#signedIn();
    if (!me) return false;
    this.#notice.value = null;
    if (!fields.current || !fields.next || !fields.confirm) {
      this.password.fail("account.missingFields");
      return false;
    }
    if (fields.next !== fields.confirm) {
      this.password.fail("account.passwordMismatch");
      return false;
    }
    const next = fields.next.slice(0, MAX_PASSWORD);
    const ok = await this.password.run(async () => {
      await withPassword(
        me.userId,
        fields.current.slice(0, MAX_PASSWORD),
        // Without auth the field is left out: JSON drops undefined, not null.
        (auth) => me.client.setPassword((auth ?? undefined) as never, next, true),
      );
    });
    if (ok) this.#notice.value = { kind: "passwordChanged" };
    return ok;
  }

  /** Signs out every device of the account but this one. True when it worked. */
  async signOutOthers(password: string): Promise<boolean> {
    const me = this.#signedIn();
    if (!me) return false;
    this.#notice.value = null;
    if (!password) {
      this.devices.fail("account.missingFields");
      return false;
    }
    let count = 0;
    const ok = await this.devices.run(async () => {
      const own = me.client.getDeviceId();
      const { devices } = await me.client.getDevices();
      const others = devices.map((device) => device.device_id).filter((id) => id !== own);
      count = others.length;
      if (count === 0) return;
      await withPassword(
        me.userId,
        password.slice(0, MAX_PASSWORD),
        (auth) => me.client.deleteMultipleDevices(others, auth ?? undefined),
      );
    });
    if (ok) this.#notice.value = { kind: "signedOutOthers", count };
    return ok;
  }

  /**
   * Deactivates the account (and asks the server to erase its data when `erase`), then forgets
   * the session here: its token no longer works.
   */
  async deactivate(password: string, options: { erase: boolean }): Promise<boolean> {
    const me = this.#signedIn();
    if (!me) return false;
    if (!password) {
      this.deactivation.fail("account.missingFields");
      return false;
    }
    const ok = await this.deactivation.run(async () => {
      await withPassword(
        me.userId,
        password.slice(0, MAX_PASSWORD),
        (auth) => me.client.deactivateAccount(auth ?? undefined, options.erase),
      );
    });
    if (ok) await this.#app.session.signOut();
    return ok;
  }

  /** Forgets the last notice (a form was edited again). */
  clearNotice(): void {
    this.#notice.value = null;
  }
}

/** The app's account model, made on first use. */
export function accountModel(app: AppModel): AccountModel {
  return featureModel(app, "account", (a) => new AccountModel(a));
}
