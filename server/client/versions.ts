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
import { moderationCapability } from "./account_moderation.ts";
import { vapidKeysOf } from "../push/webpush.ts";
import { isGuestUser } from "./guest_routes.ts";

/**
 * The Client-Server API versions we advertise: each one whose required server features work
 * here (the target is v1.19); it is the one place the list lives. Clients pick behaviour from
 * this list (matrix-js-sdk uses the v3 custom profile fields of a v1.16 server, and the
 * stable room summary of a v1.15 one), so a version is listed only when what it adds is built:
 *
 * - v1.12 `via` on joins and knocks; v1.13 room reports; v1.14 user reports: built.
 * - v1.15 `GET /v1/room_summary/{roomIdOrAlias}`: built (`room_summary.ts`); `auth_metadata`
 *   answering 404 M_UNRECOGNIZED is right for a server without OAuth.
 * - v1.16 `use_state_after`/`state_after` in `/sync` (`server/sync/sync_rooms.ts`; also under
 *   the MSC4222 names matrix-js-sdk sends to every server) and custom profile fields: built.
 * - v1.17 device management by application services: built.
 * - v1.18 account locking and suspension (`account_moderation.ts`), redactions through
 *   `/send`, Policy Servers and invite blocking: built.
 * - v1.19 `GET /v1/mutual_rooms`: built (`mutual_rooms.ts`).
 *
 * The r0.x versions are listed as the `/r0` paths of their endpoints answer
 * (`legacy_paths.ts`): older clients look for them.
 */
export const SUPPORTED_SPEC_VERSIONS: readonly string[] = Object.freeze([
  "r0.0.1",
  "r0.1.0",
  "r0.2.0",
  "r0.3.0",
  "r0.4.0",
  "r0.5.0",
  "r0.6.0",
  "r0.6.1",
  ...Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`),
]);

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

  app.get("/_matrix/client/v3/capabilities", requireAuth(hs), async (c) => {
    const available: Record<string, string> = {};
    for (const id of ROOM_VERSIONS.keys()) available[id] = "stable";
    // Only admins see it (the spec: omitted when both would be false).
    const moderation = await moderationCapability(hs, c.var.auth.userId);
    return c.json({
      capabilities: {
        "m.change_password": { enabled: true },
        "m.room_versions": { default: DEFAULT_ROOM_VERSION, available },
        "m.set_displayname": { enabled: true },
        "m.set_avatar_url": { enabled: true },
        // Email addresses can be added and removed when the server sends mail (server/email/).
        "m.3pid_changes": { enabled: hs.config.email.enabled },
        // Custom profile fields (v1.16) can be set; no field is reserved to the server.
        "m.profile_fields": { enabled: true },
        // `POST /v1/login/get_token` (login_get_token.ts), when configured; never for guests.
        "m.get_login_token": {
          enabled: hs.config.auth.loginViaExistingSession.enabled &&
            !(await isGuestUser(hs, c.var.auth.userId)),
        },
        // MSC4174: `webpush` pushers, with the key browsers subscribe with.
        "m.webpush": { enabled: true, vapid: (await vapidKeysOf(hs)).publicKey },
        ...(moderation ? { "m.account_moderation": moderation } : {}),
      },
    });
  });

  return app;
}
