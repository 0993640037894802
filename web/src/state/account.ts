/**
 * The account part of the settings: changing the password, signing out every other device, and
 * deactivating the account. Each asks for the account password, which the server checks through
 * user-interactive auth ({@link withPassword}).
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import { type ActionProblem, problemOf, Task } from "./room_task.ts";
import { withPassword, WrongPassword } from "./security_password.ts";

/** What the last successful action was, for the status line. */
export type AccountNotice =
  | { kind: "passwordChanged" }
  | { kind: "signedOutOthers"; count: number }
  | null;

/** Longest password the forms send; the server has its own limit too. */
const MAX_PASSWORD = 1024;

function explain(err: unknown): ActionProblem {
  if (err instanceof WrongPassword) return { key: "account.wrongPassword", message: "" };
  const code = (err as { errcode?: string })?.errcode;
  if (code === "M_WEAK_PASSWORD") return { key: "account.weakPassword", message: "" };
  const problem = problemOf(err);
  return problem.key === "rooms.error.failed" ? { ...problem, key: "account.failed" } : problem;
}

/** Password change, signing out other devices and deactivation. */
export class AccountModel {
  readonly #app: AppModel;
  readonly #notice = signal<AccountNotice>(null);
  /** What just succeeded. */
  readonly notice: ReadonlySignal<AccountNotice> = computed(() => this.#notice.value);
  /** Changing the password. */
  readonly password = new Task();
  /** Signing out the other devices. */
  readonly devices = new Task();
  /** Deactivating the account. */
  readonly deactivation = new Task();

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
    }, { explain });
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
    }, { explain });
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
    }, { explain });
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
