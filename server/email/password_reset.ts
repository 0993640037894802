/**
 * Password reset by email: `POST /_matrix/client/v3/account/password` without an access token
 * (the spec lets the server choose flows by whether one is given), with the one flow
 * `m.login.email.identity`: the `threepid_creds` name a validation session from
 * `POST /account/password/email/requestToken` whose mailed link was confirmed. The account is
 * the one that has the address now; the session is used up in the reset's commit.
 *
 * @module
 */

import type { Context } from "hono";
import { hashPassword } from "../../crypto/password.ts";
import { MatrixError } from "../errors.ts";
import { optionalBoolean, optionalObject, requiredString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, readBody } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { deleteDevices } from "../store/devices.ts";
import { addUserUpdate } from "../client/account.ts";
import { deleteOtherSessionsPushers } from "../client/pushers.ts";
import { checkNewPassword } from "../client/registration.ts";
import { requireUia } from "../client/uia.ts";
import { ownerOf, threepidKeys, validatedSession } from "./threepid_store.ts";

const EMAIL_STAGE = "m.login.email.identity";

/**
 * The `m.login.email.identity` stage of a password reset: the account the confirmed session
 * resets, as `{"userId","sid"}` JSON, or null when the session is unknown, expired, not yet
 * confirmed, for another client secret, or the address has left that account since.
 */
export async function emailStageUser(
  hs: Homeserver,
  creds: { sid: string; clientSecret: string },
): Promise<string | null> {
  const entry = await validatedSession(hs.kv, { ...creds, purpose: "password" });
  if (!entry) return null;
  const owner = await ownerOf(hs.kv, entry.value.address);
  if (!owner || owner.userId !== entry.value.userId) return null;
  return JSON.stringify({ userId: owner.userId, sid: creds.sid });
}

/** `POST /account/password` without an access token (email configured). */
export async function resetPasswordByEmail(
  hs: Homeserver,
  c: Context<AppEnv>,
): Promise<Response> {
  const body = await readBody(hs, c);
  const newPassword = requiredString(body, "new_password");
  checkNewPassword(newPassword);
  const logoutDevices = optionalBoolean(body, "logout_devices") ?? true;
  const outcome = await requireUia(hs, optionalObject(body, "auth"), {
    purpose: "password_reset",
    userId: null,
    flows: [[EMAIL_STAGE]],
    ip: clientIp(c),
  });
  const { userId, sid } = JSON.parse(outcome.results[EMAIL_STAGE]) as {
    userId: string;
    sid: string;
  };
  const user = await getUser(hs.kv, userId);
  if (!user || user.deactivated) {
    throw new MatrixError("M_THREEPID_NOT_FOUND", "No account has this email address");
  }
  if (user.passwordHash === null) {
    throw new MatrixError("M_FORBIDDEN", "This account signs in through its organisation", {
      status: 403,
    });
  }
  const sessionEntry = await hs.kv.get(threepidKeys.session(sid));
  if (sessionEntry.value === null) {
    throw new MatrixError("M_UNAUTHORIZED", "The email session was used or has expired", {
      status: 401,
    });
  }
  const passwordHash = await hashPassword(newPassword, { cost: hs.passwordCost });
  const deleted = await deleteDevices(hs.kv, userId, {
    select: () => logoutDevices,
    prepare: async (op) => {
      await addUserUpdate(hs.kv, op, { userId, change: (u) => ({ ...u, passwordHash }) });
      // The mailed link resets once: the session goes in the same commit.
      op.check(sessionEntry).delete(sessionEntry.key);
      op.delete(outcome.sessionKey);
    },
  });
  await hs.notify("devicesDeleted", userId, deleted);
  if (logoutDevices) await deleteOtherSessionsPushers(hs, userId, "");
  hs.log.info(`password of ${userId} reset by email`);
  return c.json({});
}
