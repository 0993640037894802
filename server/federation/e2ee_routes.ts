/**
 * End-to-end encryption across servers (Server-Server API, "End-to-End Encryption" and
 * "Device Management"): the keys of our users as other servers ask for them
 * (`POST /user/keys/query`, `POST /user/keys/claim`, `GET /user/devices/{userId}`), the
 * device-list and signing-key EDUs we send when a local user's devices or cross-signing keys
 * change, and the inbound EDU handlers (`m.device_list_update`, `m.signing_key_update`,
 * `m.direct_to_device`).
 *
 * Outbound updates read the local device-list stream (`e2ee_dl`): an entry at position `pos`
 * becomes one `m.device_list_update` per device with `stream_id` = `pos` and `prev_id` = the
 * user's previous entry that named devices (entries of cross-signing changes only are skipped
 * in the chain, as they are sent as `m.signing_key_update`).
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { badJson, invalidParam, jsonResponse, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { getCrossSigningKeys } from "../e2ee/cross_signing.ts";
import { deviceListHead } from "../e2ee/device_lists.ts";
import { claimKeys, type ClaimRequest } from "../e2ee/key_claim.ts";
import { queryKeys } from "../e2ee/key_query.ts";
import { type JsonObject } from "../e2ee/schema.ts";
import { isObject } from "../e2ee/validate.ts";
import { lastDeviceEntry } from "./device_list_outbox.ts";
import { onDeviceListUpdate, onSigningKeyUpdate } from "./device_lists_remote.ts";
import { federationContent } from "./inbound_auth.ts";
import { DIRECT_TO_DEVICE, onDirectToDevice } from "./to_device_remote.ts";

const V1 = "/_matrix/federation/v1";
/** Users (or devices) one query or claim may name. */
const MAX_NAMED = 5000;

function ours(hs: Homeserver, userId: string): boolean {
  return serverNameOf(userId) === hs.config.serverName;
}

function requestBody(c: Parameters<typeof federationContent>[0]): JsonObject {
  const body = federationContent(c);
  if (!isObject(body)) throw badJson("The body must be a JSON object");
  return body;
}

/** Routes of the federation key endpoints, and the E2EE EDU handlers. */
export function e2eeFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  if (!hs.config.federation.enabled) return app;

  hs.edus.handle(
    "m.device_list_update",
    (origin, content) => onDeviceListUpdate(hs, origin, content),
  );
  hs.edus.handle(
    "m.signing_key_update",
    (origin, content) => onSigningKeyUpdate(hs, origin, content),
  );
  hs.edus.handle(DIRECT_TO_DEVICE, (origin, content) => onDirectToDevice(hs, origin, content));

  app.post(`${V1}/user/keys/query`, async (c) => {
    const body = requestBody(c);
    if (body.device_keys === undefined) throw missingParam("device_keys");
    if (!isObject(body.device_keys)) throw badJson("'device_keys' must map user IDs to devices");
    const entries = Object.entries(body.device_keys);
    if (entries.length > MAX_NAMED) throw invalidParam(`At most ${MAX_NAMED} users per query`);
    const wanted = new Map<string, string[]>();
    for (const [userId, devices] of entries) {
      if (!ours(hs, userId)) continue;
      if (
        !Array.isArray(devices) || devices.length > MAX_NAMED ||
        devices.some((d) => typeof d !== "string" || d.length > 255)
      ) {
        throw badJson(`'device_keys.${userId}' must be a list of device IDs`);
      }
      wanted.set(userId, devices as string[]);
    }
    // No requesting user: no user-signing keys and no private signatures are shown.
    const result = await queryKeys(hs, "", wanted);
    return jsonResponse({
      device_keys: result.device_keys,
      master_keys: result.master_keys,
      self_signing_keys: result.self_signing_keys,
    });
  });

  app.post(`${V1}/user/keys/claim`, async (c) => {
    const body = requestBody(c);
    if (body.one_time_keys === undefined) throw missingParam("one_time_keys");
    if (!isObject(body.one_time_keys)) throw badJson("'one_time_keys' must map user IDs");
    const claims: ClaimRequest[] = [];
    for (const [userId, devices] of Object.entries(body.one_time_keys)) {
      if (!ours(hs, userId)) continue;
      if (!isObject(devices)) throw badJson(`'one_time_keys.${userId}' must map device IDs`);
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        if (deviceId.length > 255) throw invalidParam("Device IDs are at most 255 bytes");
        if (typeof algorithm !== "string" || algorithm === "" || algorithm.length > 255) {
          throw badJson(`'one_time_keys.${userId}.${deviceId}' must be an algorithm name`);
        }
        claims.push({ userId, deviceId, algorithm });
        if (claims.length > MAX_NAMED) throw invalidParam(`At most ${MAX_NAMED} claims`);
      }
    }
    const claimed = await claimKeys(hs.kv, claims);
    const oneTimeKeys: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [userId, devices] of claimed) {
      const out: Record<string, Record<string, unknown>> = oneTimeKeys[userId] = {};
      for (const [deviceId, key] of devices) out[deviceId] = { [key.keyId]: key.key };
    }
    return jsonResponse({ one_time_keys: oneTimeKeys });
  });

  app.get(`${V1}/user/devices/:userId`, async (c) => {
    const userId = c.req.param("userId");
    if (!ours(hs, userId)) throw invalidParam(`${userId} is not a user of this server`);
    const [result, head, crossSigning] = await Promise.all([
      queryKeys(hs, "", new Map([[userId, []]])),
      deviceListHead(hs.kv, userId),
      getCrossSigningKeys(hs.kv, userId),
    ]);
    const devices = Object.entries(result.device_keys[userId] ?? {}).map(([deviceId, keys]) => {
      const { unsigned, ...signed } = keys;
      const name = isObject(unsigned) ? unsigned.device_display_name : undefined;
      return {
        device_id: deviceId,
        keys: signed,
        ...(typeof name === "string" ? { device_display_name: name } : {}),
      };
    });
    return jsonResponse({
      user_id: userId,
      stream_id: (await lastDeviceEntry(hs.kv, userId, head)) ?? 0,
      devices,
      ...(crossSigning.master ? { master_key: crossSigning.master } : {}),
      ...(crossSigning.self_signing ? { self_signing_key: crossSigning.self_signing } : {}),
    });
  });

  return app;
}
