/**
 * Small Server-Server API endpoints: `GET /_matrix/federation/v1/version`, the delegation file
 * `GET /.well-known/matrix/server`, and `GET /_matrix/federation/v1/query/profile`.
 *
 * `.well-known/matrix/server` is served when federation is enabled: it names this server's host
 * with the federation listener's port, which is what other servers need when `server_name` is a
 * bare host name (it is served by the plain listener too, usually behind the proxy that answers
 * for `https://<server_name>/`). With `[http] tls` on and no separate federation listener, it
 * names the host and port of `public_base_url`: federation is served there (one port).
 *
 * @module
 */

import { Hono } from "hono";
import { parseServerName, serverNameOf } from "../../federation/identifiers.ts";
import { federationListenAddress } from "../config.ts";
import { invalidParam, missingParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { getProfile } from "../store/profiles.ts";
import type { AppEnv } from "../request_context.ts";
import { requireServerAuth } from "./inbound_auth.ts";

/** The implementation version reported to other servers. */
export const SERVER_VERSION = "0.1.0";

/** The `m.server` value of our `.well-known/matrix/server`. */
export function delegatedServerName(hs: Homeserver): string {
  const name = parseServerName(hs.config.serverName);
  if (!name || name.port !== undefined) return hs.config.serverName;
  if (hs.config.http.tls !== "off" && hs.config.federation.tlsCert === "") {
    // One port: federation is served where clients are sent.
    const url = new URL(hs.config.http.publicBaseUrl);
    return `${url.hostname}:${url.port || "443"}`;
  }
  return `${name.host}:${federationListenAddress(hs.config).port}`;
}

/**
 * Authentication of every `/_matrix/federation/*` request (`inbound_auth.ts`); listed before
 * the federation endpoint modules, so it runs before their handlers.
 */
export function federationAuthRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/_matrix/federation/*", requireServerAuth(hs));
  return app;
}

/** Routes of the version, delegation and profile query endpoints. */
export function federationVersionRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get(
    "/_matrix/federation/v1/version",
    (c) => c.json({ server: { name: "gemeng", version: SERVER_VERSION } }),
  );

  if (hs.config.federation.enabled) {
    app.get("/.well-known/matrix/server", (c) => c.json({ "m.server": delegatedServerName(hs) }));
  }

  app.get("/_matrix/federation/v1/query/profile", async (c) => {
    const userId = c.req.query("user_id");
    if (userId === undefined) throw missingParam("user_id");
    if (serverNameOf(userId) !== hs.config.serverName) {
      throw invalidParam("user_id must be a user of this server");
    }
    const profile = await getProfile(hs, userId);
    if (profile === null) throw notFound("Profile not found");
    const field = c.req.query("field");
    if (field === undefined) return c.json(profile);
    // An unset field is left out (the spec allows that or null), not a 404: Synapse asks for
    // each field on its own and fails the whole profile on a 404.
    return c.json(Object.hasOwn(profile, field) ? { [field]: profile[field] } : {});
  });

  return app;
}
