/**
 * Synapse-compatible shared-secret registration (`/_synapse/admin/v1/register`), so existing
 * admin tools (`register_new_matrix_user` and friends) work: `GET` hands out a single-use
 * nonce; `POST` creates the account when `mac` is the HMAC-SHA1 (hex) of
 * `nonce\0username\0password\0admin|notadmin[\0user_type]` keyed by `shared_secret`.
 *
 * @module
 */

import { Hono } from "hono";
import { hashPassword } from "../../crypto/password.ts";
import { constantTimeEqual, hmacSha1Hex, randomToken } from "../../crypto/tokens.ts";
import { badJson, forbidden, MatrixError } from "../errors.ts";
import { optionalBoolean, optionalString, requiredString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, rateLimit, readBody } from "../request_context.ts";
import { createUser, userIdForLocalpart } from "../store/accounts.ts";
import { accountKeys, type SharedSecretNonceRecord } from "../store/kv_store.ts";
import { checkNewPassword } from "../client/registration.ts";
import { sessionResponse } from "../client/login.ts";

/** How long a nonce stays usable. */
export const NONCE_LIFETIME_MS = 60_000;

function disabled(): MatrixError {
  return new MatrixError("M_UNKNOWN", "Shared secret registration is not enabled");
}

/** Computes the MAC a client must send (exported for tests and admin tooling). */
export function sharedSecretMac(
  sharedSecret: string,
  fields: { nonce: string; username: string; password: string; admin: boolean; userType?: string },
): Promise<string> {
  const parts = [
    fields.nonce,
    fields.username,
    fields.password,
    fields.admin ? "admin" : "notadmin",
  ];
  if (fields.userType !== undefined) parts.push(fields.userType);
  return hmacSha1Hex(sharedSecret, parts.join("\u0000"));
}

/** Routes of shared-secret registration. */
export function sharedSecretRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const path = "/_synapse/admin/v1/register";

  app.get(path, async (c) => {
    if (!hs.config.registration.sharedSecret) throw disabled();
    rateLimit(hs, c, "register");
    const nonce = randomToken(24);
    const record: SharedSecretNonceRecord = { expiresTs: Date.now() + NONCE_LIFETIME_MS };
    await hs.kv.set(accountKeys.sharedSecretNonce(nonce), record, { expireIn: NONCE_LIFETIME_MS });
    return c.json({ nonce });
  });

  app.post(path, async (c) => {
    const secret = hs.config.registration.sharedSecret;
    if (!secret) throw disabled();
    rateLimit(hs, c, "register");
    const body = await readBody(hs, c);
    const nonce = requiredString(body, "nonce", { maxBytes: 128 });
    const username = requiredString(body, "username", { maxBytes: 255 });
    const password = requiredString(body, "password");
    const mac = requiredString(body, "mac", { maxBytes: 128 });
    const admin = optionalBoolean(body, "admin") ?? false;
    const userType = optionalString(body, "user_type", { maxBytes: 64 });
    optionalString(body, "displayname", { maxBytes: 256 });
    if (username.includes("\u0000") || password.includes("\u0000")) {
      throw badJson("username and password must not contain NUL characters");
    }
    checkNewPassword(password);

    // The nonce is spent by this attempt whatever its outcome.
    const nonceEntry = await hs.kv.get<SharedSecretNonceRecord>(
      accountKeys.sharedSecretNonce(nonce),
    );
    const spent = nonceEntry.value !== null &&
      (await hs.kv.atomic().check(nonceEntry).delete(nonceEntry.key).commit()).ok;
    if (!spent || nonceEntry.value!.expiresTs <= Date.now()) {
      throw new MatrixError("M_UNKNOWN", "Unrecognised nonce");
    }
    const expected = await sharedSecretMac(secret, { nonce, username, password, admin, userType });
    if (!constantTimeEqual(mac.toLowerCase(), expected)) throw forbidden("HMAC incorrect");

    const userId = userIdForLocalpart(username.toLowerCase(), hs.config.serverName);
    const passwordHash = await hashPassword(password, { cost: hs.passwordCost });
    const tokens = await createUser(hs.kv, { userId, passwordHash, admin }, {
      login: {
        accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
        ip: clientIp(c),
      },
    });
    await hs.notify("userRegistered", userId);
    return c.json(sessionResponse(hs, userId, tokens!));
  });

  return app;
}
