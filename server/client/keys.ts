/**
 * The key management API of the spec's "End-to-End Encryption" module:
 * `POST /v3/keys/upload`, `POST /v3/keys/query`, `POST /v3/keys/claim` and
 * `GET /v3/keys/changes`. Storage and checks live in `server/e2ee/`.
 *
 * This module also subscribes the E2EE store to account changes: deleting a device deletes its
 * keys and tells other users through the device-list stream.
 *
 * @module
 */

import { Hono } from "hono";
import { decodePublicKey } from "../../crypto/signing.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { badJson, invalidParam, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { deleteUserCrossSigning } from "../e2ee/account_cleanup.ts";
import { deleteDeviceKeys, getDeviceE2ee, storeKeyUpload } from "../e2ee/device_keys.ts";
import { claimKeys, type ClaimRequest } from "../e2ee/key_claim.ts";
import { keyChanges } from "../e2ee/sync_fields.ts";
import { recordDeviceListChange } from "../e2ee/device_lists.ts";
import { roomsAccess } from "../sync/rooms_adapter.ts";
import { queryKeys } from "../e2ee/key_query.ts";
import {
  crossSigningPublicKey,
  crossUserSignaturesBy,
  withCrossUserSignatures,
} from "../e2ee/cross_signing.ts";
import { claimRemoteKeys, queryRemoteKeys } from "../federation/device_lists_remote.ts";
import type { JsonObject } from "../e2ee/schema.ts";
import {
  checkUserId,
  isObject,
  MAX_ONE_TIME_KEYS_PER_UPLOAD,
  parseDeviceKeys,
  type ParsedOneTimeKey,
  parseKeyMap,
} from "../e2ee/validate.ts";
import { utf8Length } from "../http_util.ts";

/** Most users (or devices) one query or claim may name. */
export const MAX_USERS_PER_QUERY = 5000;
/** Longest device ID or algorithm accepted in a query or claim. */
const MAX_ID_BYTES = 255;

function isLocal(hs: Homeserver, userId: string): boolean {
  return serverNameOf(userId) === hs.config.serverName;
}

/** The `timeout` of a query or claim (ms, default 10 s, at most a minute). */
function timeoutOf(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return 10_000;
  return Math.min(Math.max(value, 1_000), 60_000);
}

/** Routes of the key management API. */
export function keysRoutes(hs: Homeserver): Hono<AppEnv> {
  hs.addAccountHooks({
    // Users sharing a room see the new device in `device_lists.changed` (and other servers
    // get an `m.device_list_update`) before it has uploaded keys, as with Synapse.
    deviceCreated: async (userId, deviceId) => {
      await recordDeviceListChange(hs, { userId, deviceIds: [deviceId] });
    },
    devicesDeleted: (userId, deviceIds) => deleteDeviceKeys(hs, userId, deviceIds),
    userDeactivated: (userId) => deleteUserCrossSigning(hs, userId),
  });
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.post("/_matrix/client/v3/keys/upload", auth, async (c) => {
    const { userId, deviceId } = c.var.auth;
    const owner = { userId, deviceId };
    const body = await readBody(hs, c);
    let deviceKeys: JsonObject | undefined;
    let ed25519: Uint8Array | null;
    if (body.device_keys !== undefined && body.device_keys !== null) {
      const parsed = await parseDeviceKeys(body.device_keys, owner);
      deviceKeys = parsed.deviceKeys;
      ed25519 = parsed.ed25519;
    } else {
      const stored = (await getDeviceE2ee(hs.kv, owner))?.deviceKeys;
      const keys = stored?.keys as Record<string, string> | undefined;
      ed25519 = decodePublicKey(keys?.[`ed25519:${deviceId}`]);
    }
    const keyMap = async (field: string, value: unknown, maxKeys: number) =>
      value === undefined || value === null
        ? []
        : await parseKeyMap(value, { field, owner, ed25519, maxKeys });
    const oneTimeKeys = await keyMap(
      "one_time_keys",
      body.one_time_keys,
      MAX_ONE_TIME_KEYS_PER_UPLOAD,
    );
    const fallbackKeys: ParsedOneTimeKey[] = await keyMap(
      "fallback_keys",
      body.fallback_keys ?? body["org.matrix.msc2732.fallback_keys"],
      8,
    );
    const counts = await storeKeyUpload(hs, owner, { deviceKeys, oneTimeKeys, fallbackKeys });
    return c.json({ one_time_key_counts: counts });
  });

  app.post("/_matrix/client/v3/keys/query", auth, async (c) => {
    const body = await readBody(hs, c);
    const requested = body.device_keys;
    if (requested === undefined) throw missingParam("device_keys");
    if (!isObject(requested)) throw badJson("'device_keys' must map user IDs to device lists");
    const entries = Object.entries(requested);
    if (entries.length > MAX_USERS_PER_QUERY) {
      throw invalidParam(`At most ${MAX_USERS_PER_QUERY} users per query`);
    }
    const wanted = new Map<string, string[]>();
    for (const [userId, devices] of entries) {
      checkUserId(userId, "device_keys");
      if (
        !Array.isArray(devices) || devices.length > MAX_USERS_PER_QUERY ||
        devices.some((d) => typeof d !== "string" || utf8Length(d) > MAX_ID_BYTES)
      ) {
        throw badJson(`'device_keys.${userId}' must be a list of device IDs`);
      }
      wanted.set(userId, devices as string[]);
    }
    const requester = c.var.auth.userId;
    const remote = new Map([...wanted].filter(([userId]) => !isLocal(hs, userId)));
    const [result, fromRemote, mySignatures] = await Promise.all([
      queryKeys(hs, requester, wanted),
      queryRemoteKeys(hs, remote, { timeoutMs: timeoutOf(body.timeout) }),
      remote.size > 0 ? crossUserSignaturesBy(hs.kv, requester) : new Map(),
    ]);
    for (const server of new Set([...remote.keys()].map((u) => serverNameOf(u)!))) {
      delete result.failures[server];
    }
    Object.assign(result.failures, fromRemote.failures);
    Object.assign(result.device_keys, fromRemote.device_keys);
    Object.assign(result.self_signing_keys, fromRemote.self_signing_keys);
    for (const [userId, master] of Object.entries(fromRemote.master_keys)) {
      // The requester's own signature on a remote master key is kept here, private to them.
      const { keyId } = crossSigningPublicKey(master);
      result.master_keys[userId] = withCrossUserSignatures(
        master,
        requester,
        mySignatures.get(userId)?.get(keyId),
      );
    }
    return c.json(result);
  });

  app.post("/_matrix/client/v3/keys/claim", auth, async (c) => {
    const body = await readBody(hs, c);
    const requested = body.one_time_keys;
    if (requested === undefined) throw missingParam("one_time_keys");
    if (!isObject(requested)) throw badJson("'one_time_keys' must map user IDs to devices");
    const claims: ClaimRequest[] = [];
    const remoteClaims: ClaimRequest[] = [];
    const failures: Record<string, JsonObject> = {};
    for (const [userId, devices] of Object.entries(requested)) {
      checkUserId(userId, "one_time_keys");
      if (!isObject(devices)) {
        throw badJson(`'one_time_keys.${userId}' must map device IDs to algorithms`);
      }
      const target = isLocal(hs, userId) ? claims : remoteClaims;
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        if (utf8Length(deviceId) > MAX_ID_BYTES) {
          throw invalidParam(`'one_time_keys.${userId}' names a device ID over 255 bytes`);
        }
        if (
          typeof algorithm !== "string" || algorithm === "" || utf8Length(algorithm) > MAX_ID_BYTES
        ) {
          throw badJson(`'one_time_keys.${userId}.${deviceId}' must be an algorithm name`);
        }
        target.push({ userId, deviceId, algorithm });
      }
      if (claims.length + remoteClaims.length > MAX_USERS_PER_QUERY) {
        throw invalidParam(`At most ${MAX_USERS_PER_QUERY} devices per claim`);
      }
    }
    const [claimed, fromRemote] = await Promise.all([
      claimKeys(hs.kv, claims),
      claimRemoteKeys(hs, remoteClaims, { timeoutMs: timeoutOf(body.timeout) }),
    ]);
    const oneTimeKeys: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [userId, devices] of claimed) {
      const out: Record<string, Record<string, unknown>> = oneTimeKeys[userId] = {};
      for (const [deviceId, key] of devices) out[deviceId] = { [key.keyId]: key.key };
    }
    Object.assign(oneTimeKeys, fromRemote.one_time_keys);
    Object.assign(failures, fromRemote.failures);
    return c.json({ one_time_keys: oneTimeKeys, failures });
  });

  app.get("/_matrix/client/v3/keys/changes", auth, async (c) => {
    const from = c.req.query("from");
    const to = c.req.query("to");
    if (from === undefined) throw missingParam("from");
    if (to === undefined) throw missingParam("to");
    return c.json(
      await keyChanges(hs, c.var.auth.userId, {
        from,
        to,
        rooms: roomsAccess(hs).membershipView,
      }),
    );
  });

  return app;
}
