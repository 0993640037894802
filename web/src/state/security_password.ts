/**
 * User-interactive authentication by password for the security settings: uploading
 * cross-signing keys and signing out another device may need the account password. The request
 * is tried without auth first; when the server answers with a 401 challenge the prompt opens,
 * and a wrong password asks again. An account of single sign-on, which has no password,
 * confirms at its identity provider instead (the server's `m.login.sso` fallback page).
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { AuthDict } from "matrix-js-sdk";
import type { MessageKey } from "../i18n/index.ts";

/** The open password prompt. */
export interface PasswordPromptState {
  /** Why it asks again (a wrong password), if it does. */
  problem: MessageKey | null;
  /** The password was sent; waiting for the server. */
  busy: boolean;
  /**
   * For an account of single sign-on (no password): the server's fallback page where the
   * person confirms with their identity provider, opened by {@link PasswordPrompt.openSso}.
   */
  ssoUrl?: string;
  /** The last confirmation at the provider did not complete the stage. */
  ssoFailed?: boolean;
}

/** The stage an account without a password confirms with (server: docs/auth.md). */
const SSO_STAGE = "m.login.sso";

/** Thrown when the user closes the prompt. */
export class PasswordCancelled extends Error {
  readonly code = "cancelled";
  constructor() {
    super("cancelled");
    this.name = "PasswordCancelled";
  }
}

interface Challenge {
  session?: string;
  flows?: { stages?: string[] }[];
}

/** The server's 401 challenge in an SDK error, if that is what it is. */
function challengeOf(err: unknown): Challenge | null {
  const e = err as { httpStatus?: number; data?: Challenge } | null;
  if (e?.httpStatus === 401 && Array.isArray(e.data?.flows)) return e.data!;
  return null;
}

/** Asks for the account password on behalf of UIA-protected requests. */
export class PasswordPrompt {
  readonly #state = signal<PasswordPromptState | null>(null);
  #pending: { resolve(password: string): void; reject(err: Error): void } | null = null;

  /** The prompt, when open. */
  readonly state: ReadonlySignal<PasswordPromptState | null> = computed(() => this.#state.value);

  /** Sends the password typed in the prompt. */
  submit(password: string): void {
    const pending = this.#pending;
    if (!pending || !password) return;
    this.#pending = null;
    this.#state.value = { problem: null, busy: true };
    pending.resolve(password);
  }

  /** Closes the prompt; the operation that asked stops. */
  cancel(): void {
    const pending = this.#pending;
    this.#pending = null;
    this.#state.value = null;
    pending?.reject(new PasswordCancelled());
  }

  /** Opens the provider's window; set while the SSO confirmation waits (security_sso.ts). */
  #openSso: (() => void) | null = null;

  /**
   * Opens the provider's confirmation window (call it from the click that asks for it, or the
   * browser blocks the window).
   */
  openSso(): void {
    this.#openSso?.();
  }

  /**
   * Shows the SSO confirmation at `ssoUrl` and settles once `open`'s window reports done (its
   * callback), or rejects with {@link PasswordCancelled}. Used by security_sso.ts.
   */
  waitForSso(
    ssoUrl: string,
    options: { failed: boolean; open: (url: string, done: () => void) => void },
  ): Promise<void> {
    this.#pending?.reject(new PasswordCancelled());
    this.#state.value = { problem: null, busy: false, ssoUrl, ssoFailed: options.failed };
    return new Promise((resolve, reject) => {
      const pending = { resolve: () => resolve(), reject };
      this.#pending = pending;
      this.#openSso = () =>
        options.open(ssoUrl, () => {
          if (this.#pending !== pending) return;
          this.#pending = null;
          this.#state.value = { problem: null, busy: true, ssoUrl };
          resolve();
        });
    });
  }

  /** Closes the prompt when nothing waits on it any more. */
  settle(): void {
    if (!this.#pending) this.#state.value = null;
  }

  #ask(problem: MessageKey | null): Promise<string> {
    this.#pending?.reject(new PasswordCancelled());
    this.#state.value = { problem, busy: false };
    return new Promise((resolve, reject) => this.#pending = { resolve, reject });
  }

  /**
   * Runs `makeRequest` (the SDK's UIA callback shape): first without auth; on a 401 challenge
   * that offers a password stage, with the password the user types, until it is right or the
   * user cancels.
   */
  async run<T>(
    userId: string,
    makeRequest: (auth: AuthDict | null) => Promise<T>,
    options: { homeserverUrl?: string } = {},
  ): Promise<T> {
    let challenge: Challenge | null;
    try {
      return await makeRequest(null);
    } catch (err) {
      challenge = challengeOf(err);
      // The server offers SSO alone only to accounts that have no password.
      const offersSso = challenge?.flows?.some((flow) =>
        flow.stages?.length === 1 && flow.stages[0] === SSO_STAGE
      );
      if (challenge && offersSso && options.homeserverUrl) {
        const { confirmAtProvider } = await import("./security_sso.ts");
        return await confirmAtProvider(this, {
          session: challenge.session ?? "",
          homeserverUrl: options.homeserverUrl,
          makeRequest,
          isChallenge: (e) => challengeOf(e) !== null,
        });
      }
      const offersPassword = challenge?.flows?.some((flow) =>
        flow.stages?.includes("m.login.password")
      );
      if (!challenge || !offersPassword) throw err;
    }
    let problem: MessageKey | null = null;
    try {
      for (;;) {
        const password = await this.#ask(problem);
        try {
          return await makeRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user: userId },
            password,
            session: challenge.session,
          });
        } catch (err) {
          const again = challengeOf(err);
          if (!again) throw err;
          challenge = { ...challenge, ...again };
          problem = "security.wrongPassword";
        }
      }
    } finally {
      if (!this.#pending) this.#state.value = null;
    }
  }
}

/** Thrown by {@link withPassword} when the server rejects the password the user typed. */
export class WrongPassword extends Error {
  readonly code = "wrong_password";
  constructor() {
    super("wrong password");
    this.name = "WrongPassword";
  }
}

/**
 * Runs a UIA-protected request with a password the user has already typed (changing the
 * password, signing out other devices, deactivating): first without auth to get the server's
 * session, then with the password. A server that needs no auth never sees the password; one
 * that answers the password with another challenge means the password is wrong.
 */
export async function withPassword<T>(
  userId: string,
  password: string,
  makeRequest: (auth: AuthDict | null) => Promise<T>,
): Promise<T> {
  let challenge: Challenge | null;
  try {
    return await makeRequest(null);
  } catch (err) {
    challenge = challengeOf(err);
    if (!challenge) throw err;
  }
  try {
    return await makeRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: userId },
      password,
      session: challenge.session,
    });
  } catch (err) {
    if (challengeOf(err)) throw new WrongPassword();
    throw err;
  }
}
