/**
 * `GET /_synapse/admin/v1/gemeng/server_info` (server admins only): what the admin console
 * shows about the node that no Synapse endpoint tells: the version, how long it has run, its
 * memory, the data format, and the federation and registration settings from the config
 * (read-only: the config file stays the one place they are changed).
 *
 * @module
 */

import { Hono } from "hono";
import { SERVER_VERSION } from "../federation/version.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { adminOnly } from "./admin_common.ts";
import { systemUserId } from "./server_notices.ts";

/** Routes of the server information endpoint. */
export function serverInfoAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Route modules are made when the app is, which is when the server starts.
  const startedTs = Date.now();
  app.get("/_synapse/admin/v1/gemeng/server_info", ...adminOnly(hs), (c) => {
    const memory = Deno.memoryUsage();
    const { federation, registration } = hs.config;
    return c.json({
      server_name: hs.config.serverName,
      server_version: `gemeng ${SERVER_VERSION}`,
      started_ts: startedTs,
      uptime_ms: Date.now() - startedTs,
      memory: { rss_bytes: memory.rss, heap_used_bytes: memory.heapUsed },
      data_format: hs.dataFormat,
      federation: { enabled: federation.enabled, allow: [...federation.allow] },
      registration: { enabled: registration.enabled, require_token: registration.requireToken },
      // The console leaves it out when it sends a notice to every user.
      server_notices: { system_user_id: systemUserId(hs) },
    });
  });
  return app;
}
