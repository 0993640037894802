/**
 * Device identity keys, one-time keys and fallback keys on Deno KV: uploading (one commit per
 * upload, checked against the device record so a deleted device never regains keys), counting,
 * and deleting a device's keys. Claiming keys lives in `key_claim.ts`.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { invalidParam, MatrixError } from "../errors.ts";
import {
  addCosts,
  checkCost,
  type CommitCost,
  deleteRange,
  fitsOneCommit,
  getManyChunked,
  KV_LIMITS,
  setCost,
  sumCost,
} from "../store/kv_batch.ts";
import { accountKeys, type DeviceRecord } from "../store/kv_store.ts";
import { addDeviceListChange, wakeDeviceListWatchers } from "./device_lists.ts";
import { commitAtPosition } from "./positions.ts";
import {
  counterValue,
  type DeviceE2eeRecord,
  e2eeKeys,
  type FallbackKeyRecord,
  type JsonObject,
  type OneTimeKeyRecord,
} from "./schema.ts";
import {
  deviceKey,
  fallbackTypeCache,
  forgetInbox,
  otkCountCache,
  writingDeviceKeys,
} from "./sync_memory.ts";
import {
  canonical,
  MAX_ONE_TIME_KEYS_PER_ALGORITHM,
  type ParsedOneTimeKey,
  sameSignedContent,
} from "./validate.ts";
import { ContentionError, inTurn } from "../store/turns.ts";

/** A device, addressed by owner. */
export interface DeviceRef {
  userId: string;
  deviceId: string;
}

/** Validated contents of one `/keys/upload`. */
export interface KeyUpload {
  deviceKeys?: JsonObject;
  oneTimeKeys: readonly ParsedOneTimeKey[];
  fallbackKeys: readonly ParsedOneTimeKey[];
}

/** Reads the E2EE record of a device (null if it never uploaded anything). */
export async function getDeviceE2ee(
  kv: Deno.Kv,
  device: DeviceRef,
): Promise<DeviceE2eeRecord | null> {
  return (await kv.get<DeviceE2eeRecord>(e2eeKeys.device(device.userId, device.deviceId))).value;
}

/**
 * One-time key counts per algorithm (algorithms with no keys are left out). Answered from
 * memory while no upload, claim or deletion of the device's keys happened since the last read.
 */
export async function oneTimeKeyCounts(
  kv: Deno.Kv,
  device: DeviceRef,
): Promise<Record<string, number>> {
  const counts = await otkCountCache(kv).get(
    deviceKey(device),
    () => readOneTimeKeyCounts(kv, device),
  );
  return { ...counts };
}

async function readOneTimeKeyCounts(
  kv: Deno.Kv,
  device: DeviceRef,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const prefix = e2eeKeys.oneTimeKeyCountsOf(device.userId, device.deviceId);
  for await (const entry of kv.list({ prefix })) {
    const count = counterValue(entry.value);
    if (count > 0) counts[entry.key[3] as string] = count;
  }
  return counts;
}

/**
 * Algorithms for which the device has a fallback key that no claim has handed out yet
 * (answered from memory like {@link oneTimeKeyCounts}).
 */
export async function unusedFallbackKeyTypes(kv: Deno.Kv, device: DeviceRef): Promise<string[]> {
  const types = await fallbackTypeCache(kv).get(
    deviceKey(device),
    () => readUnusedFallbackKeyTypes(kv, device),
  );
  return [...types];
}

async function readUnusedFallbackKeyTypes(kv: Deno.Kv, device: DeviceRef): Promise<string[]> {
  const types: string[] = [];
  const prefix = e2eeKeys.fallbackKeysOf(device.userId, device.deviceId);
  for await (const entry of kv.list<FallbackKeyRecord>({ prefix })) {
    if (!entry.value.used) types.push(entry.key[3] as string);
  }
  return types;
}

/**
 * Stores one `/keys/upload` in one commit. Re-uploading a one-time key with the same ID and
 * content is a no-op; the same ID with other content is refused and nothing is stored. New or
 * changed device keys are recorded in the device-list stream in the same commit.
 *
 * @returns the one-time key counts after the upload
 * @throws {MatrixError} M_INVALID_PARAM for conflicting or too many keys; 413 M_TOO_LARGE for
 *   an upload that does not fit one commit (long key IDs, large keys: fewer keys per upload do)
 */
export async function storeKeyUpload(
  hs: Homeserver,
  device: DeviceRef,
  upload: KeyUpload,
): Promise<Record<string, number>> {
  return await inTurn(hs.kv, ["device_keys", device.userId, device.deviceId], async () => {
    if (!fitsOneCommit(uploadCost(device, upload))) {
      throw new MatrixError(
        "M_TOO_LARGE",
        "These keys do not fit one upload; upload fewer one-time keys per request",
        { status: 413 },
      );
    }
    await writingDeviceKeys(hs.kv, [device], () => writeKeyUpload(hs, device, upload));
    return await oneTimeKeyCounts(hs.kv, device);
  });
}

/** What the commit of an upload costs at most (as if every key were new). */
function uploadCost(device: DeviceRef, upload: KeyUpload): CommitCost {
  const { userId, deviceId } = device;
  const record = e2eeKeys.device(userId, deviceId);
  const costs = [
    checkCost(accountKeys.device(userId, deviceId)),
    checkCost(record),
    // Without new device keys, the stored ones (of any size a value may have) are written back.
    upload.deviceKeys
      ? setCost(record, { value: { deviceKeys: upload.deviceKeys, otkSeq: 0 } })
      : setCost(record, { bytes: KV_LIMITS.valueBytes }),
  ];
  const algorithms = new Set<string>();
  for (const key of upload.oneTimeKeys) {
    const target = { userId, deviceId, algorithm: key.algorithm };
    const value: OneTimeKeyRecord = { keyId: key.keyId, key: key.key };
    costs.push(setCost(e2eeKeys.oneTimeKey(target, 0, key.keyId), { value }));
    algorithms.add(key.algorithm);
  }
  for (const algorithm of algorithms) {
    costs.push(sumCost(e2eeKeys.oneTimeKeyCount(userId, deviceId, algorithm)));
  }
  for (const key of upload.fallbackKeys) {
    const fallback = e2eeKeys.fallbackKey(userId, deviceId, key.algorithm);
    const value: FallbackKeyRecord = { keyId: key.keyId, key: key.key, used: false };
    costs.push(checkCost(fallback), setCost(fallback, { value }));
  }
  return addCosts(...costs);
}

async function writeKeyUpload(hs: Homeserver, device: DeviceRef, upload: KeyUpload): Promise<void> {
  const { kv } = hs;
  const { userId, deviceId } = device;
  const fallbackAlgorithms = new Set<string>();
  for (const key of upload.fallbackKeys) {
    if (fallbackAlgorithms.has(key.algorithm)) {
      throw invalidParam(`At most one fallback key per algorithm ('${key.algorithm}')`);
    }
    fallbackAlgorithms.add(key.algorithm);
  }

  for (let attempt = 0; attempt < 10; attempt++) {
    const [accountDevice, e2ee] = await kv.getMany<[DeviceRecord, DeviceE2eeRecord]>([
      accountKeys.device(userId, deviceId),
      e2eeKeys.device(userId, deviceId),
    ]);
    if (!accountDevice.value) throw invalidParam("Your device no longer exists");
    const record: DeviceE2eeRecord = e2ee.value ?? { deviceKeys: null, otkSeq: 0 };
    const keysChanged = upload.deviceKeys !== undefined &&
      (record.deviceKeys === null ||
        canonical(record.deviceKeys, "stored") !== canonical(upload.deviceKeys, "device_keys"));

    const existing = new Map<string, OneTimeKeyRecord>();
    const perAlgorithm = new Map<string, number>();
    if (upload.oneTimeKeys.length > 0) {
      for await (
        const entry of kv.list<OneTimeKeyRecord>({
          prefix: e2eeKeys.oneTimeKeysOf(userId, deviceId),
        })
      ) {
        existing.set(entry.value.keyId, entry.value);
        const algorithm = entry.key[3] as string;
        perAlgorithm.set(algorithm, (perAlgorithm.get(algorithm) ?? 0) + 1);
      }
    }
    const seq = record.otkSeq + 1;
    const added = new Map<string, number>();
    const newKeys: ParsedOneTimeKey[] = [];
    for (const key of upload.oneTimeKeys) {
      const old = existing.get(key.keyId);
      if (old) {
        if (!sameKey(old.key, key.key)) {
          throw invalidParam(`One-time key ${key.keyId} already exists with different content`);
        }
        continue;
      }
      newKeys.push(key);
      added.set(key.algorithm, (added.get(key.algorithm) ?? 0) + 1);
    }
    for (const [algorithm, n] of added) {
      if ((perAlgorithm.get(algorithm) ?? 0) + n > MAX_ONE_TIME_KEYS_PER_ALGORITHM) {
        throw invalidParam(
          `A device may hold at most ${MAX_ONE_TIME_KEYS_PER_ALGORITHM} '${algorithm}' keys`,
        );
      }
    }
    const fallbackEntries = await getManyChunked<FallbackKeyRecord>(
      kv,
      upload.fallbackKeys.map((key) => e2eeKeys.fallbackKey(userId, deviceId, key.algorithm)),
    );

    const build = (op: Deno.AtomicOperation) => {
      op.check(accountDevice).check(e2ee);
      op.set(
        e2ee.key,
        {
          deviceKeys: upload.deviceKeys ?? record.deviceKeys,
          otkSeq: newKeys.length > 0 ? seq : record.otkSeq,
        } satisfies DeviceE2eeRecord,
      );
      for (const key of newKeys) {
        const target = { userId, deviceId, algorithm: key.algorithm };
        op.set(
          e2eeKeys.oneTimeKey(target, seq, key.keyId),
          {
            keyId: key.keyId,
            key: key.key,
          } satisfies OneTimeKeyRecord,
        );
      }
      for (const [algorithm, n] of added) {
        op.sum(e2eeKeys.oneTimeKeyCount(userId, deviceId, algorithm), BigInt(n));
      }
      upload.fallbackKeys.forEach((key, i) => {
        const old = fallbackEntries[i];
        op.check(old);
        if (old.value && old.value.keyId === key.keyId && sameKey(old.value.key, key.key)) return;
        op.set(
          old.key,
          { keyId: key.keyId, key: key.key, used: false } satisfies FallbackKeyRecord,
        );
      });
    };

    if (keysChanged) {
      const pos = await commitAtPosition(hs, async (op, pos) => {
        build(op);
        await addDeviceListChange(kv, op, { userId, pos, deviceIds: [deviceId] });
      }, { attempts: 1 });
      if (pos !== null) {
        wakeDeviceListWatchers(hs, userId, pos);
        return;
      }
    } else {
      const op = kv.atomic();
      build(op);
      if ((await op.commit()).ok) return;
    }
  }
  throw new ContentionError("key upload");
}

function sameKey(a: string | JsonObject, b: string | JsonObject): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return sameSignedContent(a, b) && canonical(a, "key") === canonical(b, "key");
}

/**
 * Deletes every E2EE key of the given devices (identity, one-time and fallback keys, queued
 * to-device messages) and records the deletions in the device-list stream (devices without
 * keys too: users sharing a room saw them appear, they see them go).
 */
export async function deleteDeviceKeys(
  hs: Homeserver,
  userId: string,
  deviceIds: readonly string[],
): Promise<void> {
  if (deviceIds.length === 0) return;
  const { kv } = hs;
  // Identity keys go first, with the change record, so that other users learn at once.
  for (let i = 0; i < deviceIds.length; i += 50) {
    const chunk = deviceIds.slice(i, i + 50);
    const pos = await commitAtPosition(hs, async (op, pos) => {
      for (const deviceId of chunk) op.delete(e2eeKeys.device(userId, deviceId));
      await addDeviceListChange(kv, op, { userId, pos, deviceIds: chunk, deleted: chunk });
    });
    if (pos === null) throw new ContentionError("device key deletion");
    wakeDeviceListWatchers(hs, userId, pos);
  }
  for (const deviceId of deviceIds) {
    await writingDeviceKeys(kv, [{ userId, deviceId }], async () => {
      for (
        const prefix of [
          e2eeKeys.oneTimeKeysOf(userId, deviceId),
          e2eeKeys.oneTimeKeyCountsOf(userId, deviceId),
          e2eeKeys.fallbackKeysOf(userId, deviceId),
          e2eeKeys.toDeviceInbox(userId, deviceId),
        ]
      ) {
        await deleteRange(kv, { prefix });
      }
    });
    forgetInbox(kv, { userId, deviceId });
  }
}
