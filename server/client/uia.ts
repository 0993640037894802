/**
 * User-interactive authentication (the spec's "User-Interactive Authentication API"): sessions
 * stored in KV with an expiry, the 401 challenge body (`flows`, `params`, `session`,
 * `completed`), and the stages `m.login.password`, `m.login.dummy`,
 * `m.login.registration_token` and `m.login.email.identity` (a session whose mailed link was
 * followed, server/email/).
 *
 * A handler calls {@link requireUia}; it returns once a flow is complete, and the handler then
 * deletes the session in the same commit as the operation it authorised (registration keeps it,
 * marked with the user it created, so that a retry is answered for the same account). The shape
 * of `auth` is checked first: a field of the wrong JSON type is a 400 M_BAD_JSON before anything
 * is read or written; a missing field or a failed stage is the spec's 401 with the flows, and
 * every 401 lists `completed` (empty at first).
 *
 * A session serves one operation: the purpose, the user and the request's operation key (e.g.
 * the device being deleted) are fixed when it starts, and a later request that names another
 * is refused with 403 (Synapse does the same). The request's parameters can be remembered in
 * the session, so a client may send only `auth` in later rounds (the spec's "retries the
 * request with an auth dict containing only the session key").
 *
 * @module
 */

import { verifyPassword } from "../../crypto/password.ts";
import { directoryPasswordMatches } from "../auth/ldap_login.ts";
import { randomToken } from "../../crypto/tokens.ts";
import { badJson, forbidden, MatrixError } from "../errors.ts";
import type { JsonObject } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { checkRegistrationToken, getUser, resolveLoginUser } from "../store/accounts.ts";
import { accountKeys, secretHash, type UiaSessionRecord } from "../store/kv_store.ts";
import { emailStageUser } from "../email/password_reset.ts";

/** The 401 response of an unfinished user-interactive authentication. */
export class UiaChallenge extends MatrixError {
  readonly #body: Record<string, unknown>;

  /**
   * @param body `flows`, `params`, `session` and `completed`
   * @param stageError the errcode and message of a failed stage, if any
   */
  constructor(body: Record<string, unknown>, stageError?: { errcode: string; error: string }) {
    super(stageError?.errcode ?? "M_UIA_REQUIRED", stageError?.error ?? "Authentication required", {
      status: 401,
    });
    this.#body = stageError ? { ...stageError, ...body } : body;
  }

  override toJSON(): Record<string, unknown> {
    return this.#body;
  }
}

/** What an endpoint asks of user-interactive authentication. */
export interface UiaRequirements {
  /** Which operation is authorised; a session only serves the purpose it was created for. */
  purpose: string;
  /** The authenticated user, or null for registration. */
  userId: string | null;
  /** Acceptable flows, each a list of stage types. */
  flows: string[][];
  /** Client address, for rate limiting password attempts. */
  ip: string;
  /**
   * What exactly is authorised beyond the purpose (e.g. the device ID being deleted); a
   * session started for one operation key refuses another with 403.
   */
  operation?: string;
  /**
   * The request's own parameters to remember (already checked and free of secrets in clear):
   * stored when given, and handed back in the outcome of a later round that sends none.
   */
  params?: JsonObject;
}

/** A completed authentication. */
export interface UiaOutcome {
  /** Delete this key in the commit of the authorised operation. */
  sessionKey: Deno.KvKey;
  /** The session as stored, with its versionstamp (check it in the operation's commit). */
  session: Deno.KvEntry<UiaSession>;
  /** Per-stage results (e.g. the hash of the registration token used). */
  results: Record<string, string>;
  /** The parameters of this request, or those remembered when it sent none. */
  params?: JsonObject;
}

/** A UIA session as stored: the account store's record with what this module adds. */
export interface UiaSession extends UiaSessionRecord {
  /** The operation key the session was started for. */
  operation?: string;
  /** The parameters remembered from the latest request that carried some. */
  params?: JsonObject;
  /** The user a completed registration created (the session then answers retries). */
  registeredUserId?: string;
}

type StageResult = { ok: true; result?: string } | { ok: false; errcode: string; error: string };

const MAX_TOKEN_LENGTH = 64;
/** Longest stage type echoed back in an error message. */
const MAX_ECHOED_TYPE = 64;

/**
 * The request's `auth` object with the fields the stages read checked for their JSON types.
 * Missing fields are left to the stage (a 401 the client can retry); a field of the wrong type
 * is a malformed request (400 M_BAD_JSON).
 */
interface AuthSubmission {
  type?: string;
  session?: string;
  /** `m.login.password`: `identifier.type`, when an identifier was given. */
  identifierType?: string;
  /** `m.login.password`: `identifier.user`, or the legacy top-level `user`. */
  user?: string;
  password?: string;
  /** `m.login.registration_token`. */
  token?: string;
  /** `m.login.email.identity`: `threepid_creds.sid` and `.client_secret`. */
  threepidCreds?: { sid: string; clientSecret: string };
}

function stringField(object: JsonObject, key: string, path: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badJson(`'${path}' must be a string`);
  return value;
}

/**
 * Checks the shape of `auth` once, before any of it is used.
 *
 * @throws {MatrixError} 400 M_BAD_JSON naming the field of the wrong type
 */
function parseAuth(auth: JsonObject | undefined): AuthSubmission {
  if (auth === undefined) return {};
  // Callers pass what `optionalObject` accepted; this guards callers that do not.
  if (typeof auth !== "object" || auth === null || Array.isArray(auth)) {
    throw badJson("'auth' must be a JSON object");
  }
  const submission: AuthSubmission = {
    type: stringField(auth, "type", "auth.type"),
    session: stringField(auth, "session", "auth.session"),
  };
  if (submission.type === "m.login.password") {
    const identifier = auth.identifier;
    if (identifier !== undefined && identifier !== null) {
      if (typeof identifier !== "object" || Array.isArray(identifier)) {
        throw badJson("'auth.identifier' must be a JSON object");
      }
      const fields = identifier as JsonObject;
      const identifierType = stringField(fields, "type", "auth.identifier.type");
      if (identifierType === undefined) throw badJson("'auth.identifier.type' is required");
      submission.identifierType = identifierType;
      submission.user = stringField(fields, "user", "auth.identifier.user");
    } else {
      submission.user = stringField(auth, "user", "auth.user");
    }
    submission.password = stringField(auth, "password", "auth.password");
  } else if (submission.type === "m.login.registration_token") {
    submission.token = stringField(auth, "token", "auth.token");
  } else if (submission.type === "m.login.email.identity") {
    const creds = auth.threepid_creds ?? auth.threepidCreds;
    if (creds !== undefined && creds !== null) {
      if (typeof creds !== "object" || Array.isArray(creds)) {
        throw badJson("'auth.threepid_creds' must be a JSON object");
      }
      const fields = creds as JsonObject;
      const sid = stringField(fields, "sid", "auth.threepid_creds.sid");
      const clientSecret = stringField(
        fields,
        "client_secret",
        "auth.threepid_creds.client_secret",
      );
      if (sid !== undefined && clientSecret !== undefined) {
        submission.threepidCreds = { sid, clientSecret };
      }
    }
  }
  return submission;
}

/** A stage type as error messages quote it (clients may send anything). */
function quoted(type: string): string {
  return type.length > MAX_ECHOED_TYPE ? `'${type.slice(0, MAX_ECHOED_TYPE)}...'` : `'${type}'`;
}

async function runStage(
  hs: Homeserver,
  auth: AuthSubmission,
  req: UiaRequirements,
): Promise<StageResult> {
  const type = auth.type;
  if (type === "m.login.dummy") return { ok: true };
  if (type === "m.login.registration_token") {
    const token = auth.token;
    if (token === undefined || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, errcode: "M_MISSING_PARAM", error: "Missing or malformed 'token'" };
    }
    const hash = secretHash(token);
    const check = await checkRegistrationToken(hs.kv, hash);
    if (!check.valid) {
      return { ok: false, errcode: "M_UNAUTHORIZED", error: "Invalid registration token" };
    }
    return { ok: true, result: hash };
  }
  if (type === "m.login.email.identity") {
    if (!auth.threepidCreds) {
      return { ok: false, errcode: "M_MISSING_PARAM", error: "Missing 'threepid_creds'" };
    }
    const result = await emailStageUser(hs, auth.threepidCreds);
    if (result === null) {
      return {
        ok: false,
        errcode: "M_UNAUTHORIZED",
        error: "The email address is not confirmed: follow the link in the mail first",
      };
    }
    return { ok: true, result };
  }
  if (type === "m.login.password") {
    hs.rateLimiter.check("login", `${req.ip}\u0000`);
    if (auth.identifierType !== undefined && auth.identifierType !== "m.id.user") {
      return { ok: false, errcode: "M_UNRECOGNIZED", error: "Only m.id.user is supported" };
    }
    const { user: name, password } = auth;
    if (name === undefined || password === undefined) {
      return { ok: false, errcode: "M_MISSING_PARAM", error: "Missing user or password" };
    }
    const userId = resolveLoginUser(name, hs.config.serverName);
    if (!userId || userId !== req.userId) {
      // Not a failed attempt the client may retry: the request itself is not allowed
      // (Synapse answers 403 too, and the password is never checked).
      throw forbidden("You can only authenticate as yourself");
    }
    const user = await getUser(hs.kv, userId);
    const ok = user?.passwordHash
      ? await verifyPassword(password, user.passwordHash)
      // Accounts of LDAP sign-in have no local password: the directory confirms it.
      : user !== null && !user.deactivated &&
        await directoryPasswordMatches(hs, userId, password);
    if (!ok) {
      return { ok: false, errcode: "M_FORBIDDEN", error: "Invalid password" };
    }
    return { ok: true };
  }
  if (type === SSO_STAGE) {
    return {
      ok: false,
      errcode: "M_FORBIDDEN",
      error: "Confirm with your identity provider on the fallback page first",
    };
  }
  return { ok: false, errcode: "M_UNRECOGNIZED", error: `Unsupported auth type ${quoted(type!)}` };
}

function flowDone(flows: string[][], completed: string[]): boolean {
  return flows.some((flow) => flow.every((stage) => completed.includes(stage)));
}

/** Whether `type` is the next stage of a flow whose earlier stages are done, in order. */
function nextStageOf(flows: string[][], completed: string[], type: string): boolean {
  return flows.some((flow) =>
    completed.length < flow.length && flow[completed.length] === type &&
    completed.every((stage, i) => flow[i] === stage)
  );
}

/**
 * Accounts of single sign-on have no password: where a password would do, they may confirm with
 * their identity provider instead (`m.login.sso` through its fallback page, docs/auth.md).
 */
async function withSsoFlow(hs: Homeserver, req: UiaRequirements): Promise<string[][]> {
  const passwordOnly = req.flows.some((flow) =>
    flow.length === 1 && flow[0] === "m.login.password"
  );
  if (!req.userId || !passwordOnly || hs.config.auth.oidc.length === 0) return req.flows;
  if (req.flows.some((flow) => flow.includes(SSO_STAGE))) return req.flows;
  const user = await getUser(hs.kv, req.userId);
  return user && !user.passwordHash ? [...req.flows, [SSO_STAGE]] : req.flows;
}

/** The stage completed by the SSO fallback page. */
export const SSO_STAGE = "m.login.sso";

/**
 * Marks the SSO stage of a session as done (the provider confirmed the session's user), so the
 * client's next round with only the session completes the flow.
 *
 * @returns false when the session is gone or belongs to another user
 */
export async function completeSsoStage(
  hs: Homeserver,
  sessionId: string,
  userId: string,
): Promise<boolean> {
  const key = accountKeys.uiaSession(sessionId);
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = await hs.kv.get<UiaSession>(key);
    const session = entry.value;
    if (!session || session.expiresTs <= Date.now() || session.userId !== userId) return false;
    if (session.completed.includes(SSO_STAGE)) return true;
    const next = { ...session, completed: [...session.completed, SSO_STAGE] };
    const expireIn = Math.max(1, session.expiresTs - Date.now());
    if ((await hs.kv.atomic().check(entry).set(key, next, { expireIn }).commit()).ok) return true;
  }
  return false;
}

/** The user a UIA session authenticates, when it is live and not done with SSO yet. */
export async function uiaSessionUser(hs: Homeserver, sessionId: string): Promise<string | null> {
  if (sessionId.length > 128) return null;
  const session = (await hs.kv.get<UiaSession>(accountKeys.uiaSession(sessionId))).value;
  if (!session || session.expiresTs <= Date.now()) return null;
  return session.userId;
}

function unknownSession(): MatrixError {
  return new MatrixError("M_UNKNOWN", "Unknown or expired authentication session");
}

/** Loads the session named by the request, refusing one started for another operation. */
async function loadSession(
  hs: Homeserver,
  sessionId: string,
  req: UiaRequirements,
): Promise<Deno.KvEntry<UiaSession>> {
  if (sessionId.length > 128) throw unknownSession();
  const entry = await hs.kv.get<UiaSession>(accountKeys.uiaSession(sessionId));
  if (entry.value === null || entry.value.expiresTs <= Date.now()) throw unknownSession();
  const found = entry.value;
  if (
    found.purpose !== req.purpose || found.userId !== req.userId ||
    (found.operation ?? null) !== (req.operation ?? null)
  ) {
    throw forbidden("The requested operation has changed during the authentication session");
  }
  return entry as Deno.KvEntry<UiaSession>;
}

/**
 * Runs one round of user-interactive authentication for a request.
 *
 * @param auth the request's `auth` object, if any
 * @returns once a flow is complete
 * @throws {UiaChallenge} 401 with the flows (and the stage error, if a stage failed)
 * @throws {MatrixError} 400 M_BAD_JSON for a malformed `auth`, 400 for an unknown session,
 *   403 for a session of another operation or a password stage naming another user
 */
export async function requireUia(
  hs: Homeserver,
  authObject: JsonObject | undefined,
  req: UiaRequirements,
): Promise<UiaOutcome> {
  const auth = parseAuth(authObject);
  req = { ...req, flows: await withSsoFlow(hs, req) };
  const now = Date.now();
  let sessionId: string;
  let session: UiaSession;
  let versionstamp: string | null = null;
  if (auth.session !== undefined) {
    const entry = await loadSession(hs, auth.session, req);
    sessionId = auth.session;
    session = entry.value;
    versionstamp = entry.versionstamp;
  } else {
    sessionId = randomToken(18);
    session = {
      purpose: req.purpose,
      userId: req.userId,
      ...(req.operation !== undefined ? { operation: req.operation } : {}),
      completed: [],
      results: {},
      createdTs: now,
      expiresTs: now + hs.config.limits.uiaSessionLifetimeMs,
    };
  }
  let changed = versionstamp === null;
  if (req.params !== undefined && Object.keys(req.params).length > 0) {
    session = { ...session, params: req.params };
    changed = true;
  }
  const key = accountKeys.uiaSession(sessionId);
  const challenge = (stageError?: { errcode: string; error: string }) =>
    new UiaChallenge({
      flows: req.flows.map((stages) => ({ stages })),
      params: {},
      session: sessionId,
      completed: session.completed,
    }, stageError);

  const type = auth.type;
  if (type !== undefined && !session.completed.includes(type)) {
    let result: StageResult;
    if (nextStageOf(req.flows, session.completed, type)) {
      result = await runStage(hs, auth, req);
    } else {
      const offered = req.flows.some((flow) => flow.includes(type));
      result = {
        ok: false,
        errcode: offered ? "M_FORBIDDEN" : "M_UNRECOGNIZED",
        error: offered
          ? `Auth type ${quoted(type)} is not the next stage of any flow`
          : `Auth type ${quoted(type)} is not offered here`,
      };
    }
    if (!result.ok) {
      if (changed) await save(hs, key, session, versionstamp);
      throw challenge({ errcode: result.errcode, error: result.error });
    }
    session = {
      ...session,
      completed: [...session.completed, type],
      results: result.result ? { ...session.results, [type]: result.result } : session.results,
    };
    changed = true;
  }
  if (changed) versionstamp = await save(hs, key, session, versionstamp);
  if (!flowDone(req.flows, session.completed)) throw challenge();
  return {
    sessionKey: key,
    session: { key, value: session, versionstamp: versionstamp! },
    results: session.results,
    params: req.params !== undefined && Object.keys(req.params).length > 0
      ? req.params
      : session.params,
  };
}

/**
 * Keeps a completed registration's session in the operation's commit, marked with the user it
 * created, so that a retry of the same session is answered for that user (the spec's
 * "servers must return ... the result of the API call if all stages were completed").
 */
export function keepRegisteredSession(
  op: Deno.AtomicOperation,
  outcome: UiaOutcome,
  userId: string,
): void {
  const { key, value, versionstamp } = outcome.session;
  op.check({ key, versionstamp });
  op.set(key, { ...value, registeredUserId: userId } satisfies UiaSession, {
    expireIn: Math.max(1, value.expiresTs - Date.now()),
  });
}

async function save(
  hs: Homeserver,
  key: Deno.KvKey,
  session: UiaSession,
  versionstamp: string | null,
): Promise<string> {
  const expireIn = Math.max(1, session.expiresTs - Date.now());
  const result = await hs.kv.atomic().check({ key, versionstamp }).set(key, session, { expireIn })
    .commit();
  if (!result.ok) {
    throw new MatrixError("M_UNKNOWN", "Authentication session changed concurrently; retry", {
      status: 409,
    });
  }
  return result.versionstamp;
}
