/**
 * Email addresses on accounts (spec: "Adding Account Administrative Contact Information") and
 * the `requestToken` endpoints of email validation:
 *
 * - `POST /v3/account/3pid/email/requestToken`, `POST /v3/account/password/email/requestToken`
 *   (server/email/request_token.ts);
 * - `GET /v3/account/3pid`, `POST /v3/account/3pid/add` (user-interactive auth by password;
 *   the session's mailed link must have been confirmed), `POST /v3/account/3pid/delete`;
 * - `POST /v3/account/3pid/unbind` answers `no-support`, and `POST /v3/account/3pid/bind` and the
 *   deprecated `POST /v3/account/3pid` are refused with `M_SERVER_NOT_TRUSTED`: gemeng uses no
 *   identity server.
 *
 * Email addresses only (no `msisdn`). An account that is deactivated loses its addresses.
 *
 * @module
 */

import { Hono } from "hono";
import { invalidParam, MatrixError } from "../errors.ts";
import { optionalObject, optionalString, requiredString } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, readBody, requireAuth } from "../request_context.ts";
import { emailOff, requestEmailToken } from "../email/request_token.ts";
import { addEmailPusher, removeEmailPusher } from "../email/email_notifs.ts";
import {
  addThreepid,
  canonicalEmail,
  deleteAllThreepids,
  deleteThreepid,
  ownerOf,
  threepidsOf,
  validatedSession,
} from "../email/threepid_store.ts";
import { requireUia } from "./uia.ts";

const PASSWORD_FLOWS = [["m.login.password"]];

function noIdentityServer(): MatrixError {
  return new MatrixError(
    "M_SERVER_NOT_TRUSTED",
    "This server binds addresses through no identity server; use /account/3pid/add",
  );
}

function readMediumAddress(body: Record<string, unknown>): { medium: string; address: string } {
  const medium = requiredString(body, "medium", { maxBytes: 16 });
  if (medium !== "email" && medium !== "msisdn") {
    throw invalidParam("'medium' must be 'email' or 'msisdn'");
  }
  const address = requiredString(body, "address", { maxBytes: 512 });
  optionalString(body, "id_server", { maxBytes: 512 });
  return { medium, address };
}

/** Routes of 3PIDs. */
export function threepidRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  hs.addAccountHooks({
    async userDeactivated(userId) {
      for (const address of await deleteAllThreepids(hs.kv, userId)) {
        await removeEmailPusher(hs, userId, address);
      }
    },
  });

  app.post("/_matrix/client/v3/account/password/email/requestToken", async (c) => {
    const body = await readBody(hs, c);
    const sid = await requestEmailToken(hs, body, { purpose: "password", ip: clientIp(c) });
    return c.json({ sid });
  });

  app.post("/_matrix/client/v3/account/3pid/email/requestToken", async (c) => {
    const body = await readBody(hs, c);
    const sid = await requestEmailToken(hs, body, { purpose: "add", ip: clientIp(c) });
    return c.json({ sid });
  });

  app.get("/_matrix/client/v3/account/3pid", requireAuth(hs), async (c) => {
    return c.json({ threepids: await threepidsOf(hs.kv, c.var.auth.userId) });
  });

  app.post("/_matrix/client/v3/account/3pid/add", requireAuth(hs), async (c) => {
    const { userId } = c.var.auth;
    const body = await readBody(hs, c);
    if (!hs.config.email.enabled) throw emailOff();
    const sid = requiredString(body, "sid", { maxBytes: 255 });
    const clientSecret = requiredString(body, "client_secret", { maxBytes: 255 });
    const outcome = await requireUia(hs, optionalObject(body, "auth"), {
      purpose: "3pid_add",
      userId,
      flows: PASSWORD_FLOWS,
      ip: clientIp(c),
    });
    const session = await validatedSession(hs.kv, { sid, clientSecret, purpose: "add" });
    if (!session) {
      // Element asks again after telling the user to follow the link in the mail.
      throw new MatrixError(
        "M_THREEPID_AUTH_FAILED",
        "The email address is not confirmed: follow the link in the mail first",
      );
    }
    const address = session.value.address;
    const owner = await ownerOf(hs.kv, address);
    if (owner?.userId === userId) {
      await hs.kv.atomic().delete(session.key).delete(outcome.sessionKey).commit();
      return c.json({});
    }
    if (owner) {
      throw new MatrixError("M_THREEPID_IN_USE", "This email address is already on an account");
    }
    const now = Date.now();
    const op = hs.kv.atomic().check(session).delete(session.key).delete(outcome.sessionKey);
    addThreepid(op, { userId, address, validatedTs: session.value.validatedTs!, addedTs: now });
    if (!(await op.commit()).ok) {
      throw new MatrixError("M_THREEPID_IN_USE", "This email address was just added elsewhere");
    }
    if (hs.config.email.notifForNewUsers) await addEmailPusher(hs, userId, address);
    return c.json({});
  });

  app.post("/_matrix/client/v3/account/3pid/delete", requireAuth(hs), async (c) => {
    const { userId } = c.var.auth;
    const body = await readBody(hs, c);
    const { medium, address } = readMediumAddress(body);
    const canonical = medium === "email" ? canonicalEmail(address) : null;
    // As Synapse: removing an address the account does not have changes nothing and succeeds.
    if (canonical !== null && await deleteThreepid(hs.kv, userId, canonical)) {
      await removeEmailPusher(hs, userId, canonical);
    }
    return c.json({ id_server_unbind_result: "no-support" });
  });

  app.post("/_matrix/client/v3/account/3pid/unbind", requireAuth(hs), async (c) => {
    readMediumAddress(await readBody(hs, c));
    return c.json({ id_server_unbind_result: "no-support" });
  });

  app.post("/_matrix/client/v3/account/3pid/bind", requireAuth(hs), async (c) => {
    await readBody(hs, c);
    throw noIdentityServer();
  });

  app.post("/_matrix/client/v3/account/3pid", requireAuth(hs), async (c) => {
    await readBody(hs, c);
    throw noIdentityServer();
  });

  return app;
}
