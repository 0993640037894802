/**
 * Registration and login by application services (spec: Application Service API, "Server admin
 * style permissions"): `POST /register` and `POST /login` with the type
 * `m.login.application_service` and the service's `as_token`, for users in its namespace,
 * without user-interactive authentication or a password. Ordinary registrations of IDs in an
 * exclusive namespace are refused with `M_EXCLUSIVE` ({@link checkUserNotExclusive}).
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { forbidden, MatrixError, missingParam } from "../errors.ts";
import { type JsonObject, optionalBoolean, optionalObject, optionalString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import type { Context } from "hono";
import { accessTokenOf, type AppEnv, clientIp, readBody } from "../request_context.ts";
import {
  createUser,
  getUserEntry,
  loginDevice,
  resolveLoginUser,
  userIdForLocalpart,
} from "../store/accounts.ts";
import { readDeviceFields, sessionResponse } from "../client/login.ts";
import { exclusiveError } from "./auth.ts";
import { peekJsonObject } from "./client.ts";
import { type AppserviceRegistration, ownsUser } from "./registration.ts";
import { appservicesOf } from "./registry.ts";

/** The registration and login type of application services. */
export const APPSERVICE_LOGIN_TYPE = "m.login.application_service";

/** The login flows of application services: listed when the server has any. */
export function appserviceLoginFlows(hs: Homeserver): { type: string }[] {
  return appservicesOf(hs).list.length > 0 ? [{ type: APPSERVICE_LOGIN_TYPE }] : [];
}

/**
 * The application service whose `as_token` the request carries, or null when it carries
 * another token or none.
 */
export function appserviceOfRequest(
  hs: Homeserver,
  request: Request,
): AppserviceRegistration | null {
  let token: string | null;
  try {
    token = accessTokenOf(request);
  } catch {
    return null;
  }
  return token ? appservicesOf(hs).byToken(token) : null;
}

/** The 401 for `m.login.application_service` without a valid `as_token`. */
export function appserviceTokenError(request: Request): MatrixError {
  let token: string | null = null;
  try {
    token = accessTokenOf(request);
  } catch {
    // A malformed Authorization header is as good as none.
  }
  return token
    ? new MatrixError("M_UNKNOWN_TOKEN", "Unrecognised application service token", {
      status: 401,
      extra: { soft_logout: false },
    })
    : new MatrixError("M_MISSING_TOKEN", "m.login.application_service needs the as_token", {
      status: 401,
    });
}

/**
 * Refuses a user ID that an application service holds exclusively (ordinary registration and
 * `/register/available`).
 *
 * @throws {MatrixError} 400 M_EXCLUSIVE
 */
export function checkUserNotExclusive(hs: Homeserver, userId: string): void {
  const owner = appservicesOf(hs).exclusiveOwnerOfUser(userId);
  if (owner) throw exclusiveError(`${userId} is reserved by an application service`, 400);
}

/**
 * The application service part of `POST /register`, run before ordinary registration: a
 * request with an `as_token` registers a user of the service (the answer is returned); one
 * that asks for `m.login.application_service` without such a token is refused with 401. Null
 * means ordinary registration goes on.
 */
export async function appserviceRegistration(
  hs: Homeserver,
  c: Context<AppEnv>,
): Promise<Record<string, unknown> | null> {
  const registration = appserviceOfRequest(hs, c.req.raw);
  if (registration) {
    const body = await readBody(hs, c);
    return await registerAppserviceUser(hs, { registration, body, ip: clientIp(c) });
  }
  if (appservicesOf(hs).list.length === 0) return null;
  // Ordinary registration reports a bad body.
  const body = await peekJsonObject(c.req.raw, hs.config.limits.maxRequestBody);
  if (body?.type === APPSERVICE_LOGIN_TYPE) throw appserviceTokenError(c.req.raw);
  return null;
}

/**
 * `POST /register` by an application service: the user is created without a password,
 * logged in unless `inhibit_login`.
 *
 * @throws {MatrixError} 400 M_EXCLUSIVE outside its namespace (or inside another service's
 *   exclusive one), M_USER_IN_USE, M_INVALID_USERNAME, M_MISSING_PARAM
 */
export async function registerAppserviceUser(
  hs: Homeserver,
  options: { registration: AppserviceRegistration; body: JsonObject; ip: string },
): Promise<Record<string, unknown>> {
  const { registration, body } = options;
  const type = optionalString(body, "type", { maxBytes: 128 }) ??
    optionalString(optionalObject(body, "auth") ?? {}, "type", { maxBytes: 128 });
  if (type !== APPSERVICE_LOGIN_TYPE) {
    throw new MatrixError(
      "M_INVALID_PARAM",
      `An application service registers users with the type '${APPSERVICE_LOGIN_TYPE}'`,
    );
  }
  const username = optionalString(body, "username", { maxBytes: 255 });
  if (username === undefined) throw missingParam("username");
  const userId = userIdForLocalpart(username.toLowerCase(), hs.config.serverName);
  if (!ownsUser(registration, userId)) {
    throw exclusiveError(`${userId} is outside the application service's namespace`, 400);
  }
  const owner = appservicesOf(hs).exclusiveOwnerOfUser(userId);
  if (owner && owner.id !== registration.id) {
    throw exclusiveError(`${userId} is reserved by another application service`, 400);
  }
  const inhibitLogin = optionalBoolean(body, "inhibit_login") ?? false;
  const device = readDeviceFields(body);
  const tokens = await createUser(hs.kv, { userId, passwordHash: null }, {
    login: inhibitLogin ? undefined : {
      deviceId: device.deviceId,
      displayName: device.displayName,
      refresh: optionalBoolean(body, "refresh_token") ?? false,
      accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
      ip: options.ip,
    },
  });
  await hs.notify("userRegistered", userId);
  if (!tokens) return { user_id: userId, home_server: hs.config.serverName };
  return sessionResponse(hs, userId, tokens);
}

/**
 * `POST /login` with `m.login.application_service`: a new device of a user in the service's
 * namespace, without a password.
 *
 * @throws {MatrixError} 401 without a valid `as_token`, 403 M_EXCLUSIVE outside the namespace,
 *   403 M_FORBIDDEN for an unknown user, 403 M_USER_DEACTIVATED
 */
export async function appserviceLogin(
  hs: Homeserver,
  request: Request,
  options: { body: JsonObject; userName: string; ip: string },
): Promise<Record<string, unknown>> {
  const registration = appserviceOfRequest(hs, request);
  if (!registration) throw appserviceTokenError(request);
  const userId = resolveLoginUser(options.userName, hs.config.serverName);
  if (!userId || serverNameOf(userId) !== hs.config.serverName || !ownsUser(registration, userId)) {
    throw exclusiveError(`${options.userName} is outside the application service's namespace`);
  }
  const device = readDeviceFields(options.body);
  const wantsRefresh = optionalBoolean(options.body, "refresh_token") ?? false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = await getUserEntry(hs.kv, userId);
    if (!entry.value) throw forbidden(`${userId} is not registered`);
    if (entry.value.deactivated) {
      throw new MatrixError("M_USER_DEACTIVATED", "This account has been deactivated", {
        status: 403,
      });
    }
    const tokens = await loginDevice(hs.kv, entry as Deno.KvEntry<typeof entry.value>, {
      deviceId: device.deviceId,
      displayName: device.displayName,
      refresh: wantsRefresh,
      accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
      ip: options.ip,
    });
    if (!tokens) continue;
    return {
      ...sessionResponse(hs, userId, tokens),
      well_known: { "m.homeserver": { base_url: hs.config.http.publicBaseUrl } },
    };
  }
  throw new MatrixError("M_UNKNOWN", "The account changed during login; try again", {
    status: 409,
  });
}
