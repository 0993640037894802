/**
 * Server discovery: `GET /_matrix/client/versions`, `GET /.well-known/matrix/client` and
 * `GET /_matrix/client/v3/capabilities`.
 *
 * @module
 */

import { Hono } from "hono";
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS } from "../../federation/room_versions.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";

/**
 * The Client-Server API versions we advertise. Raise this only when the features a version
 * adds work (the target is v1.19); it is the one place the list lives.
 */
export const SUPPORTED_SPEC_VERSIONS: readonly string[] = Object.freeze(
  Array.from({ length: 11 }, (_, i) => `v1.${i + 1}`),
);

/** Routes of the discovery endpoints. */
export function versionRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get(
    "/_matrix/client/versions",
    (c) => c.json({ versions: SUPPORTED_SPEC_VERSIONS, unstable_features: {} }),
  );

  app.get(
    "/.well-known/matrix/client",
    (c) => c.json({ "m.homeserver": { base_url: hs.config.http.publicBaseUrl } }),
  );

  app.get("/_matrix/client/v3/capabilities", requireAuth(hs), (c) => {
    const available: Record<string, string> = {};
    for (const id of ROOM_VERSIONS.keys()) available[id] = "stable";
    return c.json({
      capabilities: {
        "m.change_password": { enabled: true },
        "m.room_versions": { default: DEFAULT_ROOM_VERSION, available },
        "m.set_displayname": { enabled: true },
        "m.set_avatar_url": { enabled: true },
        "m.3pid_changes": { enabled: false },
        "m.get_login_token": { enabled: false },
      },
    });
  });

  return app;
}
