/**
 * Account management: `GET /_matrix/client/v3/account/whoami`,
 * `POST /v3/account/password` and `POST /v3/account/deactivate` (both with user-interactive
 * auth by password; without an access token, a password reset by email,
 * server/email/password_reset.ts; an application service deactivates its users without it, and acting
 * without a device it gets no `device_id` from whoami).
 *
 * @module
 */

import { Hono, type MiddlewareHandler } from "hono";
import { deactivateUser } from "../admin/user_accounts.ts";
import { hashPassword } from "../../crypto/password.ts";
import { MatrixError } from "../errors.ts";
import { optionalBoolean, optionalObject, requiredString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { accessTokenOf, type AppEnv, clientIp, readBody, requireAuth } from "../request_context.ts";
import { resetPasswordByEmail } from "../email/password_reset.ts";
import { getUserEntry } from "../store/accounts.ts";
import { deleteDevices } from "../store/devices.ts";
import type { UserRecord } from "../store/kv_store.ts";
import { deleteOtherSessionsPushers } from "./pushers.ts";
import { checkNewPassword } from "./registration.ts";
import { isGuestUser } from "./guest_routes.ts";
import { requireUia } from "./uia.ts";
import { checkServiceDeactivation, skipsUia } from "../appservice/privileges.ts";

const PASSWORD_FLOWS = [["m.login.password"]];

/**
 * Adds to `op` a checked update of a user record.
 *
 * @throws {MatrixError} 404 when the user no longer exists
 */
export async function addUserUpdate(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  update: { userId: string; change: (user: UserRecord) => UserRecord },
): Promise<void> {
  const entry = await getUserEntry(kv, update.userId);
  if (!entry.value) throw new MatrixError("M_NOT_FOUND", "No such user", { status: 404 });
  op.check(entry).set(entry.key, update.change(entry.value));
}

/** Routes of account management. */
export function accountRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/_matrix/client/v3/account/whoami", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    return c.json({
      user_id: userId,
      // An application service acting without a device: the spec lets the field be left out.
      device_id: deviceId === "" ? undefined : deviceId,
      is_guest: await isGuestUser(hs, userId),
    });
  });

  // Without an access token, and with mail configured: the reset by email.
  const resetByEmail: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (hs.config.email.enabled && accessTokenOf(c.req.raw) === null) {
      return await resetPasswordByEmail(hs, c);
    }
    await next();
  };

  app.post("/_matrix/client/v3/account/password", resetByEmail, requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const body = await readBody(hs, c);
    const newPassword = requiredString(body, "new_password");
    checkNewPassword(newPassword);
    const logoutDevices = optionalBoolean(body, "logout_devices") ?? true;
    const outcome = await requireUia(hs, optionalObject(body, "auth"), {
      purpose: "password",
      userId,
      flows: PASSWORD_FLOWS,
      ip: clientIp(c),
    });
    const passwordHash = await hashPassword(newPassword, { cost: hs.passwordCost });
    const deleted = await deleteDevices(hs.kv, userId, {
      select: (device) => logoutDevices && device.deviceId !== deviceId,
      prepare: async (op) => {
        await addUserUpdate(hs.kv, op, { userId, change: (user) => ({ ...user, passwordHash }) });
        op.delete(outcome.sessionKey);
      },
    });
    await hs.notify("devicesDeleted", userId, deleted);
    // The other sessions' pushers go even when their devices stay (as Synapse does).
    await deleteOtherSessionsPushers(hs, userId, deviceId);
    return c.json({});
  });

  app.post("/_matrix/client/v3/account/deactivate", requireAuth(hs), async (c) => {
    const { userId } = c.var.auth;
    const body = await readBody(hs, c);
    checkServiceDeactivation(c);
    const outcome = skipsUia(c) ? null : await requireUia(hs, optionalObject(body, "auth"), {
      purpose: "deactivate",
      userId,
      flows: PASSWORD_FLOWS,
      ip: clientIp(c),
    });
    const erase = optionalBoolean(body, "erase") ?? false;
    // As Synapse: besides the account and its devices, the user leaves every room and rejects
    // pending invites (the admin deactivation's path; `erase` removes personal data first).
    await deactivateUser(hs, userId, { erase, uiaSessionKey: outcome?.sessionKey });
    return c.json({ id_server_unbind_result: "no-support" });
  });

  return app;
}
