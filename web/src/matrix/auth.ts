/**
 * Signing in and signing up through matrix-js-sdk: finding the homeserver behind what the user
 * typed, password login, and registration with user-interactive authentication (the
 * `m.login.dummy` and `m.login.registration_token` stages). Failures become an
 * {@link AuthError} whose `code` the view models turn into a message.
 *
 * @module
 */

import { loadSdk } from "./sdk.ts";

/** What a session needs to resume: kept in storage across reloads. */
export interface Credentials {
  homeserverUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
}

/** Why signing in or up failed. */
export type AuthErrorCode =
  | "badLogin"
  | "userInUse"
  | "invalidUsername"
  | "badToken"
  | "registrationClosed"
  | "unreachable"
  | "rateLimited"
  | "unsupportedFlow"
  | "weakPassword"
  | "deactivated"
  | "unknown";

/** A failed sign-in or sign-up. */
export class AuthError extends Error {
  /** What went wrong, as the UI distinguishes it. */
  readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

/** The UIA stages sign-up knows how to complete. */
const DUMMY_STAGE = "m.login.dummy";
const TOKEN_STAGE = "m.login.registration_token";
const SUPPORTED_STAGES = new Set([DUMMY_STAGE, TOKEN_STAGE]);

/** The display name new devices get. */
export const DEVICE_DISPLAY_NAME = "gemeng web";

/**
 * Turns what the user typed into a base URL: `example.org` -> `https://example.org`,
 * trailing slashes dropped. Throws `unreachable` for something that is not a URL.
 */
export function normaliseServerInput(input: string): string {
  const trimmed = input.trim();
  const withScheme = /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AuthError("unreachable", `not a server address: ${input}`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

async function answersClientApi(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/_matrix/client/versions`);
    if (!res.ok) return false;
    const body = await res.json();
    return Array.isArray(body?.versions);
  } catch {
    return false;
  }
}

/**
 * The homeserver behind what the user typed: the address itself when it answers the
 * Client-Server API, otherwise what its `.well-known/matrix/client` names.
 */
export async function resolveHomeserver(input: string): Promise<string> {
  const baseUrl = normaliseServerInput(input);
  if (await answersClientApi(baseUrl)) return baseUrl;
  const sdk = await loadSdk();
  const found = await sdk.AutoDiscovery.findClientConfig(new URL(baseUrl).host);
  const homeserver = found["m.homeserver"];
  if (homeserver?.state === sdk.AutoDiscovery.SUCCESS && homeserver.base_url) {
    return homeserver.base_url.replace(/\/+$/, "");
  }
  throw new AuthError("unreachable", `no Matrix server at ${baseUrl}`);
}

interface MatrixErrorLike {
  errcode?: string;
  httpStatus?: number;
  data?: Record<string, unknown>;
  message?: string;
}

function asMatrixError(err: unknown): MatrixErrorLike {
  return typeof err === "object" && err !== null ? err as MatrixErrorLike : {};
}

/** Maps a failed request to an {@link AuthError}. */
export function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  const e = asMatrixError(err);
  const message = e.message ?? String(err);
  switch (e.errcode) {
    case "M_FORBIDDEN":
      return new AuthError("badLogin", message);
    case "M_USER_DEACTIVATED":
      return new AuthError("deactivated", message);
    case "M_USER_IN_USE":
      return new AuthError("userInUse", message);
    case "M_INVALID_USERNAME":
    case "M_EXCLUSIVE":
      return new AuthError("invalidUsername", message);
    case "M_LIMIT_EXCEEDED":
      return new AuthError("rateLimited", message);
    case "M_WEAK_PASSWORD":
    case "M_PASSWORD_TOO_SHORT":
    case "M_PASSWORD_NO_DIGIT":
    case "M_PASSWORD_NO_UPPERCASE":
    case "M_PASSWORD_NO_LOWERCASE":
    case "M_PASSWORD_NO_SYMBOL":
    case "M_PASSWORD_IN_DICTIONARY":
      return new AuthError("weakPassword", message);
  }
  if (e.httpStatus === undefined && !e.errcode) return new AuthError("unreachable", message);
  return new AuthError("unknown", message);
}

/** Signs in with a user name (or full Matrix ID) and password. */
export async function signInWithPassword(
  homeserverUrl: string,
  login: { username: string; password: string },
): Promise<Credentials> {
  const sdk = await loadSdk();
  const client = sdk.createClient({ baseUrl: homeserverUrl });
  try {
    const res = await client.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: login.username },
      password: login.password,
      initial_device_display_name: DEVICE_DISPLAY_NAME,
    });
    // The response's `well_known` is not followed: the app has just reached this server at
    // `homeserverUrl`, while the advertised address may be one this browser cannot reach
    // (a server whose public_base_url names another host or port).
    return {
      homeserverUrl,
      userId: res.user_id,
      deviceId: res.device_id,
      accessToken: res.access_token,
    };
  } catch (err) {
    throw toAuthError(err);
  }
}

/** What a server asks of new accounts. */
export interface RegistrationRequirements {
  /** Every flow the app can complete needs a registration token. */
  tokenRequired: boolean;
}

interface UiaChallenge {
  session?: string;
  flows: { stages: string[] }[];
  completed: string[];
}

function uiaChallenge(err: unknown): UiaChallenge | undefined {
  const e = asMatrixError(err);
  const flows = e.data?.flows;
  if (e.httpStatus !== 401 || !Array.isArray(flows)) return undefined;
  return {
    session: typeof e.data?.session === "string" ? e.data.session : undefined,
    flows: flows.filter((flow) => Array.isArray(flow?.stages)),
    completed: Array.isArray(e.data?.completed) ? e.data.completed as string[] : [],
  };
}

function supportedFlows(challenge: UiaChallenge): string[][] {
  return challenge.flows.map((flow) => flow.stages)
    .filter((stages) => stages.every((stage) => SUPPORTED_STAGES.has(stage)));
}

function requirementsOf(challenge: UiaChallenge): RegistrationRequirements {
  const flows = supportedFlows(challenge);
  if (flows.length === 0) throw new AuthError("unsupportedFlow", "no supported sign-up flow");
  return { tokenRequired: flows.every((stages) => stages.includes(TOKEN_STAGE)) };
}

async function registerRequest(homeserverUrl: string, body: Record<string, unknown>) {
  const sdk = await loadSdk();
  const client = sdk.createClient({ baseUrl: homeserverUrl });
  return await client.registerRequest(body);
}

/** Asks the server which sign-up steps it needs (an empty registration request). */
export async function registrationRequirements(
  homeserverUrl: string,
): Promise<RegistrationRequirements> {
  try {
    await registerRequest(homeserverUrl, {});
  } catch (err) {
    const challenge = uiaChallenge(err);
    if (challenge) return requirementsOf(challenge);
    if (asMatrixError(err).errcode === "M_FORBIDDEN") {
      throw new AuthError("registrationClosed", asMatrixError(err).message ?? "closed");
    }
    throw toAuthError(err);
  }
  throw new AuthError("unsupportedFlow", "the server registered an account without details");
}

/** What a new account needs. */
export interface SignUpDetails {
  username: string;
  password: string;
  /** Sent for the `m.login.registration_token` stage when the server asks for it. */
  token?: string;
}

/**
 * Registers an account, completing the server's UIA stages one request at a time, and
 * returns the new session.
 */
export async function signUp(homeserverUrl: string, details: SignUpDetails): Promise<Credentials> {
  const base = {
    username: details.username,
    password: details.password,
    initial_device_display_name: DEVICE_DISPLAY_NAME,
  };
  let auth: Record<string, unknown> | undefined;
  // Each round completes one stage; a flow has at most a handful.
  for (let round = 0; round < 5; round++) {
    try {
      const res = await registerRequest(homeserverUrl, auth ? { ...base, auth } : base);
      if (!res.access_token || !res.device_id) {
        throw new AuthError("unknown", "the server did not sign the new account in");
      }
      return {
        homeserverUrl,
        userId: res.user_id,
        deviceId: res.device_id,
        accessToken: res.access_token,
      };
    } catch (err) {
      const challenge = uiaChallenge(err);
      if (!challenge) {
        if (asMatrixError(err).errcode === "M_FORBIDDEN") {
          throw new AuthError(
            auth?.type === TOKEN_STAGE ? "badToken" : "registrationClosed",
            asMatrixError(err).message ?? "forbidden",
          );
        }
        throw toAuthError(err);
      }
      const failedStage = asMatrixError(err).errcode && auth?.type;
      if (failedStage === TOKEN_STAGE) throw new AuthError("badToken", "token refused");
      auth = nextStage(challenge, details);
    }
  }
  throw new AuthError("unsupportedFlow", "sign-up did not finish");
}

function nextStage(challenge: UiaChallenge, details: SignUpDetails): Record<string, unknown> {
  const flows = supportedFlows(challenge);
  // Prefer a flow the user can finish: without a token, one that does not need it.
  const flow = flows.find((stages) => details.token || !stages.includes(TOKEN_STAGE)) ??
    flows[0];
  if (!flow) throw new AuthError("unsupportedFlow", "no supported sign-up flow");
  const stage = flow.find((s) => !challenge.completed.includes(s));
  if (!stage) throw new AuthError("unknown", "every stage is done but the server still asks");
  if (stage === TOKEN_STAGE) {
    if (!details.token) throw new AuthError("badToken", "a registration token is required");
    return { type: TOKEN_STAGE, token: details.token, session: challenge.session };
  }
  return { type: stage, session: challenge.session };
}
