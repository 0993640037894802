/**
 * Account registration: `POST /_matrix/client/v3/register` (user-interactive auth with
 * `m.login.dummy` or `m.login.registration_token`), `GET /v3/register/available` and
 * `GET /v1/register/m.login.registration_token/validity`.
 *
 * The UIA session remembers the request's parameters (the password as its hash), so later
 * rounds may send only `auth`; once it has created the account it answers a retry for the same
 * user instead of failing (registration is idempotent per session, as in Synapse).
 *
 * `kind=guest` and the upgrade of a guest (`guest_access_token`) are server/client/guests.ts.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { hashPassword, MAX_PASSWORD_BYTES } from "../../crypto/password.ts";
import { forbidden, MatrixError, missingParam } from "../errors.ts";
import {
  type JsonObject,
  optionalBoolean,
  optionalObject,
  optionalString,
  utf8Length,
} from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, rateLimit, readBody } from "../request_context.ts";
import { inTurn } from "../store/turns.ts";
import {
  addRegistrationTokenUse,
  checkRegistrationToken,
  createUser,
  generateLocalpart,
  getUserEntry,
  loginDevice,
  userIdForLocalpart,
  userInUse,
} from "../store/accounts.ts";
import { accountKeys, secretHash, type UserRecord } from "../store/kv_store.ts";
import { readDeviceFields, sessionResponse } from "./login.ts";
import { keepRegisteredSession, requireUia, type UiaSession } from "./uia.ts";
import { appserviceRegistration, checkUserNotExclusive } from "../appservice/accounts.ts";
import { checkNotGuestLocalpart, guestToUpgrade, registerGuest, upgradeGuest } from "./guests.ts";

const TOKEN_STAGE = "m.login.registration_token";

/**
 * What a registration request asks for, as remembered in its UIA session (so that later rounds
 * may send only `auth`): the password only as its hash.
 */
interface RegistrationParams {
  username?: string;
  password_hash?: string;
  device_id?: string;
  initial_device_display_name?: string;
  inhibit_login?: boolean;
  refresh_token?: boolean;
  /** The guest this registration upgrades (from its `guest_access_token`). */
  guest_user_id?: string;
}

/**
 * Reads and checks the parameters of a registration request; undefined when it carries none
 * besides `auth` (a later round of the session). A bad or taken name is refused here, before
 * the client goes through authentication.
 */
async function readRegistrationParams(
  hs: Homeserver,
  body: JsonObject,
  registered: string | undefined,
): Promise<RegistrationParams | undefined> {
  if (Object.keys(body).every((key) => key === "auth")) return undefined;
  // Synapse lower-cases the requested name too; a user ID's localpart has no capitals.
  const username = optionalString(body, "username", { maxBytes: 255 })?.toLowerCase();
  const password = optionalString(body, "password");
  if (password !== undefined) checkNewPassword(password);
  const inhibitLogin = optionalBoolean(body, "inhibit_login");
  const refresh = optionalBoolean(body, "refresh_token");
  const device = readDeviceFields(body);
  const guestToken = optionalString(body, "guest_access_token", { maxBytes: 512 });
  const guestUserId = guestToken === undefined
    ? undefined
    : await guestToUpgrade(hs, guestToken, username);
  if (
    username !== undefined && guestUserId === undefined &&
    userIdForLocalpart(username, hs.config.serverName) !== registered
  ) {
    await availableUserId(hs, username);
  }
  const params: RegistrationParams = {};
  if (guestUserId !== undefined) params.guest_user_id = guestUserId;
  if (username !== undefined) params.username = username;
  // A retry of a session that already registered its account logs that account in again: its
  // password is not used, so it is not hashed (a burst of retries must not cost a hash each).
  if (password !== undefined && registered === undefined) {
    params.password_hash = await hashPassword(password, { cost: hs.passwordCost });
  }
  if (device.deviceId !== undefined) params.device_id = device.deviceId;
  if (device.displayName !== undefined) {
    params.initial_device_display_name = device.displayName;
  }
  if (inhibitLogin !== undefined) params.inhibit_login = inhibitLogin;
  if (refresh !== undefined) params.refresh_token = refresh;
  return params;
}

/** The user a retried registration session already created, if it names such a session. */
async function sessionRegistered(
  hs: Homeserver,
  auth: JsonObject | undefined,
): Promise<string | undefined> {
  const sessionId = auth?.session;
  if (typeof sessionId !== "string" || sessionId.length > 128) return undefined;
  const session = await hs.kv.get<UiaSession>(accountKeys.uiaSession(sessionId));
  return session.value?.purpose === "register" ? session.value.registeredUserId : undefined;
}

/**
 * Answers a retry of a registration session that already created its account: the same user,
 * logged in on a new (or the named) device. A retry naming another username is refused.
 */
async function registeredAgain(
  hs: Homeserver,
  c: Context<AppEnv>,
  userId: string,
  params: RegistrationParams,
): Promise<Record<string, unknown>> {
  if (
    params.username !== undefined &&
    userIdForLocalpart(params.username, hs.config.serverName) !== userId
  ) {
    throw forbidden(`This authentication session has already registered ${userId}`);
  }
  if (params.inhibit_login) return { user_id: userId, home_server: hs.config.serverName };
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = await getUserEntry(hs.kv, userId);
    if (entry.value === null || entry.value.deactivated) {
      throw forbidden("The account this session registered is no longer active");
    }
    const tokens = await loginDevice(hs.kv, entry as Deno.KvEntry<UserRecord>, {
      deviceId: params.device_id,
      displayName: params.initial_device_display_name,
      refresh: params.refresh_token ?? false,
      accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
      ip: clientIp(c),
    });
    if (tokens) return sessionResponse(hs, userId, tokens);
  }
  throw new MatrixError("M_UNKNOWN", "The account changed concurrently; retry", { status: 409 });
}

/** Checks a requested username and that it is free; returns the user ID. */
async function availableUserId(hs: Homeserver, username: string): Promise<string> {
  const userId = userIdForLocalpart(username, hs.config.serverName);
  checkNotGuestLocalpart(username);
  checkUserNotExclusive(hs, userId);
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
    // Application services register their users without UIA, rate limits or open sign-up.
    const byService = await appserviceRegistration(hs, c);
    if (byService) return c.json(byService);
    rateLimit(hs, c, "register");
    const kind = c.req.query("kind") ?? "user";
    if (kind === "guest") {
      const guest = await registerGuest(hs, {
        body: await readBody(hs, c, { allowEmpty: true }),
        ip: clientIp(c),
      });
      return c.json(sessionResponse(hs, guest.userId, guest.tokens));
    }
    if (kind !== "user") throw new MatrixError("M_INVALID_PARAM", `Unknown kind '${kind}'`);
    const reg = hs.config.registration;
    if (!reg.enabled) throw forbidden("Registration is disabled on this server");

    const body = await readBody(hs, c);
    const auth = optionalObject(body, "auth");
    const sessionId = typeof auth?.session === "string" && auth.session.length <= 128
      ? auth.session
      : null;
    // The requests of one session take turns: the first registers, the others then see that
    // and log the account in again (instead of racing it, each hashing the password).
    if (sessionId === null) return await register(c, body, auth);
    return await inTurn(hs.kv, ["register_session", sessionId], () => register(c, body, auth));
  });

  async function register(
    c: Context<AppEnv>,
    body: JsonObject,
    auth: JsonObject | undefined,
  ): Promise<Response> {
    const reg = hs.config.registration;
    const given = await readRegistrationParams(hs, body, await sessionRegistered(hs, auth));
    const flows = reg.requireToken ? [[TOKEN_STAGE]] : [["m.login.dummy"]];
    const outcome = await requireUia(hs, auth, {
      purpose: "register",
      userId: null,
      flows,
      ip: clientIp(c),
      params: given as JsonObject | undefined,
    });
    const params = (outcome.params ?? {}) as RegistrationParams;
    const registered = outcome.session.value.registeredUserId;
    if (registered !== undefined) return c.json(await registeredAgain(hs, c, registered, params));
    if (params.password_hash === undefined) throw missingParam("password");
    const userId = params.guest_user_id ??
      (params.username !== undefined
        ? await availableUserId(hs, params.username)
        : userIdForLocalpart(generateLocalpart(), hs.config.serverName));

    let tokens;
    try {
      const account = { userId, passwordHash: params.password_hash };
      const options = {
        login: params.inhibit_login ? undefined : {
          deviceId: params.device_id,
          displayName: params.initial_device_display_name,
          refresh: params.refresh_token ?? false,
          accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
          ip: clientIp(c),
        },
        prepare: async (op: Deno.AtomicOperation) => {
          keepRegisteredSession(op, outcome, userId);
          const tokenHash = outcome.results[TOKEN_STAGE];
          if (reg.requireToken) {
            if (!tokenHash) throw forbidden("A registration token is required");
            await addRegistrationTokenUse(hs.kv, op, tokenHash);
          }
        },
      };
      tokens = params.guest_user_id !== undefined
        ? await upgradeGuest(hs.kv, account, options)
        : await createUser(hs.kv, account, options);
    } catch (error) {
      // A concurrent retry of the same session may have registered the account first.
      const now = (await hs.kv.get<UiaSession>(outcome.sessionKey)).value;
      if (now?.registeredUserId === undefined) throw error;
      return c.json(await registeredAgain(hs, c, now.registeredUserId, params));
    }
    // An upgraded guest keeps its profile and everything else; only new accounts are announced.
    if (params.guest_user_id === undefined) await hs.notify("userRegistered", userId);
    if (!tokens) return c.json({ user_id: userId, home_server: hs.config.serverName });
    return c.json(sessionResponse(hs, userId, tokens));
  }

  app.get("/_matrix/client/v3/register/available", async (c) => {
    const username = c.req.query("username");
    if (username === undefined) throw missingParam("username");
    await availableUserId(hs, username.toLowerCase());
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
