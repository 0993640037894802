/**
 * Account registration: `POST /_matrix/client/v3/register` (user-interactive auth with
 * `m.login.dummy` or `m.login.registration_token`), `GET /v3/register/available` and
 * `GET /v1/register/m.login.registration_token/validity`.
 *
 * @module
 */

import { Hono } from "hono";
import { hashPassword, MAX_PASSWORD_BYTES } from "../../crypto/password.ts";
import { forbidden, MatrixError, missingParam } from "../errors.ts";
import { optionalBoolean, optionalObject, optionalString, utf8Length } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, rateLimit, readBody } from "../request_context.ts";
import {
  addRegistrationTokenUse,
  checkRegistrationToken,
  createUser,
  generateLocalpart,
  getUserEntry,
  userIdForLocalpart,
  userInUse,
} from "../store/accounts.ts";
import { secretHash } from "../store/kv_store.ts";
import { readDeviceFields, sessionResponse } from "./login.ts";
import { requireUia } from "./uia.ts";

const TOKEN_STAGE = "m.login.registration_token";

/** Checks a requested username and that it is free; returns the user ID. */
async function availableUserId(hs: Homeserver, username: string): Promise<string> {
  const userId = userIdForLocalpart(username, hs.config.serverName);
  if ((await getUserEntry(hs.kv, userId)).versionstamp !== null) throw userInUse();
  return userId;
}

/** Checks a new password's length (the scrypt work a request may cause is bounded). */
export function checkNewPassword(password: string): void {
  if (password.length === 0) throw new MatrixError("M_WEAK_PASSWORD", "Password is empty");
  if (utf8Length(password) > MAX_PASSWORD_BYTES) {
    throw new MatrixError("M_INVALID_PARAM", `Password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
}

/** Routes of registration. */
export function registrationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/_matrix/client/v3/register", async (c) => {
    rateLimit(hs, c, "register");
    const kind = c.req.query("kind") ?? "user";
    if (kind === "guest") throw forbidden("Guest access is not enabled on this server");
    if (kind !== "user") throw new MatrixError("M_INVALID_PARAM", `Unknown kind '${kind}'`);
    const reg = hs.config.registration;
    if (!reg.enabled) throw forbidden("Registration is disabled on this server");

    const body = await readBody(hs, c);
    const username = optionalString(body, "username", { maxBytes: 255 });
    const password = optionalString(body, "password");
    if (password !== undefined) checkNewPassword(password);
    const inhibitLogin = optionalBoolean(body, "inhibit_login") ?? false;
    const wantsRefresh = optionalBoolean(body, "refresh_token") ?? false;
    const device = readDeviceFields(body);
    const auth = optionalObject(body, "auth");

    // Tell the client about a bad or taken name before it goes through authentication.
    let userId = username === undefined ? undefined : await availableUserId(hs, username);
    const flows = reg.requireToken ? [[TOKEN_STAGE]] : [["m.login.dummy"]];
    const outcome = await requireUia(hs, auth, {
      purpose: "register",
      userId: null,
      flows,
      ip: clientIp(c),
    });
    if (password === undefined) throw missingParam("password");
    userId ??= userIdForLocalpart(generateLocalpart(), hs.config.serverName);
    const passwordHash = await hashPassword(password, { cost: hs.passwordCost });

    const tokens = await createUser(hs.kv, { userId, passwordHash }, {
      login: inhibitLogin ? undefined : {
        deviceId: device.deviceId,
        displayName: device.displayName,
        refresh: wantsRefresh,
        accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
        ip: clientIp(c),
      },
      prepare: async (op) => {
        op.delete(outcome.sessionKey);
        const tokenHash = outcome.results[TOKEN_STAGE];
        if (reg.requireToken) {
          if (!tokenHash) throw forbidden("A registration token is required");
          await addRegistrationTokenUse(hs.kv, op, tokenHash);
        }
      },
    });
    await hs.notify("userRegistered", userId);
    if (!tokens) return c.json({ user_id: userId, home_server: hs.config.serverName });
    return c.json(sessionResponse(hs, userId, tokens));
  });

  app.get("/_matrix/client/v3/register/available", async (c) => {
    const username = c.req.query("username");
    if (username === undefined) throw missingParam("username");
    await availableUserId(hs, username);
    return c.json({ available: true });
  });

  app.get("/_matrix/client/v1/register/m.login.registration_token/validity", async (c) => {
    rateLimit(hs, c, "register");
    const reg = hs.config.registration;
    if (!reg.enabled || !reg.requireToken) {
      throw forbidden("This server does not accept registration tokens");
    }
    const token = c.req.query("token");
    if (token === undefined) throw missingParam("token");
    if (token.length === 0 || token.length > 64) return c.json({ valid: false });
    const check = await checkRegistrationToken(hs.kv, secretHash(token));
    return c.json({ valid: check.valid });
  });

  return app;
}
