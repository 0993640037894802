/**
 * Typing notifications (spec: "Typing Notifications"): `PUT /v3/rooms/{roomId}/typing/{userId}`.
 * The state lives in memory (`server/sync/typing.ts`) and reaches clients as `m.typing` in the
 * rooms' `ephemeral` section of `/sync`. The room's other servers hear of it as `m.typing` EDUs
 * (`server/federation/ephemeral_edus.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, forbidden } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { requireJoined } from "../sync/room_access.ts";
import { typingTracker } from "../sync/typing.ts";
import { federateTyping, registerTypingEdus, sendQuietly } from "../federation/ephemeral_edus.ts";

/** Routes of the typing API. */
export function typingRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  registerTypingEdus(hs);

  app.put("/_matrix/client/v3/rooms/:roomId/typing/:userId", requireAuth(hs), async (c) => {
    const roomId = c.req.param("roomId");
    const userId = c.req.param("userId");
    if (userId !== c.var.auth.userId) throw forbidden("You can only set your own typing state");
    const body = await readBody(hs, c);
    if (typeof body.typing !== "boolean") throw badJson("'typing' must be true or false");
    if (body.timeout !== undefined && !Number.isInteger(body.timeout)) {
      throw badJson("'timeout' must be an integer (milliseconds)");
    }
    await requireJoined(hs, roomId, userId);
    typingTracker(hs).setTyping(roomId, userId, {
      typing: body.typing,
      timeoutMs: body.timeout as number | undefined,
    });
    // Sent on every request, not only on changes: a client repeating "typing" keeps the other
    // servers' copies (which expire on their own) alive.
    await sendQuietly("typing", federateTyping(hs, roomId, { userId, typing: body.typing }));
    return c.json({});
  });

  return app;
}
