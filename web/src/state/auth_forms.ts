/**
 * View models of the sign-in and sign-up forms: field values, what the server requires,
 * whether a request is under way, and the problem to show, all as signals. The views bind
 * inputs to the fields and call `submit`.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MessageKey, MessageParams } from "../i18n/index.ts";
import {
  AuthError,
  type AuthErrorCode,
  type Credentials,
  registrationRequirements,
  resolveHomeserver,
  signInWithPassword,
  signUp,
} from "../matrix/auth.ts";

/** A message to show the user. */
export interface Problem {
  key: MessageKey;
  params?: MessageParams;
}

const ERROR_MESSAGES: Readonly<Record<AuthErrorCode, MessageKey>> = {
  badLogin: "error.badLogin",
  userInUse: "error.userInUse",
  invalidUsername: "error.invalidUsername",
  badToken: "error.badToken",
  registrationClosed: "error.registrationClosed",
  unreachable: "error.unreachable",
  rateLimited: "error.rateLimited",
  unsupportedFlow: "error.unsupportedFlow",
  weakPassword: "error.weakPassword",
  deactivated: "error.deactivated",
  unknown: "error.unknown",
};

/** The message for a failure. */
export function problemFor(err: unknown, server: string): Problem {
  const authError = err instanceof AuthError ? err : new AuthError("unknown", String(err));
  return {
    key: ERROR_MESSAGES[authError.code],
    params: { url: server, message: authError.message },
  };
}

/** What the forms hand a finished sign-in or sign-up to (the session). */
export type SessionStarter = (credentials: Credentials) => Promise<void> | void;

/** A text field's value. */
export class Field {
  readonly value = signal("");

  constructor(initial = "") {
    this.value.value = initial;
  }

  /** Sets the value (the view's input handler). */
  set(value: string): void {
    this.value.value = value;
  }
}

/** The sign-in form. */
export class SignInForm {
  readonly server: Field;
  readonly username = new Field();
  readonly password = new Field();
  readonly #busy = signal(false);
  readonly #problem = signal<Problem | null>(null);
  readonly #start: SessionStarter;

  /** A request is under way. */
  readonly busy: ReadonlySignal<boolean> = computed(() => this.#busy.value);
  /** What went wrong last. */
  readonly problem: ReadonlySignal<Problem | null> = computed(() => this.#problem.value);

  constructor(options: { defaultServer: string; start: SessionStarter }) {
    this.server = new Field(options.defaultServer);
    this.#start = options.start;
  }

  /** Signs in; on success the session takes over and the password is forgotten. */
  async submit(): Promise<void> {
    if (this.#busy.value) return;
    const server = this.server.value.value.trim();
    const username = this.username.value.value.trim();
    const password = this.password.value.value;
    if (!server || !username || !password) {
      this.#problem.value = { key: "error.missingFields" };
      return;
    }
    this.#busy.value = true;
    this.#problem.value = null;
    try {
      const homeserverUrl = await resolveHomeserver(server);
      const credentials = await signInWithPassword(homeserverUrl, { username, password });
      this.password.set("");
      await this.#start(credentials);
    } catch (err) {
      this.#problem.value = problemFor(err, server);
    } finally {
      this.#busy.value = false;
    }
  }
}

/** What the sign-up form knows about the server. */
export type RequirementsState =
  | { state: "checking" }
  | { state: "ready"; homeserverUrl: string; tokenRequired: boolean }
  | { state: "failed"; problem: Problem };

/** The sign-up form. */
export class SignUpForm {
  readonly server: Field;
  readonly username = new Field();
  readonly password = new Field();
  readonly confirmPassword = new Field();
  readonly token = new Field();
  readonly #busy = signal(false);
  readonly #problem = signal<Problem | null>(null);
  readonly #requirements = signal<RequirementsState>({ state: "checking" });
  readonly #start: SessionStarter;
  #checkedServer: string | null = null;
  #checkId = 0;

  /** A request is under way. */
  readonly busy: ReadonlySignal<boolean> = computed(() => this.#busy.value);
  /** What went wrong last. */
  readonly problem: ReadonlySignal<Problem | null> = computed(() => this.#problem.value);
  /** What the server asks of new accounts. */
  readonly requirements: ReadonlySignal<RequirementsState> = computed(() =>
    this.#requirements.value
  );
  /** Whether to show the registration token field. */
  readonly tokenRequired: ReadonlySignal<boolean> = computed(() => {
    const req = this.#requirements.value;
    return req.state === "ready" && req.tokenRequired;
  });

  constructor(options: { defaultServer: string; start: SessionStarter }) {
    this.server = new Field(options.defaultServer);
    this.#start = options.start;
  }

  /**
   * Asks the server what sign-up needs, unless it was asked already for this address (the
   * view calls this when the form appears and when the server field loses focus).
   */
  async checkServer(): Promise<void> {
    const server = this.server.value.value.trim();
    if (!server || server === this.#checkedServer) return;
    this.#checkedServer = server;
    const id = ++this.#checkId;
    this.#requirements.value = { state: "checking" };
    try {
      const homeserverUrl = await resolveHomeserver(server);
      const { tokenRequired } = await registrationRequirements(homeserverUrl);
      if (id === this.#checkId) {
        this.#requirements.value = { state: "ready", homeserverUrl, tokenRequired };
      }
    } catch (err) {
      if (id === this.#checkId) {
        this.#requirements.value = { state: "failed", problem: problemFor(err, server) };
        this.#checkedServer = null; // let the user try the same address again
      }
    }
  }

  /** Creates the account; on success the session takes over. */
  async submit(): Promise<void> {
    if (this.#busy.value) return;
    const server = this.server.value.value.trim();
    const username = this.username.value.value.trim();
    const password = this.password.value.value;
    const token = this.token.value.value.trim();
    if (!server || !username || !password) {
      this.#problem.value = { key: "error.missingFields" };
      return;
    }
    if (password !== this.confirmPassword.value.value) {
      this.#problem.value = { key: "error.passwordMismatch" };
      return;
    }
    this.#busy.value = true;
    this.#problem.value = null;
    try {
      await this.checkServer();
      const req = this.#requirements.value;
      if (req.state === "failed") {
        this.#problem.value = req.problem;
        return;
      }
      if (req.state !== "ready") return;
      if (req.tokenRequired && !token) {
        this.#problem.value = { key: "error.missingFields" };
        return;
      }
      const credentials = await signUp(req.homeserverUrl, {
        username,
        password,
        token: token || undefined,
      });
      this.password.set("");
      this.confirmPassword.set("");
      await this.#start(credentials);
    } catch (err) {
      this.#problem.value = problemFor(err, server);
    } finally {
      this.#busy.value = false;
    }
  }
}
