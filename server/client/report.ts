/**
 * Reporting content (spec: "Reporting Content"): `POST /v3/rooms/{roomId}/report/{eventId}`,
 * `POST /v3/rooms/{roomId}/report` and `POST /v3/users/{userId}/report`, stored for the
 * server's administrators, who read them with the Synapse-compatible
 * `GET /_synapse/admin/v1/event_reports` (`server/admin/event_reports_admin.ts`).
 *
 * Key: `["report", reportId]` -> {@link ReportRecord}; `reportId` is the time in milliseconds,
 * zero-padded, and a random suffix, so a list is in the order reports arrived.
 *
 * @module
 */

import { Hono } from "hono";
import { randomString } from "../../crypto/tokens.ts";
import { notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalString } from "../http_util.ts";
import { type AppEnv, rateLimit, readBody, requireAuth } from "../request_context.ts";
import { accountKeys } from "../store/kv_store.ts";
import { eventVisibleInRoom, roomExists } from "../sync/room_access.ts";

/** Longest report reason in bytes. */
export const MAX_REASON_BYTES = 4096;

/** A stored report. */
export interface ReportRecord {
  id: string;
  kind: "event" | "room" | "user";
  reporter: string;
  roomId: string | null;
  eventId: string | null;
  userId: string | null;
  reason: string | null;
  score: number | null;
  ts: number;
}

async function store(hs: Homeserver, report: Omit<ReportRecord, "id" | "ts">): Promise<void> {
  const ts = Date.now();
  const id = `${String(ts).padStart(15, "0")}-${randomString(8)}`;
  await hs.kv.set(["report", id], { ...report, id, ts } satisfies ReportRecord);
}

/**
 * The `score` older clients send with an event report. The spec dropped it in v1.18, so it
 * never fails a report: a well-formed one (an integer from -100 to 0) is kept for the admin
 * listing, which Synapse's shows; anything else is dropped.
 */
function legacyScore(value: unknown): number | null {
  return Number.isInteger(value) && (value as number) >= -100 && (value as number) <= 0
    ? value as number
    : null;
}

/** Routes of the reporting API. */
export function reportRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  const reasonOf = (body: Record<string, unknown>) =>
    optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES }) ?? null;

  app.post("/_matrix/client/v3/rooms/:roomId/report/:eventId", auth, async (c) => {
    const reporter = c.var.auth.userId;
    rateLimit(hs, c, "send", { userId: reporter });
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = reasonOf(body);
    const score = legacyScore(body.score);
    const roomId = c.req.param("roomId");
    const eventId = c.req.param("eventId");
    if (!(await eventVisibleInRoom(hs, { roomId, eventId, userId: reporter }))) {
      throw notFound("The event was not found or you are not joined to the room.");
    }
    await store(hs, { kind: "event", reporter, roomId, eventId, userId: null, reason, score });
    return c.json({});
  });

  app.post("/_matrix/client/v3/rooms/:roomId/report", auth, async (c) => {
    const reporter = c.var.auth.userId;
    rateLimit(hs, c, "send", { userId: reporter });
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = reasonOf(body);
    const roomId = c.req.param("roomId");
    if (!(await roomExists(hs, roomId))) throw notFound("The room was not found.");
    await store(hs, {
      kind: "room",
      reporter,
      roomId,
      eventId: null,
      userId: null,
      reason,
      score: null,
    });
    return c.json({});
  });

  app.post("/_matrix/client/v3/users/:userId/report", auth, async (c) => {
    const reporter = c.var.auth.userId;
    rateLimit(hs, c, "send", { userId: reporter });
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = reasonOf(body);
    const userId = c.req.param("userId");
    if ((await hs.kv.get(accountKeys.user(userId))).value === null) {
      throw notFound("The user was not found.");
    }
    await store(hs, {
      kind: "user",
      reporter,
      roomId: null,
      eventId: null,
      userId,
      reason,
      score: null,
    });
    return c.json({});
  });

  return app;
}
