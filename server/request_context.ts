/**
 * Per-request helpers shared by all Client-Server API modules: the Hono environment type,
 * access-token authentication, the caller's address, and body reading with the configured size
 * limit.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { MatrixError } from "./errors.ts";
import { type JsonObject, readJsonObject } from "./http_util.ts";
import type { Homeserver } from "./homeserver.ts";
import { lookupAccessToken, type TokenOwner, touchDevice } from "./store/devices.ts";
import { appserviceCaller, exemptFromRateLimits } from "./appservice/auth.ts";
import type { AppserviceRegistration } from "./appservice/registration.ts";
import { checkGuestRequest } from "./client/guest_routes.ts";
import { checkModeration } from "./client/moderation_check.ts";

/** The Hono environment of every route: connection info and the authenticated caller. */
export type AppEnv = {
  Bindings: { remoteAddr?: Deno.Addr };
  Variables: {
    auth: TokenOwner;
    fedRequest: { origin: string; content: JsonObject | undefined };
    /** Set when the caller is an application service (its `as_token`). */
    appservice: AppserviceRegistration | undefined;
  };
};

/** How often a device's `last_seen_ts` is written at most. */
const LAST_SEEN_INTERVAL_MS = 5 * 60_000;

/** The client's address, as the connection reports it. */
export function clientIp(c: Context<AppEnv>): string {
  const addr = c.env?.remoteAddr;
  if (addr && "hostname" in addr) return addr.hostname;
  return "unknown";
}

/** The access token from `Authorization: Bearer` or the `access_token` query parameter. */
export function accessTokenOf(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new MatrixError("M_MISSING_TOKEN", "Authorization header must be 'Bearer <token>'", {
        status: 401,
      });
    }
    return match[1];
  }
  return new URL(request.url).searchParams.get("access_token");
}

/**
 * Middleware that requires a valid access token and stores its owner as `c.var.auth`.
 *
 * @throws {MatrixError} 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN (`soft_logout` true only for
 *   an expired token that can be refreshed); 403 M_GUEST_ACCESS_FORBIDDEN for a guest's
 *   token on an endpoint guests may not use (server/client/guest_routes.ts); 401
 *   M_USER_LOCKED and 403 M_USER_SUSPENDED (server/client/moderation_check.ts)
 */
export function requireAuth(hs: Homeserver): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = await authenticate(hs, c.req.raw, { path: c.req.path, ip: clientIp(c) });
    c.set("auth", caller.owner);
    if (caller.appservice) c.set("appservice", caller.appservice);
    await next();
  };
}

/**
 * The checks of {@link requireAuth} without hono (the `/sync` route answers without it):
 * the caller of `request`, whose routed path is `where.path`.
 *
 * @throws {MatrixError} as {@link requireAuth}
 */
export async function authenticate(
  hs: Homeserver,
  request: Request,
  where: { path: string; ip: string },
): Promise<{ owner: TokenOwner; appservice?: AppserviceRegistration }> {
  const token = accessTokenOf(request);
  if (token === null || token === "") {
    throw new MatrixError("M_MISSING_TOKEN", "Missing access token", { status: 401 });
  }
  const service = await appserviceCaller(hs, request, token);
  if (service) return { owner: service.owner, appservice: service.registration };
  const lookup = await lookupAccessToken(hs.kv, token);
  if (lookup.status !== "valid") {
    const expired = lookup.status === "expired";
    throw new MatrixError(
      "M_UNKNOWN_TOKEN",
      expired ? "Access token has expired" : "Unrecognised access token",
      { status: 401, extra: { soft_logout: expired } },
    );
  }
  await checkGuestRequest(hs, {
    method: request.method,
    url: request.url,
    path: where.path,
    userId: lookup.owner.userId,
  });
  await checkModeration(hs, {
    method: request.method,
    path: where.path,
    userId: lookup.owner.userId,
  });
  await touchDevice(hs.kv, lookup.owner, {
    ip: where.ip,
    minIntervalMs: LAST_SEEN_INTERVAL_MS,
  });
  return { owner: lookup.owner };
}

/** Reads the JSON object body with the configured size limit. */
export function readBody(
  hs: Homeserver,
  c: Context<AppEnv>,
  options: { allowEmpty?: boolean } = {},
): Promise<JsonObject> {
  return readJsonObject(c.req.raw, {
    maxBytes: hs.config.limits.maxRequestBody,
    allowEmpty: options.allowEmpty,
  });
}

/** Applies a rate limit keyed by the client address (and user when authenticated). */
export function rateLimit(
  hs: Homeserver,
  c: Context<AppEnv>,
  action: string,
  options: { userId?: string } = {},
): void {
  if (exemptFromRateLimits({ registration: c.get("appservice"), userId: c.get("auth")?.userId })) {
    return;
  }
  hs.rateLimiter.check(action, `${clientIp(c)}\u0000${options.userId ?? ""}`);
}
