/**
 * Sending events (spec: Client-Server API, "Sending events to a room" and "Redactions"):
 * `PUT /rooms/{roomId}/send/{eventType}/{txnId}` and `PUT /rooms/{roomId}/redact/{eventId}/
 * {txnId}` (redactions also through `/send/m.room.redaction`, v1.18, `redacts` in the content). Both are idempotent per (user, device, room, transaction ID): a repeat answers the
 * first event's ID. Polls, location and every other message type are ordinary events here.
 * An application service may set the timestamp of what it sends with `ts` (not of redactions).
 *
 * @module
 */

import { Hono } from "hono";
import { isValidEventId } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import {
  badJson,
  invalidParam,
  jsonResponse,
  MatrixError,
  missingParam,
  notFound,
} from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalString } from "../http_util.ts";
import { type AppEnv, rateLimit, readBody, requireAuth } from "../request_context.ts";
import { requireRoom, roomIdParam } from "../rooms/membership.ts";
import { checkEventType, checkTxnId } from "./room_state.ts";
import { massagedTimestamp } from "../appservice/privileges.ts";

const V3 = "/_matrix/client/v3";

/**
 * Sends a redaction of `targetId` (from `/redact` or `/send/m.room.redaction`): the target
 * must be an accepted event of the same room.
 *
 * @returns the redaction's event ID
 */
async function sendRedaction(
  hs: Homeserver,
  request: {
    roomId: string;
    targetId: string;
    content: JsonObject;
    userId: string;
    txn: { deviceId: string; txnId: string };
    originServerTs?: number;
  },
): Promise<string> {
  const { roomId, targetId } = request;
  await requireRoom(hs, roomId);
  const target = await hs.rooms.event(targetId);
  if (target && target.event.roomId !== roomId) {
    // As Synapse: a redaction names an event of its own room; this request is malformed.
    throw invalidParam("Cannot redact an event of another room");
  }
  if (!target || target.meta.rejected !== null) {
    throw notFound(`Event ${targetId} not found in this room`);
  }
  const stored = await hs.pipeline.sendEvent(roomId, {
    type: "m.room.redaction",
    sender: request.userId,
    content: request.content,
    redacts: targetId,
  }, { txn: request.txn, originServerTs: request.originServerTs });
  return stored.event.eventId;
}

/** Routes of the send and redact endpoints. */
export function roomSendRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.put(`${V3}/rooms/:roomId/send/:eventType/:txnId`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const type = checkEventType(c.req.param("eventType"));
    const txnId = checkTxnId(c.req.param("txnId"));
    const originServerTs = massagedTimestamp(c);
    const { userId, deviceId } = c.var.auth;
    const repeat = await hs.pipeline.transactionEvent(userId, deviceId, roomId, txnId);
    if (repeat) return jsonResponse({ event_id: repeat });
    rateLimit(hs, c, "send", { userId });
    const content = await readBody(hs, c);
    if (type === "m.room.redaction") {
      // v1.18: redactions may come through /send for every room version, naming their target
      // in `content.redacts` (moved to the top level of the event before room version 11).
      const { redacts, ...rest } = content;
      if (redacts === undefined) throw missingParam("redacts");
      if (typeof redacts !== "string" || !isValidEventId(redacts)) {
        throw badJson("'redacts' must be an event ID");
      }
      const eventId = await sendRedaction(hs, {
        roomId,
        targetId: redacts,
        content: rest as JsonObject,
        txn: { deviceId, txnId },
        originServerTs,
        userId,
      });
      return jsonResponse({ event_id: eventId });
    }
    await requireRoom(hs, roomId);
    const stored = await hs.pipeline.sendEvent(roomId, {
      type,
      sender: userId,
      content: content as JsonObject,
    }, { txn: { deviceId, txnId }, originServerTs });
    return jsonResponse({ event_id: stored.event.eventId });
  });

  app.put(`${V3}/rooms/:roomId/redact/:eventId/:txnId`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const targetId = c.req.param("eventId");
    if (!isValidEventId(targetId)) throw badJson(`'${targetId}' is not a valid event ID`);
    const txnId = checkTxnId(c.req.param("txnId"));
    const { userId, deviceId } = c.var.auth;
    const repeat = await hs.pipeline.transactionEvent(userId, deviceId, roomId, txnId);
    if (repeat) return jsonResponse({ event_id: repeat });
    rateLimit(hs, c, "send", { userId });
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = optionalString(body, "reason", { maxBytes: 4096 });
    const content: JsonObject = reason === undefined ? {} : { reason };
    const eventId = await sendRedaction(hs, {
      roomId,
      targetId,
      content,
      txn: { deviceId, txnId },
      userId,
    });
    return jsonResponse({ event_id: eventId });
  });

  return app;
}

/** Spec: the error for a room event over the size limit. */
export function eventTooLarge(): MatrixError {
  return new MatrixError("M_TOO_LARGE", "The event is larger than 65536 bytes", { status: 413 });
}
