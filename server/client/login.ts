/**
 * Login and sessions: `GET/POST /_matrix/client/v3/login`, `POST /v3/refresh`,
 * `POST /v3/logout` and `POST /v3/logout/all`.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import {
  hashPassword,
  MAX_PASSWORD_BYTES,
  needsRehash,
  verifyPassword,
} from "../../crypto/password.ts";
import { randomToken } from "../../crypto/tokens.ts";
import { badJson, forbidden, MatrixError } from "../errors.ts";
import {
  type JsonObject,
  optionalBoolean,
  optionalObject,
  optionalString,
  requiredString,
  utf8Length,
} from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, rateLimit, readBody, requireAuth } from "../request_context.ts";
import {
  APPSERVICE_LOGIN_TYPE,
  appserviceLogin,
  appserviceLoginFlows,
} from "../appservice/accounts.ts";
import { authLoginFlows, authLoginUser } from "../auth/login_types.ts";
import { ldapPasswordUser } from "../auth/ldap_login.ts";
import { getUserEntry, loginDevice, resolveLoginUser, updateUser } from "../store/accounts.ts";
import {
  countDevices,
  deleteDevices,
  type IssuedTokens,
  refreshSession,
} from "../store/devices.ts";
import { canonicalEmail, ownerOf } from "../email/threepid_store.ts";

/** Longest client-chosen device ID, in bytes. */
export const MAX_DEVICE_ID_BYTES = 255;
/** Longest device display name, in bytes. */
export const MAX_DEVICE_NAME_BYTES = 256;

/** The JSON body of a successful login or registration. */
export function sessionResponse(
  hs: Homeserver,
  userId: string,
  tokens: IssuedTokens,
): Record<string, unknown> {
  return {
    user_id: userId,
    access_token: tokens.accessToken,
    device_id: tokens.deviceId,
    home_server: hs.config.serverName,
    ...(tokens.refreshToken
      ? { refresh_token: tokens.refreshToken, expires_in_ms: tokens.expiresInMs }
      : {}),
  };
}

/** Reads `device_id` and `initial_device_display_name` of a login or registration body. */
export function readDeviceFields(body: JsonObject): { deviceId?: string; displayName?: string } {
  const deviceId = optionalString(body, "device_id", { maxBytes: MAX_DEVICE_ID_BYTES });
  if (deviceId === "") throw new MatrixError("M_INVALID_PARAM", "'device_id' must not be empty");
  const displayName = optionalString(body, "initial_device_display_name", {
    maxBytes: MAX_DEVICE_NAME_BYTES,
  });
  return { deviceId, displayName };
}

/** A login identified by an address on an account (`m.id.thirdparty`). */
interface ThirdPartyLogin {
  medium: string;
  address: string;
}

function loginUserName(body: JsonObject): string | ThirdPartyLogin {
  const identifier = optionalObject(body, "identifier");
  if (identifier) {
    if (typeof identifier.type !== "string") {
      throw badJson("'identifier.type' is required and must be a string, e.g. 'm.id.user'");
    }
    if (identifier.type === "m.id.thirdparty") {
      const { medium, address } = identifier;
      if (typeof medium !== "string" || typeof address !== "string" || address.length > 512) {
        throw badJson("'identifier.medium' and 'identifier.address' must be strings");
      }
      return { medium, address };
    }
    if (identifier.type !== "m.id.user") {
      // Phone numbers are not held here, so none identifies a user.
      throw forbidden("Only m.id.user and m.id.thirdparty (email) identify users here");
    }
    const user = identifier.user;
    if (typeof user !== "string" || utf8Length(user) > 512) {
      throw badJson("'identifier.user' is required and must be a string of at most 512 bytes");
    }
    return user;
  }
  const legacy = optionalString(body, "user", { maxBytes: 512 });
  if (legacy === undefined) throw new MatrixError("M_MISSING_PARAM", "Missing 'identifier'");
  return legacy;
}

/**
 * The account an address identifies (server/email/): its user ID, or "" when no account has it,
 * which resolves to no user, so the answer is the same 403 after the same password work.
 */
async function thirdPartyLoginName(hs: Homeserver, login: ThirdPartyLogin): Promise<string> {
  const address = login.medium === "email" ? canonicalEmail(login.address) : null;
  return (address ? (await ownerOf(hs.kv, address))?.userId : undefined) ?? "";
}

function deactivatedError(): MatrixError {
  return new MatrixError("M_USER_DEACTIVATED", "This account has been deactivated", {
    status: 403,
  });
}

/**
 * Logs in a new device for a user whose identity another check has already proven (a JWT, a
 * login token, the LDAP directory), with the device fields of the login body.
 */
async function loginVerifiedUser(
  hs: Homeserver,
  c: Context<AppEnv>,
  userId: string,
  body: JsonObject,
): Promise<Record<string, unknown>> {
  const device = readDeviceFields(body);
  const wantsRefresh = optionalBoolean(body, "refresh_token") ?? false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = await getUserEntry(hs.kv, userId);
    if (!entry.value) throw forbidden("Invalid login");
    if (entry.value.deactivated) throw deactivatedError();
    if (!device.deviceId) {
      const limit = hs.config.limits.maxDevicesPerUser;
      if (await countDevices(hs.kv, userId, { limit }) >= limit) {
        throw forbidden(`You have ${limit} sessions; log some out before logging in again`);
      }
    }
    const tokens = await loginDevice(hs.kv, entry as Deno.KvEntry<typeof entry.value>, {
      deviceId: device.deviceId,
      displayName: device.displayName,
      refresh: wantsRefresh,
      accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
      ip: clientIp(c),
    });
    if (!tokens) continue;
    await hs.notify("deviceCreated", userId, tokens.deviceId);
    return {
      ...sessionResponse(hs, userId, tokens),
      well_known: { "m.homeserver": { base_url: hs.config.http.publicBaseUrl } },
    };
  }
  throw new MatrixError("M_UNKNOWN", "The account changed during login; try again", {
    status: 409,
  });
}

/** Routes of login, refresh and logout. */
export function loginRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Verified against when the user does not exist, so that timing does not reveal it.
  let dummyHash: Promise<string> | null = null;

  app.get(
    "/_matrix/client/v3/login",
    (c) =>
      c.json({
        flows: [{ type: "m.login.password" }, ...authLoginFlows(hs), ...appserviceLoginFlows(hs)],
      }),
  );

  app.post("/_matrix/client/v3/login", async (c) => {
    rateLimit(hs, c, "login");
    const body = await readBody(hs, c);
    const type = requiredString(body, "type", { maxBytes: 128 });
    if (type === APPSERVICE_LOGIN_TYPE) {
      const userName = loginUserName(body);
      if (typeof userName !== "string") throw forbidden("Application services log in by user ID");
      return c.json(await appserviceLogin(hs, c.req.raw, { body, userName, ip: clientIp(c) }));
    }
    const authUser = await authLoginUser(hs, type, body);
    if (authUser !== null) return c.json(await loginVerifiedUser(hs, c, authUser, body));
    if (type !== "m.login.password") {
      throw new MatrixError("M_UNKNOWN", `Login type '${type}' is not supported`);
    }
    const named = loginUserName(body);
    const name = typeof named === "string" ? named : await thirdPartyLoginName(hs, named);
    const password = requiredString(body, "password");
    const device = readDeviceFields(body);
    const wantsRefresh = optionalBoolean(body, "refresh_token") ?? false;
    if (typeof named === "string" && utf8Length(password) <= MAX_PASSWORD_BYTES) {
      const directoryUser = await ldapPasswordUser(hs, name, password);
      if (directoryUser) return c.json(await loginVerifiedUser(hs, c, directoryUser, body));
    }
    const userId = resolveLoginUser(name, hs.config.serverName);

    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = userId ? await getUserEntry(hs.kv, userId) : null;
      const user = entry?.value ?? null;
      const stored = user?.passwordHash ?? null;
      const tooLong = utf8Length(password) > MAX_PASSWORD_BYTES;
      let ok: boolean;
      if (stored && !tooLong) {
        ok = await verifyPassword(password, stored);
      } else {
        dummyHash ??= hashPassword(randomToken(16), { cost: hs.passwordCost });
        await verifyPassword(password, await dummyHash);
        ok = false;
      }
      if (!ok || !entry || !user) {
        if (user?.deactivated) {
          throw new MatrixError("M_USER_DEACTIVATED", "This account has been deactivated", {
            status: 403,
          });
        }
        throw forbidden("Invalid username or password");
      }
      if (user.deactivated) {
        throw new MatrixError("M_USER_DEACTIVATED", "This account has been deactivated", {
          status: 403,
        });
      }
      if (!device.deviceId) {
        const limit = hs.config.limits.maxDevicesPerUser;
        if (await countDevices(hs.kv, user.userId, { limit }) >= limit) {
          throw forbidden(`You have ${limit} sessions; log some out before logging in again`);
        }
      }
      const tokens = await loginDevice(hs.kv, entry as Deno.KvEntry<typeof user>, {
        deviceId: device.deviceId,
        displayName: device.displayName,
        refresh: wantsRefresh,
        accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
        ip: clientIp(c),
      });
      if (!tokens) continue;
      await hs.notify("deviceCreated", user.userId, tokens.deviceId);
      if (stored && needsRehash(stored, { cost: hs.passwordCost })) {
        const fresh = await hashPassword(password, { cost: hs.passwordCost });
        await updateUser(
          hs.kv,
          user.userId,
          (u) => u.passwordHash === stored ? { ...u, passwordHash: fresh } : u,
        );
      }
      return c.json({
        ...sessionResponse(hs, user.userId, tokens),
        well_known: { "m.homeserver": { base_url: hs.config.http.publicBaseUrl } },
      });
    }
    throw new MatrixError("M_UNKNOWN", "The account changed during login; try again", {
      status: 409,
    });
  });

  app.post("/_matrix/client/v3/refresh", async (c) => {
    const body = await readBody(hs, c);
    const token = requiredString(body, "refresh_token", { maxBytes: 256 });
    const tokens = await refreshSession(hs.kv, token, {
      accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
    });
    if (!tokens) {
      throw new MatrixError("M_UNKNOWN_TOKEN", "Unknown or revoked refresh token", {
        status: 401,
        extra: { soft_logout: false },
      });
    }
    return c.json({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      expires_in_ms: tokens.expiresInMs,
    });
  });

  app.post("/_matrix/client/v3/logout", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const deleted = await deleteDevices(hs.kv, userId, {
      select: (device) => device.deviceId === deviceId,
    });
    await hs.notify("devicesDeleted", userId, deleted);
    return c.json({});
  });

  app.post("/_matrix/client/v3/logout/all", requireAuth(hs), async (c) => {
    const { userId } = c.var.auth;
    const deleted = await deleteDevices(hs.kv, userId);
    await hs.notify("devicesDeleted", userId, deleted);
    return c.json({});
  });

  return app;
}
