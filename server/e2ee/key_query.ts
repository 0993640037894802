/**
 * `/keys/query` over storage: device keys with display names, cross-signing keys, and the
 * signatures the requester may see (the owner's, merged in storage, plus the requester's own
 * user-signing signatures on other users' master keys).
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { getManyChunked } from "../store/kv_batch.ts";
import { accountKeys, type DeviceRecord } from "../store/kv_store.ts";
import {
  crossSigningPublicKey,
  crossUserSignaturesBy,
  getCrossSigningKeys,
  withCrossUserSignatures,
} from "./cross_signing.ts";
import { type DeviceE2eeRecord, e2eeKeys, type JsonObject } from "./schema.ts";

/** The body of a `/keys/query` response. */
export interface KeyQueryResult {
  device_keys: Record<string, Record<string, JsonObject>>;
  master_keys: Record<string, JsonObject>;
  self_signing_keys: Record<string, JsonObject>;
  user_signing_keys: Record<string, JsonObject>;
  failures: Record<string, JsonObject>;
}

/** Users looked up concurrently. */
const QUERY_CONCURRENCY = 64;

/**
 * Answers a key query for `requesterId`. Users of other servers are reported in `failures`
 * (federation is not available yet); unknown local users and devices are simply absent.
 *
 * @param wanted user ID -> device IDs (empty for all devices)
 */
export async function queryKeys(
  hs: Homeserver,
  requesterId: string,
  wanted: ReadonlyMap<string, readonly string[]>,
): Promise<KeyQueryResult> {
  const result: KeyQueryResult = {
    device_keys: {},
    master_keys: {},
    self_signing_keys: {},
    user_signing_keys: {},
    failures: {},
  };
  const local: [string, readonly string[]][] = [];
  for (const [userId, deviceIds] of wanted) {
    const server = serverNameOf(userId);
    if (server === hs.config.serverName) local.push([userId, deviceIds]);
    else if (server) result.failures[server] = {};
  }
  const mySignatures = await crossUserSignaturesBy(hs.kv, requesterId);
  for (let i = 0; i < local.length; i += QUERY_CONCURRENCY) {
    await Promise.all(
      local.slice(i, i + QUERY_CONCURRENCY).map(async ([userId, deviceIds]) => {
        const [devices, crossSigning] = await Promise.all([
          deviceKeysOf(hs.kv, userId, deviceIds),
          getCrossSigningKeys(hs.kv, userId),
        ]);
        result.device_keys[userId] = devices;
        if (crossSigning.master) {
          const { keyId } = crossSigningPublicKey(crossSigning.master);
          result.master_keys[userId] = userId === requesterId
            ? crossSigning.master
            : withCrossUserSignatures(
              crossSigning.master,
              requesterId,
              mySignatures.get(userId)?.get(keyId),
            );
        }
        if (crossSigning.self_signing) result.self_signing_keys[userId] = crossSigning.self_signing;
        if (crossSigning.user_signing && userId === requesterId) {
          result.user_signing_keys[userId] = crossSigning.user_signing;
        }
      }),
    );
  }
  return result;
}

/** The device keys of a user (all devices, or the listed ones) with `unsigned` display names. */
async function deviceKeysOf(
  kv: Deno.Kv,
  userId: string,
  deviceIds: readonly string[],
): Promise<Record<string, JsonObject>> {
  const out: Record<string, JsonObject> = {};
  const names = new Map<string, string | null>();
  let records: [string, DeviceE2eeRecord | null][];
  if (deviceIds.length === 0) {
    const [e2ee, devices] = await Promise.all([
      Array.fromAsync(kv.list<DeviceE2eeRecord>({ prefix: e2eeKeys.devicesOf(userId) })),
      Array.fromAsync(kv.list<DeviceRecord>({ prefix: accountKeys.devicesOf(userId) })),
    ]);
    for (const device of devices) names.set(device.value.deviceId, device.value.displayName);
    records = e2ee.map((entry) => [entry.key[2] as string, entry.value]);
  } else {
    const unique = [...new Set(deviceIds)];
    const keys = unique.flatMap((
      id,
    ) => [e2eeKeys.device(userId, id), accountKeys.device(userId, id)]);
    const entries = await getManyChunked(kv, keys);
    records = unique.map((id, i) => {
      const device = entries[2 * i + 1].value as DeviceRecord | null;
      if (device) names.set(id, device.displayName);
      return [id, entries[2 * i].value as DeviceE2eeRecord | null];
    });
  }
  for (const [deviceId, record] of records) {
    // Keys outliving their device (a deletion still being cleaned up) are not shown.
    if (!record?.deviceKeys || !names.has(deviceId)) continue;
    const name = names.get(deviceId);
    out[deviceId] = {
      ...record.deviceKeys,
      unsigned: name ? { device_display_name: name } : {},
    };
  }
  return out;
}
