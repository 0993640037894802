/**
 * `m.login.token`: the short-lived, single-use token an SSO sign-in hands back to the client
 * in the `loginToken` query parameter, or a signed-in device asks for to sign in another one
 * (`POST /v1/login/get_token`). Stored only as its SHA-256 (docs/auth.md).
 *
 * @module
 */

import { randomToken } from "../../crypto/tokens.ts";
import { forbidden, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type JsonObject, requiredString } from "../http_util.ts";
import { secretHash } from "../store/kv_store.ts";

/** The login type. */
export const TOKEN_LOGIN_TYPE = "m.login.token";

/** `["login_token", sha256hex]` -> this record. */
export interface LoginTokenRecord {
  userId: string;
  expiresTs: number;
}

/** Options of {@link issueLoginToken}. */
export interface IssueLoginTokenOptions {
  /** How long the token stays usable; default `[auth] login_token_lifetime_ms`. */
  lifetimeMs?: number;
  /** Adds checks and writes to the commit that stores the token (e.g. ending a UIA session). */
  prepare?: (op: Deno.AtomicOperation) => void;
}

/**
 * Issues a login token for a user.
 *
 * @throws {MatrixError} 409 M_UNKNOWN when a check added by `prepare` failed (nothing written)
 */
export async function issueLoginToken(
  hs: Homeserver,
  userId: string,
  options: IssueLoginTokenOptions = {},
): Promise<string> {
  const token = randomToken(32);
  const lifetime = options.lifetimeMs ?? hs.config.auth.loginTokenLifetimeMs;
  const record: LoginTokenRecord = { userId, expiresTs: Date.now() + lifetime };
  const op = hs.kv.atomic().set(["login_token", secretHash(token)], record, {
    expireIn: lifetime,
  });
  options.prepare?.(op);
  if (!(await op.commit()).ok) {
    throw new MatrixError("M_UNKNOWN", "The request changed concurrently; try again", {
      status: 409,
    });
  }
  return token;
}

/**
 * Consumes the token of an `m.login.token` login body: the first login with it wins, every later
 * one (and any expired or unknown token) is 403 M_FORBIDDEN.
 */
export async function tokenLoginUser(hs: Homeserver, body: JsonObject): Promise<string> {
  const token = requiredString(body, "token", { maxBytes: 256 });
  const key = ["login_token", secretHash(token)];
  const entry = await hs.kv.get<LoginTokenRecord>(key);
  if (!entry.value || entry.value.expiresTs < Date.now()) {
    throw forbidden("Invalid or expired login token");
  }
  const used = await hs.kv.atomic().check(entry).delete(key).commit();
  if (!used.ok) throw forbidden("Invalid or expired login token");
  return entry.value.userId;
}
