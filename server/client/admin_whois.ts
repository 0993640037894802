/**
 * Server administration (spec: Client-Server API, "Server Administration"):
 * `GET /_matrix/client/v3/admin/whois/{userId}`. The spec lets a server restrict it to the
 * user themselves and server admins; here both may call it (as in Synapse), anyone else gets
 * 403 before the user is looked up, so the answer does not tell who exists.
 *
 * Each device is one session with one connection: the last address and time the device's
 * access token was seen (`touchDevice` keeps them, at most once a minute). User agents are not
 * recorded, so `user_agent` is left out.
 *
 * Synapse's admin API path `GET /_synapse/admin/v1/whois/{userId}` gives the same answer.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { forbidden, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { listDevices } from "../store/devices.ts";

/** Routes of the server administration module. */
export function adminWhoisRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const whois = async (c: Context<AppEnv>) => {
    const target = c.req.param("userId") ?? "";
    const caller = c.var.auth.userId;
    if (target !== caller && (await getUser(hs.kv, caller))?.admin !== true) {
      throw forbidden("Only server admins may look up other users");
    }
    if (serverNameOf(target) !== hs.config.serverName || !(await getUser(hs.kv, target))) {
      throw notFound("No such user on this server");
    }
    const devices: Record<string, unknown> = {};
    for (const device of await listDevices(hs.kv, target)) {
      const connection: Record<string, unknown> = { last_seen: device.lastSeenTs };
      if (device.lastSeenIp !== null) connection.ip = device.lastSeenIp;
      devices[device.deviceId] = { sessions: [{ connections: [connection] }] };
    }
    return c.json({ user_id: target, devices });
  };
  app.get("/_matrix/client/v3/admin/whois/:userId", requireAuth(hs), whois);
  app.get("/_synapse/admin/v1/whois/:userId", requireAuth(hs), whois);

  return app;
}
