/**
 * Receipts and read markers (spec: "Receipts", "Fully read markers"):
 * `POST /v3/rooms/{roomId}/receipt/{receiptType}/{eventId}` and
 * `POST /v3/rooms/{roomId}/read_markers`. Receipts are stored by `server/store/receipts.ts`;
 * the fully-read marker is the room account data `m.fully_read`. Public read receipts go to the
 * room's other servers as `m.receipt` EDUs (`server/federation/ephemeral_edus.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { checkIdentifier } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { setAccountData } from "../store/account_data.ts";
import { RECEIPT_TYPES, type ReceiptType, setReceipt } from "../store/receipts.ts";
import { wakeRoom, wakeUsers } from "../sync/positions.ts";
import { requireJoined, visibleTimelineEvent } from "../sync/room_access.ts";
import { threadOf } from "../sync/unread.ts";
import { federateReceipt, registerReceiptEdus, sendQuietly } from "../federation/ephemeral_edus.ts";

/** Stores one receipt (already validated) and wakes whoever must see it. */
export async function sendReceipt(
  hs: Homeserver,
  userId: string,
  receipt: { roomId: string; eventId: string; receiptType: ReceiptType; threadId?: string },
): Promise<void> {
  const stored = await visibleTimelineEvent(hs, { ...receipt, userId });
  if (!stored) throw notFound("The event was not found or you cannot see it");
  if (receipt.threadId !== undefined && receipt.threadId !== "main") {
    const thread = threadOf({ content: stored.event.content });
    if (thread !== receipt.threadId && stored.event.eventId !== receipt.threadId) {
      throw badJson("The event is not in that thread");
    }
  }
  const ts = Date.now();
  const pos = await setReceipt(hs, {
    roomId: receipt.roomId,
    userId,
    receiptType: receipt.receiptType,
    threadKey: receipt.threadId ?? "",
  }, { eventId: receipt.eventId, eventOrder: stored.meta.pos!, ts });
  if (pos === null) return;
  if (receipt.receiptType !== "m.read") {
    wakeUsers(hs, [userId], pos);
    return;
  }
  wakeRoom(hs, receipt.roomId, pos);
  await sendQuietly(
    "receipt",
    federateReceipt(hs, {
      roomId: receipt.roomId,
      userId,
      eventId: receipt.eventId,
      ts,
      ...(receipt.threadId !== undefined ? { threadId: receipt.threadId } : {}),
    }),
  );
}

async function setFullyRead(
  hs: Homeserver,
  userId: string,
  where: { roomId: string; eventId: string },
): Promise<void> {
  const stored = await visibleTimelineEvent(hs, { ...where, userId });
  if (!stored) throw notFound("The event was not found or you cannot see it");
  await setAccountData(hs, userId, { roomId: where.roomId, type: "m.fully_read" }, {
    event_id: where.eventId,
  });
}

/** Routes of receipts and read markers. */
export function receiptRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  registerReceiptEdus(hs);

  app.post("/_matrix/client/v3/rooms/:roomId/receipt/:receiptType/:eventId", auth, async (c) => {
    const userId = c.var.auth.userId;
    const roomId = c.req.param("roomId");
    const eventId = c.req.param("eventId");
    const receiptType = c.req.param("receiptType");
    const body = await readBody(hs, c, { allowEmpty: true });
    const threadId = body.thread_id;
    if (threadId !== undefined) {
      if (typeof threadId !== "string") throw invalidParam("'thread_id' must be a string");
      if (threadId !== "main") checkIdentifier(threadId, "event ID", "'thread_id'");
    }
    await requireJoined(hs, roomId, userId);
    if (receiptType === "m.fully_read") {
      if (threadId !== undefined) throw invalidParam("m.fully_read takes no thread_id");
      await setFullyRead(hs, userId, { roomId, eventId });
      return c.json({});
    }
    if (!(RECEIPT_TYPES as readonly string[]).includes(receiptType)) {
      throw invalidParam(`Unknown receipt type '${receiptType}'`);
    }
    await sendReceipt(hs, userId, {
      roomId,
      eventId,
      receiptType: receiptType as ReceiptType,
      threadId: threadId as string | undefined,
    });
    return c.json({});
  });

  app.post("/_matrix/client/v3/rooms/:roomId/read_markers", auth, async (c) => {
    const userId = c.var.auth.userId;
    const roomId = c.req.param("roomId");
    const body = await readBody(hs, c);
    await requireJoined(hs, roomId, userId);
    const field = (name: string) => {
      const value = body[name];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== "string") throw badJson(`'${name}' must be an event ID`);
      return checkIdentifier(value, "event ID", `'${name}'`);
    };
    const fullyRead = field("m.fully_read");
    const read = field("m.read");
    const readPrivate = field("m.read.private");
    if (fullyRead) await setFullyRead(hs, userId, { roomId, eventId: fullyRead });
    if (read) await sendReceipt(hs, userId, { roomId, eventId: read, receiptType: "m.read" });
    if (readPrivate) {
      await sendReceipt(hs, userId, {
        roomId,
        eventId: readPrivate,
        receiptType: "m.read.private",
      });
    }
    return c.json({});
  });

  return app;
}
