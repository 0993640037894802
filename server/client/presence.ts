/**
 * Presence (spec: "Presence"): `GET|PUT /v3/presence/{userId}/status`. `/sync`'s
 * `set_presence` goes through the same store (`server/store/presence.ts`). Changes reach the
 * servers sharing a room with the user as `m.presence` EDUs (`server/federation/ephemeral_edus.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, forbidden, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalString } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { accountKeys } from "../store/kv_store.ts";
import {
  getPresence,
  PRESENCE_STATES,
  type PresenceState,
  presenceTracker,
  setPresence,
} from "../store/presence.ts";
import { sharesRoomWith } from "../sync/room_access.ts";
import { registerPresenceEdus } from "../federation/ephemeral_edus.ts";

/** Longest status message in bytes. */
export const MAX_STATUS_MSG_BYTES = 1024;

/** Routes of the presence API. */
export function presenceRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  registerPresenceEdus(hs);
  const path = "/_matrix/client/v3/presence/:userId/status";

  app.put(path, requireAuth(hs), async (c) => {
    const userId = c.req.param("userId");
    if (userId !== c.var.auth.userId) throw forbidden("You cannot set other users' presence");
    const body = await readBody(hs, c);
    const presence = body.presence;
    if (typeof presence !== "string" || !PRESENCE_STATES.includes(presence as PresenceState)) {
      throw badJson("'presence' must be one of online, unavailable, offline");
    }
    const statusMsg = optionalString(body, "status_msg", { maxBytes: MAX_STATUS_MSG_BYTES });
    const now = Date.now();
    if (presence === "online") presenceTracker(hs).active(userId, now);
    await setPresence(hs, userId, {
      presence: presence as PresenceState,
      statusMsg: statusMsg ?? (body.status_msg === null ? null : undefined),
      now,
    });
    return c.json({});
  });

  app.get(path, requireAuth(hs), async (c) => {
    const userId = c.req.param("userId");
    const viewer = c.var.auth.userId;
    if (userId !== viewer && !(await sharesRoomWith(hs, viewer, userId))) {
      throw forbidden("You are not allowed to see their presence");
    }
    const record = await getPresence(hs, userId);
    if (!record) {
      const exists = (await hs.kv.get(accountKeys.user(userId))).value !== null;
      if (!exists) throw notFound("Unknown user");
      return c.json({ presence: "offline" });
    }
    return c.json(presenceTracker(hs).content(userId, record, Date.now()));
  });

  return app;
}
