/**
 * Pushers (spec: "Push Notifications", "Client behaviour"): `GET /v3/pushers` and
 * `POST /v3/pushers/set`. Pushers are stored so clients see what they configured; gemeng does
 * not yet deliver notifications to push gateways.
 *
 * Keys: `["pusher", userId, appId, pushkey]` -> the pusher as the API shows it;
 * `["pusher_owner", appId, pushkey, userId]` -> true, to find other users' pushers with the same
 * app and pushkey (removed unless `append` is set).
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, invalidParam, MatrixError } from "../errors.ts";
import { fitsOneValue } from "../store/kv_batch.ts";
import type { Homeserver } from "../homeserver.ts";
import { type JsonObject, optionalBoolean, optionalString, utf8Length } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";

/** Most pushers one user may have. */
export const MAX_PUSHERS_PER_USER = 50;

const pusherKey = (userId: string, appId: string, pushkey: string): Deno.KvKey => [
  "pusher",
  userId,
  appId,
  pushkey,
];

async function listPushers(kv: Deno.Kv, userId: string): Promise<Deno.KvEntry<JsonObject>[]> {
  const out: Deno.KvEntry<JsonObject>[] = [];
  for await (const entry of kv.list<JsonObject>({ prefix: ["pusher", userId] })) out.push(entry);
  return out;
}

/** Routes of the pusher API. */
export function pusherRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/_matrix/client/v3/pushers", requireAuth(hs), async (c) => {
    const pushers = await listPushers(hs.kv, c.var.auth.userId);
    return c.json({ pushers: pushers.map((entry) => entry.value) });
  });

  app.post("/_matrix/client/v3/pushers/set", requireAuth(hs), async (c) => {
    const userId = c.var.auth.userId;
    const body = await readBody(hs, c);
    const pushkey = optionalString(body, "pushkey", { maxBytes: 512 });
    const appId = optionalString(body, "app_id");
    if (pushkey === undefined || appId === undefined) {
      throw badJson("'pushkey' and 'app_id' are required");
    }
    if (appId.length > 64) throw badJson("'app_id' must be at most 64 characters");
    const key = pusherKey(userId, appId, pushkey);
    const ownerKey: Deno.KvKey = ["pusher_owner", appId, pushkey, userId];
    if (body.kind === null) {
      await hs.kv.atomic().delete(key).delete(ownerKey).commit();
      return c.json({});
    }
    const kind = optionalString(body, "kind", { maxBytes: 64 });
    if (kind === undefined) throw badJson("'kind' is required (null deletes the pusher)");
    const required = ["app_display_name", "device_display_name", "lang"];
    const fields: JsonObject = { pushkey, kind, app_id: appId };
    for (const name of required) {
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
    }
    if (utf8Length(JSON.stringify(data)) > 8192) throw badJson("'data' is too large");
    fields.data = data;
    const append = optionalBoolean(body, "append") ?? false;
    const existing = await listPushers(hs.kv, userId);
    const isNew = !existing.some((entry) =>
      entry.value.app_id === appId && entry.value.pushkey === pushkey
    );
    if (isNew && existing.length >= MAX_PUSHERS_PER_USER) {
      throw invalidParam(`At most ${MAX_PUSHERS_PER_USER} pushers per user`);
    }
    if (!fitsOneValue(fields)) {
      throw new MatrixError("M_TOO_LARGE", "The pusher is too large to store", { status: 413 });
    }
    await hs.kv.atomic().set(key, fields).set(ownerKey, true).commit();
    if (!append) {
      // Other users' pushers with the same app and pushkey go away (the device changed hands).
      for await (
        const entry of hs.kv.list<JsonObject>({ prefix: ["pusher_owner", appId, pushkey] })
      ) {
        const owner = entry.key[3] as string;
        if (owner !== userId) {
          await hs.kv.atomic().delete(pusherKey(owner, appId, pushkey)).delete(entry.key).commit();
        }
      }
    }
    return c.json({});
  });

  return app;
}
