/**
 * `GET /v3/notifications` (spec: "Push Notifications", "Listing Notifications"): the events
 * that notified the user, newest first, with the actions of the rule that matched and whether
 * the user has read them. Evaluated by `server/push/notifications.ts`.
 *
 * @module
 */

import { Hono } from "hono";
import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { clientEvents } from "./client_event.ts";
import { listNotifications, MAX_NOTIFICATIONS_LIMIT } from "../push/notifications.ts";

/** Page size when the request names none. */
const DEFAULT_LIMIT = 20;

function parseLimit(text: string | undefined): number {
  if (text === undefined || text === "") return DEFAULT_LIMIT;
  if (!/^\d{1,9}$/.test(text)) throw invalidParam("'limit' must be a non-negative integer");
  return Math.min(Number(text), MAX_NOTIFICATIONS_LIMIT);
}

function parseFrom(text: string | undefined, upto: number): number {
  if (text === undefined || text === "") return upto + 1;
  if (!/^\d{1,15}$/.test(text)) throw invalidParam("'from' is not a token this server gave");
  return Math.min(Number(text), upto + 1);
}

/** Routes of the notifications API. */
export function notificationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/_matrix/client/v3/notifications", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const limit = parseLimit(c.req.query("limit"));
    const before = parseFrom(c.req.query("from"), hs.stream.visiblePosition);
    const only = c.req.query("only");
    if (only !== undefined && only !== "" && only !== "highlight") {
      throw invalidParam("'only' may only be 'highlight'");
    }
    if (limit === 0) return c.json({ notifications: [] });
    const { items, more } = await listNotifications(hs, userId, {
      before,
      limit,
      onlyHighlight: only === "highlight",
    });
    const events = await clientEvents(hs.rooms, items.map((item) => item.stored), {
      userId,
      deviceId,
    });
    const notifications = items.map((item, i) => ({
      actions: item.actions,
      event: events[i],
      read: item.read,
      room_id: item.stored.event.roomId,
      ts: item.stored.event.originServerTs,
    }));
    const last = items.at(-1);
    const body: Record<string, unknown> = { notifications };
    if (last && (more || items.length === limit)) body.next_token = String(last.pos);
    return c.json(body);
  });

  return app;
}
