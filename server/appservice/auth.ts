/**
 * Application services as Client-Server API callers (spec: Application Service API,
 * "Client-Server API Extensions"): an `as_token` in place of an access token acts as the
 * service's sender, or as the user its `user_id` query parameter names when that user is in
 * the service's user namespace (identity assertion, "masquerading"), optionally on one of that
 * user's devices (`device_id`).
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { forbidden, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { createUser, getUser } from "../store/accounts.ts";
import { getDevice, type TokenOwner } from "../store/devices.ts";
import { secretHash } from "../store/kv_store.ts";
import { ownsUser } from "./registration.ts";
import type { AppserviceRegistration } from "./registration.ts";
import { appservicesOf } from "./registry.ts";

/** An application service's request, authenticated. */
export interface AppserviceCaller {
  /** The user (and device, "" when none) the request acts as. */
  owner: TokenOwner;
  /** The service that sent it. */
  registration: AppserviceRegistration;
}

/** The 403 for a user the service may not act as or create. */
export function exclusiveError(message: string, status = 403): MatrixError {
  return new MatrixError("M_EXCLUSIVE", message, { status });
}

/**
 * Resolves a presented token as an application service's `as_token`: null when it is not one
 * (the caller goes on with access tokens).
 *
 * @throws {MatrixError} 403 M_FORBIDDEN when `user_id` names a user outside the service's
 *   namespace or one not registered; 400 M_UNKNOWN_DEVICE for a `device_id` the user lacks
 */
export async function appserviceCaller(
  hs: Homeserver,
  request: Request,
  token: string,
): Promise<AppserviceCaller | null> {
  const registration = appservicesOf(hs).byToken(token);
  if (!registration) return null;
  const params = new URL(request.url).searchParams;
  const asserted = params.get("user_id");
  const userId = asserted === null || asserted === "" ? registration.sender : asserted;
  if (serverNameOf(userId) !== hs.config.serverName || !ownsUser(registration, userId)) {
    throw forbidden(`The application service cannot act as ${userId}: outside its namespace`);
  }
  const user = userId === registration.sender
    ? await ensureSender(hs, registration)
    : await getUser(hs.kv, userId);
  if (!user) throw forbidden(`The application service has not registered ${userId}`);
  if (user.deactivated) {
    throw new MatrixError("M_USER_DEACTIVATED", `${userId} has been deactivated`, { status: 403 });
  }
  const deviceId = params.get("device_id") ?? "";
  if (deviceId !== "" && !(await getDevice(hs.kv, userId, deviceId))) {
    throw new MatrixError("M_UNKNOWN_DEVICE", `${userId} has no device ${deviceId}`);
  }
  return { owner: { userId, deviceId, tokenHash: secretHash(token) }, registration };
}

/**
 * Whether a request escapes rate limits: the sender of an application service always does,
 * the users it masquerades as when its registration says `rate_limited: false`.
 */
export function exemptFromRateLimits(
  caller: { registration?: AppserviceRegistration; userId?: string },
): boolean {
  const reg = caller.registration;
  if (!reg) return false;
  return !reg.rateLimited || caller.userId === reg.sender;
}

/** The service's own user, created (without a password) the first time it is used. */
async function ensureSender(hs: Homeserver, reg: AppserviceRegistration) {
  const existing = await getUser(hs.kv, reg.sender);
  if (existing) return existing;
  try {
    await createUser(hs.kv, { userId: reg.sender, passwordHash: null });
    await hs.notify("userRegistered", reg.sender);
  } catch (err) {
    // A concurrent first request created it.
    if (!(err instanceof MatrixError && err.code === "M_USER_IN_USE")) throw err;
  }
  return await getUser(hs.kv, reg.sender);
}
