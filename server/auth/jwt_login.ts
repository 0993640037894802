/**
 * JWT login, `org.matrix.login.jwt` (as Synapse and Luxchat's servers offer it): a token signed
 * by a trusted issuer names the user in its subject claim; the account is created on the first
 * login. Configured by `[auth.jwt]` (docs/auth.md). `jose` is loaded on first use.
 *
 * @module
 */

import type { JwtConfig } from "./auth_config.ts";
import { forbidden, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type JsonObject, requiredString } from "../http_util.ts";
import { provisionUser } from "./external_accounts.ts";

/** The login type. */
export const JWT_LOGIN_TYPE = "org.matrix.login.jwt";

/** Longest accepted token, in bytes. */
export const MAX_JWT_BYTES = 8192;

type VerifyKey = CryptoKey | Uint8Array;
const keys = new WeakMap<JwtConfig, Promise<VerifyKey>>();

async function verifyKey(config: JwtConfig): Promise<VerifyKey> {
  if (config.algorithm.startsWith("HS")) return new TextEncoder().encode(config.secret);
  const { importSPKI } = await import("jose");
  const pem = await Deno.readTextFile(config.publicKey);
  return await importSPKI(pem, config.algorithm);
}

/**
 * Checks the token of a JWT login body and returns the user it names, creating the account on
 * its first login.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN for a token that is badly signed, expired, not yet
 *   valid, of another issuer or audience, or without a usable subject
 */
export async function jwtLoginUser(hs: Homeserver, body: JsonObject): Promise<string> {
  const config = hs.config.auth.jwt;
  if (!config.enabled) {
    throw new MatrixError("M_UNKNOWN", `Login type '${JWT_LOGIN_TYPE}' is not supported`);
  }
  const token = requiredString(body, "token", { maxBytes: MAX_JWT_BYTES });
  const jose = await import("jose");
  let keyPromise = keys.get(config);
  if (!keyPromise) {
    keyPromise = verifyKey(config);
    keys.set(config, keyPromise);
    // A key file that could not be read is tried again on the next login.
    keyPromise.catch(() => keys.delete(config));
  }
  let key: VerifyKey;
  try {
    key = await keyPromise;
  } catch (err) {
    console.error("auth.jwt: cannot load the public key:", err);
    throw new MatrixError("M_UNKNOWN", "JWT login is misconfigured on this server", {
      status: 500,
    });
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jose.jwtVerify(token, key, {
      algorithms: [config.algorithm],
      issuer: config.issuer || undefined,
      audience: config.audiences.length > 0 ? [...config.audiences] : undefined,
      // exp and nbf are checked whenever present, with a little leeway for clock skew.
      clockTolerance: 30,
    }));
  } catch (err) {
    const reason = err instanceof jose.errors.JOSEError ? err.code : "invalid token";
    throw forbidden(`JWT validation failed: ${reason}`);
  }
  const subject = payload[config.subjectClaim];
  if (typeof subject !== "string" || subject === "") {
    throw forbidden(`The JWT has no '${config.subjectClaim}' claim`);
  }
  return await provisionUser(hs, {
    provider: "jwt",
    externalId: subject,
    localpart: subject,
  }, { allowExisting: true });
}
