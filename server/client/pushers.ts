/**
 * Pushers (spec: "Push Notifications", "Client behaviour"): `GET /v3/pushers` and
 * `POST /v3/pushers/set`, and `POST /v3/pushers/ack` which activates a `webpush` pusher
 * (MSC4174). HTTP and activated `webpush` pushers are delivered to by the push worker
 * (`server/push/push_worker.ts`); storage is in `server/push/pusher_store.ts`, Web Push in
 * `server/push/webpush.ts`.
 *
 * A pusher remembers the device that set it: when that device's session ends (logout,
 * deletion) or the user changes the password from another session, the pusher goes too, so a
 * phone that was signed out stops getting notifications.
 *
 * @module
 */

import { Hono } from "hono";
import { constantTimeEqual } from "../../crypto/tokens.ts";
import { badJson, invalidParam, MatrixError, missingParam, notFound } from "../errors.ts";
import { fitsOneValue } from "../store/kv_batch.ts";
import type { Homeserver } from "../homeserver.ts";
import { type JsonObject, optionalBoolean, optionalString, utf8Length } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import {
  addressOf,
  deletePusher,
  deletePushersOfDevices,
  listPushers,
  type PusherAddress,
  pusherKeys,
  type StoredPusher,
  storedPusherOf,
} from "../push/pusher_store.ts";
import { checkWebPushPusher } from "../push/webpush.ts";
import { pushWorkerOf } from "../push/push_worker.ts";
import { ownerOf } from "../email/threepid_store.ts";

/** Most pushers one user may have. */
export const MAX_PUSHERS_PER_USER = 50;

/**
 * Deletes the user's pushers set by sessions other than `deviceId` (a password change) and
 * tells the push worker.
 */
export async function deleteOtherSessionsPushers(
  hs: Homeserver,
  userId: string,
  deviceId: string,
): Promise<void> {
  if (await deletePushersOfDevices(hs.kv, userId, { keepDeviceId: deviceId }) > 0) {
    await pushWorkerOf(hs).pushersChanged(userId);
  }
}

/** How long a `webpush` pusher's activation token is valid (MSC4174: 5 minutes). */
export const ACK_TOKEN_TTL_MS = 5 * 60 * 1000;

async function parsePusher(
  hs: Homeserver,
  body: JsonObject,
  ids: { pushkey: string; appId: string },
): Promise<JsonObject> {
  const { pushkey, appId } = ids;
  const kind = optionalString(body, "kind", { maxBytes: 64 });
  if (kind === undefined) throw badJson("'kind' is required (null deletes the pusher)");
  const fields: JsonObject = { pushkey, kind, app_id: appId };
  for (const name of ["app_display_name", "device_display_name", "lang"]) {
    const value = optionalString(body, name, { maxBytes: 512 });
    if (value === undefined) throw badJson(`'${name}' is required`);
    fields[name] = value;
  }
  const profileTag = optionalString(body, "profile_tag", { maxBytes: 512 });
  if (profileTag !== undefined) fields.profile_tag = profileTag;
  const data = body.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw badJson("'data' must be an object");
  }
  if (kind === "http") {
    const url = (data as JsonObject).url;
    if (typeof url !== "string" || !/^https?:\/\/[^/]+\/_matrix\/push\/v1\/notify$/.test(url)) {
      throw invalidParam("'data.url' must be a URL with the path /_matrix/push/v1/notify");
    }
    try {
      new URL(url);
    } catch {
      throw invalidParam("'data.url' is not a valid URL");
    }
  }
  const format = (data as JsonObject).format;
  if (format !== undefined && typeof format !== "string") {
    throw badJson("'data.format' must be a string");
  }
  if (utf8Length(JSON.stringify(data)) > 8192) throw badJson("'data' is too large");
  fields.data = kind === "webpush"
    ? await checkWebPushPusher(pushkey, data as JsonObject, {
      allowPrivateAddresses: hs.config.push.allowPrivateAddresses,
    })
    : data;
  return fields;
}

/**
 * For a `webpush` pusher (MSC4174): a new activation token when the pusher is new, its
 * endpoint or secret changed, or it was never activated; `activated` is set accordingly.
 * Returns the token to push, or null (an unchanged, activated pusher stays activated).
 */
function webPushActivation(
  stored: StoredPusher,
  previous: StoredPusher | undefined,
): string | null {
  if (stored.pusher.kind !== "webpush") return null;
  const data = stored.pusher.data as JsonObject;
  const before = previous?.pusher.kind === "webpush" ? previous.pusher : null;
  const beforeData = before?.data as JsonObject | undefined;
  if (
    before?.activated === true && beforeData?.url === data.url && beforeData?.auth === data.auth
  ) {
    stored.pusher.activated = true;
    return null;
  }
  const token = crypto.randomUUID();
  stored.pusher.activated = false;
  stored.ack = { token, expiresTs: Date.now() + ACK_TOKEN_TTL_MS };
  return token;
}

/** Routes of the pusher API. */
export function pusherRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const worker = pushWorkerOf(hs);
  hs.addAccountHooks({
    async devicesDeleted(userId, deviceIds) {
      if (await deletePushersOfDevices(hs.kv, userId, { deviceIds }) > 0) {
        await worker.pushersChanged(userId);
      }
    },
    async userDeactivated(userId) {
      for (const stored of await listPushers(hs.kv, userId)) {
        await deletePusher(hs.kv, addressOf(userId, stored));
      }
      await worker.pushersChanged(userId);
    },
  });

  app.get("/_matrix/client/v3/pushers", requireAuth(hs), async (c) => {
    const pushers = await listPushers(hs.kv, c.var.auth.userId);
    return c.json({ pushers: pushers.map((stored) => stored.pusher) });
  });

  app.post("/_matrix/client/v3/pushers/set", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const body = await readBody(hs, c);
    const pushkey = optionalString(body, "pushkey", { maxBytes: 512 });
    const appId = optionalString(body, "app_id");
    if (pushkey === undefined || appId === undefined) {
      throw badJson("'pushkey' and 'app_id' are required");
    }
    if (appId.length > 64) throw badJson("'app_id' must be at most 64 characters");
    const address: PusherAddress = { userId, appId, pushkey };
    if (body.kind === null) {
      await deletePusher(hs.kv, address);
      await worker.pushersChanged(userId);
      return c.json({});
    }
    const fields = await parsePusher(hs, body, { pushkey, appId });
    // As Synapse: mail goes only to a confirmed address of the account (server/email/).
    if (fields.kind === "email" && (await ownerOf(hs.kv, pushkey))?.userId !== userId) {
      throw new MatrixError("M_THREEPID_NOT_FOUND", "'pushkey' is not an email address of yours");
    }
    const append = optionalBoolean(body, "append") ?? false;
    const existing = await listPushers(hs.kv, userId);
    const previous = existing.find((s) =>
      s.pusher.app_id === appId && s.pusher.pushkey === pushkey
    );
    if (!previous && existing.length >= MAX_PUSHERS_PER_USER) {
      throw invalidParam(`At most ${MAX_PUSHERS_PER_USER} pushers per user`);
    }
    const stored: StoredPusher = { pusher: fields, ts: previous?.ts || Date.now(), deviceId };
    const activation = webPushActivation(stored, previous);
    if (!fitsOneValue(stored)) {
      throw new MatrixError("M_TOO_LARGE", "The pusher is too large to store", { status: 413 });
    }
    await hs.kv.atomic().set(pusherKeys.pusher(address), stored)
      .set(pusherKeys.owner(address), true).commit();
    if (!append) {
      // Other users' pushers with the same app and pushkey go away (the device changed hands).
      for await (const entry of hs.kv.list({ prefix: pusherKeys.ownersOf(appId, pushkey) })) {
        const owner = entry.key[3] as string;
        if (owner !== userId) {
          await deletePusher(hs.kv, { userId: owner, appId, pushkey });
          await worker.pushersChanged(owner);
        }
      }
    }
    await worker.pushersChanged(userId);
    if (activation) {
      worker.sendActivation(stored, activation);
      return c.json({}, 201); // MSC4174: set, waiting for activation
    }
    return c.json({});
  });

  app.post("/_matrix/client/v3/pushers/ack", requireAuth(hs), async (c) => {
    const { userId } = c.var.auth;
    const body = await readBody(hs, c);
    const appId = optionalString(body, "app_id", { maxBytes: 64 });
    const token = optionalString(body, "ack_token", { maxBytes: 255 });
    if (appId === undefined) throw missingParam("app_id");
    if (token === undefined) throw missingParam("ack_token");
    const candidates = (await listPushers(hs.kv, userId)).filter((s) =>
      s.pusher.app_id === appId && s.pusher.kind === "webpush"
    );
    if (candidates.length === 0) throw notFound("No web push pusher with this app_id");
    const match = candidates.find((s) => s.ack && constantTimeEqual(s.ack.token, token));
    if (!match) {
      throw new MatrixError("M_UNKNOWN_ACTIVATION_TOKEN", "Unknown activation token");
    }
    if (match.ack!.expiresTs < Date.now()) {
      throw new MatrixError("M_EXPIRED_ACTIVATION_TOKEN", "The activation token expired");
    }
    const address = addressOf(userId, match);
    const entry = await hs.kv.get(pusherKeys.pusher(address));
    const current = entry.value === null ? null : storedPusherOf(entry.value);
    // Activated only if the pusher is still the one the token was sent to.
    if (!current?.ack || !constantTimeEqual(current.ack.token, token)) {
      throw new MatrixError("M_UNKNOWN_ACTIVATION_TOKEN", "Unknown activation token");
    }
    const { ack: _ack, ...rest } = current;
    const activated: StoredPusher = { ...rest, pusher: { ...current.pusher, activated: true } };
    const done = await hs.kv.atomic().check(entry).set(pusherKeys.pusher(address), activated)
      .commit();
    if (!done.ok) throw new MatrixError("M_UNKNOWN_ACTIVATION_TOKEN", "Try again");
    await worker.pushersChanged(userId);
    return c.json({});
  });

  return app;
}
