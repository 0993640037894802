/**
 * Account moderation endpoints (spec: Client-Server API, "Server administration", v1.18):
 * `GET`/`PUT /_matrix/client/v1/admin/lock/{userId}` and `/admin/suspend/{userId}`, for server
 * admins; what the flags do is in `moderation_check.ts`.
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { badJson, forbidden, invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { moderated, setModeration } from "./moderation_check.ts";
import { auditAdminAction } from "../admin/audit.ts";

/** The capability telling admins that they may lock and suspend (omitted for others). */
export async function moderationCapability(
  hs: Homeserver,
  userId: string,
): Promise<{ suspend: boolean; lock: boolean } | null> {
  return (await getUser(hs.kv, userId))?.admin === true ? { suspend: true, lock: true } : null;
}

/** Checks the caller and the target of an admin moderation request; returns the target. */
async function moderationTarget(
  hs: Homeserver,
  caller: string,
  target: string,
  options: { self: "allowed" | "refused" },
): Promise<string> {
  // Authorisation first, so that a non-admin learns nothing about who exists.
  if ((await getUser(hs.kv, caller))?.admin !== true) {
    throw forbidden("Requesting user is not a server administrator");
  }
  if (serverNameOf(target) !== hs.config.serverName) {
    throw invalidParam("User does not belong to the local server");
  }
  const user = await getUser(hs.kv, target);
  if (!user || user.deactivated) throw notFound("User not found");
  if (target === caller && options.self === "refused") {
    throw forbidden("You cannot do this to your own account");
  }
  if (target !== caller && user.admin) throw forbidden("The target user is an administrator");
  return target;
}

function booleanField(body: Record<string, unknown>, field: string): boolean {
  const value = body[field];
  if (value === undefined) throw new MatrixError("M_MISSING_PARAM", `'${field}' is required`);
  if (typeof value !== "boolean") throw badJson(`'${field}' must be a boolean`);
  return value;
}

/** Routes of the account moderation endpoints. */
export function accountModerationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  const V1 = "/_matrix/client/v1/admin";

  for (const kind of ["lock", "suspend"] as const) {
    const field = kind === "lock" ? "locked" : "suspended";
    // An admin may look at their own account; suspending it is refused (the spec), locking
    // it too (they could not unlock it again).
    app.get(`${V1}/${kind}/:userId`, auth, async (c) => {
      const target = await moderationTarget(hs, c.var.auth.userId, c.req.param("userId"), {
        self: "allowed",
      });
      const record = (await moderated(hs.kv)).get(target);
      return c.json({ [field]: record?.[field] ?? false });
    });
    app.put(`${V1}/${kind}/:userId`, auth, async (c) => {
      const target = await moderationTarget(hs, c.var.auth.userId, c.req.param("userId"), {
        self: "refused",
      });
      const value = booleanField(await readBody(hs, c), field);
      const record = await setModeration(hs, target, { [field]: value });
      await auditAdminAction(hs, c, kind === "lock" ? "user.lock" : "user.suspend", {
        target,
        details: { [field]: value },
      });
      return c.json({ [field]: record[field] });
    });
  }
  return app;
}
