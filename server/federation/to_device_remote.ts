/**
 * Send-to-device messages across servers (Server-Server API, "Send-to-device messaging"):
 * messages of a local `/sendToDevice` for users of other servers become `m.direct_to_device`
 * EDUs in the durable outbound queue, one or more per destination server (split so each stays
 * under the queue's size limit); inbound ones are written into local inboxes by the same code
 * as local messages.
 *
 * Idempotency: each EDU's `message_id` is derived from the sender's device, the client's
 * transaction ID and the part number, and an inbound EDU is stored under the transaction key
 * `(sender, "", message_id)` that `/sendToDevice` already remembers for a day, so a repeated
 * EDU is a no-op. The sender must belong to the origin server.
 *
 * @module
 */

import type { JsonObject as EduContent } from "../../federation/types.ts";
import { encodeBase64Url } from "../../crypto/base64.ts";
import { sha256 } from "../../crypto/hashes.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import type { JsonObject } from "../e2ee/schema.ts";
import { sendToDevice, type ToDeviceSender } from "../e2ee/to_device.ts";
import { isObject } from "../e2ee/validate.ts";
import { EduTooLargeError, MAX_EDU_CHARS } from "./edu_queue.ts";

/** The EDU type. */
export const DIRECT_TO_DEVICE = "m.direct_to_device";
/** Room left for the EDU's envelope (sender, type, message ID). */
const ENVELOPE_CHARS = 2_000;
/** Recipient devices accepted in one inbound EDU. */
const MAX_INBOUND_MESSAGES = 10_000;

function messageId(sender: ToDeviceSender, txnId: string, part: number): string {
  const text = JSON.stringify([sender.userId, sender.deviceId, txnId, part]);
  return encodeBase64Url(sha256(new TextEncoder().encode(text))).slice(0, 32);
}

/**
 * Queues the messages for users of other servers as `m.direct_to_device` EDUs. `*` is passed
 * on as is: the recipient's server expands it.
 */
export async function queueRemoteToDevice(
  hs: Homeserver,
  sender: ToDeviceSender,
  request: {
    type: string;
    txnId: string;
    messages: ReadonlyMap<string, ReadonlyMap<string, JsonObject>>;
  },
): Promise<void> {
  const byServer = new Map<string, [string, string, JsonObject][]>();
  for (const [userId, devices] of request.messages) {
    const server = serverNameOf(userId);
    if (!server || server === hs.config.serverName) continue;
    let list = byServer.get(server);
    if (!list) byServer.set(server, list = []);
    for (const [deviceId, content] of devices) list.push([userId, deviceId, content]);
  }
  let part = 0;
  for (const [server, items] of byServer) {
    let messages: Record<string, Record<string, JsonObject>> = {};
    let chars = 0;
    const flush = async () => {
      if (chars === 0) return;
      const content = {
        sender: sender.userId,
        type: request.type,
        message_id: messageId(sender, request.txnId, part++),
        messages,
      };
      try {
        await hs.edus.send([server], {
          edu_type: DIRECT_TO_DEVICE,
          content: content as EduContent,
        });
      } catch (err) {
        // One message too large to travel alone (escaping can grow it): it cannot be sent.
        if (!(err instanceof EduTooLargeError)) throw err;
        console.warn(`to-device to ${server}: ${err.message}`);
      }
      messages = {};
      chars = 0;
    };
    for (const [userId, deviceId, content] of items) {
      const size = JSON.stringify(content).length + userId.length + deviceId.length + 16;
      if (chars > 0 && chars + size > MAX_EDU_CHARS - ENVELOPE_CHARS) await flush();
      (messages[userId] ??= {})[deviceId] = content;
      chars += size;
    }
    await flush();
  }
}

/** Handles an inbound `m.direct_to_device` EDU from `origin`. */
export async function onDirectToDevice(
  hs: Homeserver,
  origin: string,
  content: JsonObject,
): Promise<void> {
  const { sender, type, message_id: id, messages } = content;
  if (typeof sender !== "string" || serverNameOf(sender) !== origin) return;
  if (typeof type !== "string" || type === "" || type.length > 255) return;
  if (typeof id !== "string" || id === "" || id.length > 255) return;
  if (!isObject(messages)) return;
  const wanted = new Map<string, Map<string, JsonObject>>();
  let count = 0;
  for (const [userId, devices] of Object.entries(messages)) {
    if (serverNameOf(userId) !== hs.config.serverName || !isObject(devices)) continue;
    const byDevice = new Map<string, JsonObject>();
    for (const [deviceId, body] of Object.entries(devices)) {
      if (deviceId.length > 255 || !isObject(body)) continue;
      if (++count > MAX_INBOUND_MESSAGES) return;
      byDevice.set(deviceId, body);
    }
    wanted.set(userId, byDevice);
  }
  // The remote sender's device is unknown to us: its transactions are keyed by `message_id`
  // under an empty device ID, which no local device can have.
  await sendToDevice(hs, { userId: sender, deviceId: "" }, { type, txnId: id, messages: wanted });
}
