/**
 * What an application service may do beyond an ordinary client (spec: Application Service
 * API, "Timestamp massaging", "Device management", "Cross-signing"): set the
 * `origin_server_ts` of the events it sends (`ts`), create devices for its users without
 * logging them in, and skip user-interactive authentication when it deletes their devices,
 * replaces their cross-signing keys or deactivates them (the last as Synapse does; the spec is
 * silent). The Client-Server routes ask these helpers; an ordinary client gets `undefined` or
 * `false` from each and keeps the ordinary behaviour.
 *
 * @module
 */

import type { Context } from "hono";
import { forbidden, invalidParam, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { addDeviceSession, countDevices, getDevice } from "../store/devices.ts";
import { accountKeys } from "../store/kv_store.ts";
import { getUserEntry } from "../store/accounts.ts";

/** The largest `ts` taken: canonical JSON integers stop at 2^53 - 1. */
const MAX_TS = Number.MAX_SAFE_INTEGER;

/**
 * The `ts` query parameter of an application service's request, or undefined when the
 * caller is not a service or sent none (the server's clock is used then). Ordinary clients'
 * `ts` is ignored, as Synapse ignores it.
 *
 * @throws {MatrixError} 400 M_INVALID_PARAM when it is not a non-negative integer that
 *   `origin_server_ts` can hold
 */
export function massagedTimestamp(c: Context<AppEnv>): number | undefined {
  if (!c.get("appservice")) return undefined;
  const raw = c.req.query("ts");
  if (raw === undefined) return undefined;
  const ts = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(ts) || ts > MAX_TS) {
    throw invalidParam("'ts' must be a timestamp in milliseconds (a non-negative integer)");
  }
  return ts;
}

/**
 * Whether the request skips user-interactive authentication: it comes from an application
 * service (its sender, or a user it masquerades as).
 */
export function skipsUia(c: Context<AppEnv>): boolean {
  return c.get("appservice") !== undefined;
}

/**
 * Refuses the deactivation of a service's own sender through its `as_token`: the service
 * would lock itself out (every later request acts as a deactivated user). Its namespace users
 * may be deactivated.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN
 */
export function checkServiceDeactivation(c: Context<AppEnv>): void {
  const service = c.get("appservice");
  if (service && c.get("auth").userId === service.sender) {
    throw forbidden("An application service cannot deactivate its own sender");
  }
}

/** The outcome of {@link createServiceDevice}. */
export type DeviceCreation = "created" | "exists";

/**
 * Creates `deviceId` for the user an application service acts as, when the user has no
 * device of that name (spec `PUT /devices/{deviceId}`, 201). The device gets no usable
 * session: its access token is drawn and dropped, so only the service (with its `as_token`
 * and `device_id`) acts on it; a later `m.login.application_service` login with this
 * `device_id` gives it a token.
 *
 * @returns "exists" when the device was there already
 * @throws {MatrixError} 403 M_FORBIDDEN when the user is gone or deactivated or has
 *   `max_devices_per_user` devices; 409 after repeated conflicts
 */
export async function createServiceDevice(
  hs: Homeserver,
  target: { userId: string; deviceId: string; displayName?: string },
): Promise<DeviceCreation> {
  const deviceKey = accountKeys.device(target.userId, target.deviceId);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await getDevice(hs.kv, target.userId, target.deviceId)) return "exists";
    const entry = await getUserEntry(hs.kv, target.userId);
    if (!entry.value || entry.value.deactivated) {
      throw forbidden(`${target.userId} cannot have new devices`);
    }
    // The cap of logins holds here too.
    const limit = hs.config.limits.maxDevicesPerUser;
    if (await countDevices(hs.kv, target.userId, { limit }) >= limit) {
      throw forbidden(`${target.userId} has ${limit} devices; delete some first`);
    }
    // Only when the user is unchanged (no deactivation meanwhile) and the device still absent:
    // a device logged in meanwhile keeps its session.
    const op = hs.kv.atomic().check(entry).check({ key: deviceKey, versionstamp: null });
    addDeviceSession(op, { userId: target.userId, existing: null }, {
      deviceId: target.deviceId,
      displayName: target.displayName,
      accessTokenLifetimeMs: hs.config.limits.accessTokenLifetimeMs,
    });
    if ((await op.commit()).ok) {
      await hs.notify("deviceCreated", target.userId, target.deviceId);
      return "created";
    }
  }
  throw new MatrixError("M_UNKNOWN", "The account changed while creating the device; retry", {
    status: 409,
  });
}
