/**
 * OpenID tokens (Client-Server "OpenID", Server-Server "OpenID"): a user asks this server for a
 * short-lived token (`server/client/openid.ts`) and hands it to a third party (a widget, a
 * MatrixRTC focus), which asks this server who it belongs to with the unauthenticated
 * `GET /_matrix/federation/v1/openid/userinfo?access_token=...` (listed as open in
 * `inbound_auth.ts`).
 *
 * Key: `["openid_token", sha256(token) in base64]` -> {@link OpenIdTokenRecord}, written with
 * a KV expiry of its lifetime; the token itself is never stored, only its hash, as for access
 * tokens. The token proves nothing but the user's identity, so it gives no access to the
 * account.
 *
 * @module
 */

import { Hono } from "hono";
import { encodeBase64 } from "../../crypto/base64.ts";
import { sha256 } from "../../crypto/hashes.ts";
import { randomToken } from "../../crypto/tokens.ts";
import { isValidUserId } from "../../federation/identifiers.ts";
import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { FederationRequestError } from "./client.ts";

/** Lifetime of an OpenID token (an hour, as other servers give). */
export const OPENID_TOKEN_TTL_MS = 60 * 60_000;
/** Longest token accepted in a userinfo request (ours are 43 characters). */
const MAX_TOKEN_CHARS = 512;

/** What is stored for an OpenID token. */
export interface OpenIdTokenRecord {
  userId: string;
  /** When it stops being valid (ms since the epoch). */
  expiresTs: number;
}

/** Key builders of the OpenID token store. */
export const openIdKeys = {
  token: (tokenHash: string): Deno.KvKey => ["openid_token", tokenHash],
} as const;

function tokenHash(token: string): string {
  return encodeBase64(sha256(new TextEncoder().encode(token)));
}

/** The answer of the client `request_token` endpoint. */
export interface OpenIdToken {
  access_token: string;
  token_type: "Bearer";
  matrix_server_name: string;
  expires_in: number;
}

/** Issues an OpenID token for a local user (`ttlMs` shorter than the default only in tests). */
export async function issueOpenIdToken(
  hs: Homeserver,
  userId: string,
  options: { ttlMs?: number } = {},
): Promise<OpenIdToken> {
  const ttlMs = options.ttlMs ?? OPENID_TOKEN_TTL_MS;
  const token = randomToken(32);
  const record: OpenIdTokenRecord = { userId, expiresTs: Date.now() + ttlMs };
  await hs.kv.set(openIdKeys.token(tokenHash(token)), record, { expireIn: ttlMs });
  return {
    access_token: token,
    token_type: "Bearer",
    matrix_server_name: hs.config.serverName,
    expires_in: Math.floor(ttlMs / 1000),
  };
}

/** The user an unexpired OpenID token of this server belongs to, or null. */
export async function openIdTokenUser(hs: Homeserver, token: string): Promise<string | null> {
  if (token === "" || token.length > MAX_TOKEN_CHARS) return null;
  const entry = await hs.kv.get<OpenIdTokenRecord>(openIdKeys.token(tokenHash(token)));
  // KV expiry is lazy: the record may outlive its lifetime for a while.
  if (!entry.value || entry.value.expiresTs <= Date.now()) return null;
  return entry.value.userId;
}

function unknownToken(): MatrixError {
  return new MatrixError("M_UNKNOWN_TOKEN", "Access token unknown or expired", { status: 401 });
}

/**
 * Asks another server whom one of its OpenID tokens belongs to (what a third party does; this
 * server does it for its own services).
 *
 * @returns the user ID, or null when the server refuses the token
 * @throws {MatrixError} 502 M_UNKNOWN when the server cannot be reached or answers nonsense
 */
export async function remoteOpenIdUser(
  hs: Homeserver,
  server: string,
  token: string,
): Promise<string | null> {
  let response;
  try {
    response = await hs.federation.client.request(server, {
      method: "GET",
      path: "/_matrix/federation/v1/openid/userinfo",
      query: { access_token: token },
      maxBytes: 16 * 1024,
      timeoutMs: 10_000,
    });
  } catch (err) {
    if (!(err instanceof FederationRequestError)) throw err;
    throw new MatrixError("M_UNKNOWN", `${server} could not be reached: ${err.message}`, {
      status: 502,
    });
  }
  if (response.status === 401 || response.status === 403 || response.status === 404) return null;
  const sub = (response.json as Record<string, unknown> | null)?.sub;
  // The server vouches only for its own users.
  if (
    response.status !== 200 || typeof sub !== "string" || !isValidUserId(sub) ||
    !sub.endsWith(`:${server}`)
  ) {
    throw new MatrixError("M_UNKNOWN", `${server} gave no usable userinfo answer`, { status: 502 });
  }
  return sub;
}

/** The federation `GET /openid/userinfo` endpoint. */
export function openIdFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/_matrix/federation/v1/openid/userinfo", async (c) => {
    const token = c.req.query("access_token");
    if (token === undefined) throw unknownToken();
    const userId = await openIdTokenUser(hs, token);
    if (userId === null) throw unknownToken();
    return c.json({ sub: userId });
  });
  return app;
}
