/**
 * Web Push built into the server (MSC4174, the `webpush` pusher kind): the server's VAPID key
 * pair (RFC 8292), the checks of a `webpush` pusher's fields, and the encrypted request to the
 * browser's push service (RFC 8291 `aes128gcm` payload, RFC 8030 `TTL` and `Urgency`).
 *
 * The encryption and the VAPID signature come from the npm `web-push` library
 * (`generateRequestDetails`, which builds the request without sending it); the request is
 * sent by `gateway_http.ts`, so the private-address guard, the timeout and the kept
 * connections of HTTP pushers apply to push services too.
 *
 * Key: `["webpush_vapid"]` -> {@link VapidKeys}, created on the first use.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { decodeBase64Url } from "../../crypto/base64.ts";
import { badJson, invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { JsonObject } from "../http_util.ts";
import { isAddressAllowed, parseIp } from "../media/ip_ranges.ts";
import { type GatewayPool, sendToPushServer } from "./gateway_http.ts";
import type { StoredPusher } from "./pusher_store.ts";

/** The server's VAPID key pair, unpadded base64url (public: uncompressed P-256 point). */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** The part of `web-push` used here (the package ships no types). */
interface WebPushLib {
  generateVAPIDKeys(): VapidKeys;
  generateRequestDetails(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: Buffer,
    options: {
      vapidDetails: { subject: string; publicKey: string; privateKey: string };
      TTL: number;
      urgency: string;
      contentEncoding: string;
    },
  ): { endpoint: string; headers: Record<string, string | number>; body: Uint8Array };
}

/**
 * The library, loaded on first use (a key pair to make, a message to send): it weighs about
 * 10 MB of resident memory that a server without Web Push pushers should not carry.
 */
let library: Promise<WebPushLib> | null = null;
function webPushLib(): Promise<WebPushLib> {
  library ??= import("web-push").then((mod) => (mod.default ?? mod) as unknown as WebPushLib);
  library.catch(() => library = null);
  return library;
}

/** Most plaintext bytes of one push message (RFC 8291: 4096 bytes of body, one record). */
export const MAX_PAYLOAD_BYTES = 3993;
/** How long a push service keeps a message for an offline browser (seconds). */
export const WEBPUSH_TTL_S = 12 * 60 * 60;
/** The key holding the server's VAPID key pair. */
export const vapidKey = (): Deno.KvKey => ["webpush_vapid"];

const keyCache = new WeakMap<Homeserver, Promise<VapidKeys>>();

/** The server's VAPID keys, generated and stored on the first call. */
export function vapidKeysOf(hs: Homeserver): Promise<VapidKeys> {
  let keys = keyCache.get(hs);
  if (!keys) {
    keys = loadOrCreate(hs.kv);
    keyCache.set(hs, keys);
    keys.catch(() => keyCache.delete(hs));
  }
  return keys;
}

async function loadOrCreate(kv: Deno.Kv): Promise<VapidKeys> {
  for (;;) {
    const entry = await kv.get<VapidKeys>(vapidKey());
    if (entry.value) return entry.value;
    const fresh = (await webPushLib()).generateVAPIDKeys();
    // Two starts racing over one store keep the same pair: the first commit wins.
    const done = await kv.atomic().check(entry).set(vapidKey(), fresh).commit();
    if (done.ok) return fresh;
  }
}

/** The VAPID `sub` claim: the server's public https address, else a mailto: of its name. */
export function vapidSubject(hs: Homeserver): string {
  const base = new URL(hs.config.http.publicBaseUrl);
  if (base.protocol === "https:" && base.hostname !== "localhost") return base.origin;
  return `mailto:postmaster@${base.hostname}`;
}

function decodeField(value: string, name: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) {
    throw invalidParam(`'${name}' must be URL-safe base64`);
  }
  try {
    return decodeBase64Url(value.replace(/=+$/, ""));
  } catch {
    throw invalidParam(`'${name}' must be URL-safe base64`);
  }
}

/** A host that is a loopback or private address by its name alone (no DNS lookup). */
function isPrivateHost(hostname: string): boolean {
  if (/(^|\.)localhost\.?$/i.test(hostname)) return true;
  const ip = parseIp(hostname.replace(/^\[|\]$/g, ""));
  return ip !== null && !isAddressAllowed(ip, []);
}

/**
 * Checks a `webpush` pusher (MSC4174): `pushkey` is the browser's P-256 public key
 * (uncompressed point, base64url), `data.url` the push resource (https; http only with
 * `allowPrivateAddresses`, which tests use), `data.auth` the 16-byte authentication secret.
 * Returns the `data` to store.
 *
 * @throws {MatrixError} M_BAD_JSON or M_INVALID_PARAM
 */
export async function checkWebPushPusher(
  pushkey: string,
  data: JsonObject,
  options: { allowPrivateAddresses: boolean },
): Promise<JsonObject> {
  const point = decodeField(pushkey, "pushkey");
  if (point.length !== 65 || point[0] !== 4) {
    throw invalidParam("'pushkey' must be an uncompressed P-256 public key (65 bytes)");
  }
  try {
    await crypto.subtle.importKey(
      "raw",
      new Uint8Array(point),
      { name: "ECDH", namedCurve: "P-256" },
      true,
      [],
    );
  } catch {
    throw invalidParam("'pushkey' is not a point of P-256");
  }
  const { url, auth } = data;
  if (typeof url !== "string" || url.length > 2048) {
    throw badJson("'data.url' (the push endpoint, at most 2048 characters) is required");
  }
  if (typeof auth !== "string") throw badJson("'data.auth' is required");
  if (decodeField(auth, "data.auth").length !== 16) {
    throw invalidParam("'data.auth' must be 16 bytes");
  }
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw invalidParam("'data.url' is not a valid URL");
  }
  const httpAllowed = options.allowPrivateAddresses && target.protocol === "http:";
  if (target.protocol !== "https:" && !httpAllowed) {
    throw invalidParam("'data.url' must be an https URL");
  }
  if (target.username || target.password) {
    throw invalidParam("'data.url' must not carry credentials");
  }
  if (!options.allowPrivateAddresses && isPrivateHost(target.hostname)) {
    throw invalidParam("'data.url' is on a private address");
  }
  const out: JsonObject = { url, auth };
  if (typeof data.format === "string") out.format = data.format;
  return out;
}

/**
 * The JSON a webpush pusher receives for a notification: the Push Gateway API's
 * `notification` without `devices` (it would echo the pusher's secret), shortened to fit one
 * push message: the content goes first, then everything but the IDs, counts and priority.
 */
export function webPushPayload(notification: JsonObject): Uint8Array {
  const { devices: _devices, id: _id, ...rest } = notification;
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  let bytes = encode(rest);
  if (bytes.byteLength <= MAX_PAYLOAD_BYTES) return bytes;
  delete rest.content;
  bytes = encode(rest);
  if (bytes.byteLength <= MAX_PAYLOAD_BYTES) return bytes;
  const { event_id, room_id, counts, prio } = rest;
  return encode({ event_id, room_id, counts, prio });
}

/** A push service's answer to one message. */
export type WebPushOutcome =
  | "sent"
  /** The subscription is gone (404, 410) or was made for another key (403). */
  | "expired"
  /** The push service will never take this message (too large, malformed). */
  | "refused"
  /** Try again later (5xx, 429, no answer). */
  | "retry";

/** What an HTTP status of a push service means (RFC 8030 section 5, MSC4174). */
export function outcomeOf(status: number): WebPushOutcome {
  if (status >= 200 && status <= 299) return "sent";
  if (status === 404 || status === 410 || status === 403) return "expired";
  if (status === 429 || status >= 500 || status === 408) return "retry";
  return "refused";
}

/**
 * Encrypts `payload` for a webpush pusher and sends it to its push service.
 *
 * @throws {GatewayError} FORBIDDEN (private address), BAD_URL, or FAILED (no answer)
 */
export async function sendWebPush(
  hs: Homeserver,
  pusher: StoredPusher,
  message: { payload: Uint8Array; urgency: "high" | "normal" | "low"; ttlS?: number },
  options: { pool?: GatewayPool },
): Promise<WebPushOutcome> {
  const data = pusher.pusher.data as { url: string; auth: string };
  const vapid = await vapidKeysOf(hs);
  const request = (await webPushLib()).generateRequestDetails(
    { endpoint: data.url, keys: { p256dh: String(pusher.pusher.pushkey), auth: data.auth } },
    Buffer.from(message.payload),
    {
      vapidDetails: { subject: vapidSubject(hs), ...vapid },
      TTL: message.ttlS ?? WEBPUSH_TTL_S,
      urgency: message.urgency,
      contentEncoding: "aes128gcm",
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = String(value);
  const answer = await sendToPushServer(data.url, {
    body: new Uint8Array(request.body),
    headers,
  }, { allowPrivateAddresses: hs.config.push.allowPrivateAddresses, pool: options.pool });
  return outcomeOf(answer.status);
}
