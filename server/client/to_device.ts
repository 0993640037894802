/**
 * Send-to-device messaging (spec: "Send-to-Device messaging"):
 * `PUT /v3/sendToDevice/{eventType}/{txnId}`. Messages are queued per device by
 * `server/e2ee/to_device.ts` and delivered by `/sync`; messages for users of other servers go to
 * their servers as `m.direct_to_device` EDUs (`server/federation/to_device_remote.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, invalidParam, MatrixError, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { utf8Length } from "../http_util.ts";
import { type AppEnv, rateLimit, readBody, requireAuth } from "../request_context.ts";
import type { JsonObject } from "../e2ee/schema.ts";
import { sendToDevice } from "../e2ee/to_device.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { queueRemoteToDevice } from "../federation/to_device_remote.ts";
import { canonical, checkUserId, isObject } from "../e2ee/validate.ts";
import { fitsOneValue } from "../store/kv_batch.ts";

/** Largest content of one message (a Deno KV value holds at most 64 KiB). */
export const MAX_TO_DEVICE_CONTENT_BYTES = 48 * 1024;
/** Most recipient devices of one request (before `*` is expanded). */
export const MAX_TO_DEVICE_MESSAGES = 10_000;
const MAX_NAME_BYTES = 255;

/** Routes of send-to-device messaging. */
export function toDeviceRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.put("/_matrix/client/v3/sendToDevice/:eventType/:txnId", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const type = c.req.param("eventType");
    const txnId = c.req.param("txnId");
    if (utf8Length(type) > MAX_NAME_BYTES || type === "") {
      throw invalidParam("The event type must be 1 to 255 bytes");
    }
    if (utf8Length(txnId) > MAX_NAME_BYTES || txnId === "") {
      throw invalidParam("The transaction ID must be 1 to 255 bytes");
    }
    rateLimit(hs, c, "send", { userId });
    const body = await readBody(hs, c);
    if (body.messages === undefined) throw missingParam("messages");
    if (!isObject(body.messages)) throw badJson("'messages' must map user IDs to devices");
    const messages = new Map<string, Map<string, JsonObject>>();
    let count = 0;
    for (const [recipient, devices] of Object.entries(body.messages)) {
      checkUserId(recipient, "messages");
      if (!isObject(devices)) throw badJson(`'messages.${recipient}' must map devices to content`);
      const byDevice = new Map<string, JsonObject>();
      for (const [target, content] of Object.entries(devices)) {
        if (utf8Length(target) > MAX_NAME_BYTES) throw badJson("Device IDs are at most 255 bytes");
        if (!isObject(content)) {
          throw badJson(`'messages.${recipient}.${target}' must be a JSON object`);
        }
        if (
          utf8Length(canonical(content, "content")) > MAX_TO_DEVICE_CONTENT_BYTES ||
          // Storage counts characters, not UTF-8 bytes (see fitsOneValue): measured as stored.
          !fitsOneValue({ sender: userId, senderDevice: deviceId, type, content })
        ) {
          throw new MatrixError(
            "M_TOO_LARGE",
            `One message's content is at most ${MAX_TO_DEVICE_CONTENT_BYTES} bytes ` +
              "(less with characters beyond U+00FF)",
            { status: 413 },
          );
        }
        byDevice.set(target, content);
        if (++count > MAX_TO_DEVICE_MESSAGES) {
          throw invalidParam(`At most ${MAX_TO_DEVICE_MESSAGES} messages per request`);
        }
      }
      messages.set(recipient, byDevice);
    }
    const sender = { userId, deviceId };
    const remote = new Map(
      [...messages].filter(([recipient]) => serverNameOf(recipient) !== hs.config.serverName),
    );
    const beforeCommit = remote.size > 0 && hs.config.federation.enabled
      ? () => queueRemoteToDevice(hs, sender, { type, txnId, messages: remote })
      : undefined;
    await sendToDevice(hs, sender, { type, txnId, messages, beforeCommit });
    return c.json({});
  });

  return app;
}
