/**
 * The GDPR export of a local account for server admins:
 * `GET /_synapse/admin/v1/gemeng/users/{userId}/export` streams the archive that
 * `server/retention/user_export.ts` describes (gzip-compressed JSON lines), audited as
 * `user.export`. `main.ts user export USER FILE` writes the same archive to a file.
 *
 * @module
 */

import { Hono } from "hono";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { localpartOf } from "../store/profiles.ts";
import { userExportStream } from "../retention/user_export.ts";
import { adminOnly } from "./admin_common.ts";
import { auditAdminAction } from "./audit.ts";
import { requireLocalAccount } from "./user_accounts.ts";

/** The file name offered for a user's archive. */
export function exportFileName(userId: string): string {
  return `${localpartOf(userId).replace(/[^A-Za-z0-9._=-]/g, "_")}-export.jsonl.gz`;
}

/** The export route. */
export function userExportAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/_synapse/admin/v1/gemeng/users/:userId/export", ...adminOnly(hs), async (c) => {
    const userId = c.req.param("userId");
    await requireLocalAccount(hs, userId);
    await auditAdminAction(hs, c, "user.export", { target: userId });
    return new Response(userExportStream(hs, userId), {
      headers: {
        "Content-Type": "application/gzip",
        "Content-Disposition": `attachment; filename="${exportFileName(userId)}"`,
        "Cache-Control": "no-store",
      },
    });
  });
  return app;
}
