/**
 * Device identity keys, one-time keys and fallback keys on Deno KV: uploading (one commit per
 * upload, checked against the device record so a deleted device never regains keys), claiming
 * (each one-time key is deleted with a check in the commit that hands it out, so two claimers
 * never get the same key), counting, and deleting a device's keys.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { invalidParam } from "../errors.ts";
import { accountKeys, type DeviceRecord } from "../store/kv_store.ts";
import { addDeviceListChange, wakeDeviceListWatchers } from "./device_lists.ts";
import { commitAtPosition } from "./positions.ts";
import {
  counterValue,
  type DeviceE2eeRecord,
  e2eeKeys,
  type FallbackKeyRecord,
  type JsonObject,
  minusU64,
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
 * @throws {MatrixError} M_INVALID_PARAM for conflicting or too many keys; M_UNKNOWN_TOKEN-like
 *   404 never happens because the caller's device exists while its token is valid
 */
export async function storeKeyUpload(
  hs: Homeserver,
  device: DeviceRef,
  upload: KeyUpload,
): Promise<Record<string, number>> {
  await writingDeviceKeys(hs.kv, [device], () => writeKeyUpload(hs, device, upload));
  return await oneTimeKeyCounts(hs.kv, device);
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
    const fallbackEntries = await kv.getMany<FallbackKeyRecord[]>(
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
  throw new Error("key upload kept conflicting");
}

function sameKey(a: string | JsonObject, b: string | JsonObject): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return sameSignedContent(a, b) && canonical(a, "key") === canonical(b, "key");
}

/** One claim: a device and the algorithm wanted. */
export interface ClaimRequest extends DeviceRef {
  algorithm: string;
}

/** A claimed key: `<algorithm>:<key_id>` and the key. */
export interface ClaimedKey {
  keyId: string;
  key: string | JsonObject;
}

/** Claims per commit: each claim of a one-time key adds one check. */
const CLAIMS_PER_COMMIT = 80;

/**
 * Claims one key per request: the oldest one-time key of the algorithm, else the fallback key
 * (which is marked used). Claims are batched into commits; each handed-out one-time key is
 * deleted with a check in the commit that returns it, and a batch that loses a race is
 * re-read claim by claim.
 *
 * @returns claimed keys keyed by `userId` then `deviceId`; devices without keys are absent
 */
export async function claimKeys(
  kv: Deno.Kv,
  requests: readonly ClaimRequest[],
): Promise<Map<string, Map<string, ClaimedKey>>> {
  const result = new Map<string, Map<string, ClaimedKey>>();
  const batches: ClaimRequest[][] = [];
  for (let i = 0; i < requests.length; i += CLAIMS_PER_COMMIT) {
    batches.push(requests.slice(i, i + CLAIMS_PER_COMMIT));
  }
  const put = (request: ClaimRequest, claimed: ClaimedKey | null) => {
    if (!claimed) return;
    let devices = result.get(request.userId);
    if (!devices) result.set(request.userId, devices = new Map());
    devices.set(request.deviceId, claimed);
  };
  await Promise.all(batches.map(async (batch) => {
    const claims = await tryClaimBatch(kv, batch);
    if (claims) {
      batch.forEach((request, i) => put(request, claims[i]));
      return;
    }
    for (const request of batch) {
      for (let attempt = 0;; attempt++) {
        const single = await tryClaimBatch(kv, [request]);
        if (single) {
          put(request, single[0]);
          break;
        }
        if (attempt > 50) throw new Error("key claim kept conflicting");
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      }
    }
  }));
  return result;
}

/** One-time keys looked at per claim; keys of one upload are equivalent, so any may go. */
const CLAIM_CANDIDATES = 16;

/**
 * One attempt at claiming a batch in one commit; null when a check failed. Among the oldest
 * upload's keys one is picked at random, so that concurrent claimers rarely collide.
 */
async function tryClaimBatch(
  kv: Deno.Kv,
  batch: readonly ClaimRequest[],
): Promise<(ClaimedKey | null)[] | null> {
  const otks = await Promise.all(batch.map(async (request) => {
    const prefix = e2eeKeys.oneTimeKeysOf(request.userId, request.deviceId, request.algorithm);
    const candidates: Deno.KvEntry<OneTimeKeyRecord>[] = [];
    for await (
      const entry of kv.list<OneTimeKeyRecord>({ prefix }, { limit: CLAIM_CANDIDATES })
    ) {
      if (candidates.length > 0 && entry.key[4] !== candidates[0].key[4]) break;
      candidates.push(entry);
    }
    if (candidates.length === 0) return null;
    return candidates[Math.floor(Math.random() * candidates.length)];
  }));
  const needFallback = batch.filter((_, i) => otks[i] === null);
  const fallbacks = needFallback.length === 0 ? [] : await kv.getMany<FallbackKeyRecord[]>(
    needFallback.map((r) => e2eeKeys.fallbackKey(r.userId, r.deviceId, r.algorithm)),
  );
  const op = kv.atomic();
  let writes = 0;
  let f = 0;
  const claimed = batch.map((request, i): ClaimedKey | null => {
    const otk = otks[i];
    if (otk) {
      op.check(otk).delete(otk.key).sum(
        e2eeKeys.oneTimeKeyCount(request.userId, request.deviceId, request.algorithm),
        minusU64(1),
      );
      writes++;
      return { keyId: otk.value.keyId, key: otk.value.key };
    }
    const fallback = fallbacks[f++];
    if (!fallback.value) return null;
    if (!fallback.value.used) {
      op.check(fallback).set(fallback.key, { ...fallback.value, used: true });
      writes++;
    }
    return { keyId: fallback.value.keyId, key: fallback.value.key };
  });
  if (writes > 0) {
    const committed = await writingDeviceKeys(kv, batch, async () => (await op.commit()).ok);
    if (!committed) return null;
  }
  return claimed;
}

/**
 * Deletes every E2EE key of the given devices (identity, one-time and fallback keys, queued
 * to-device messages) and records one device-list change for those that had identity keys.
 */
export async function deleteDeviceKeys(
  hs: Homeserver,
  userId: string,
  deviceIds: readonly string[],
): Promise<void> {
  if (deviceIds.length === 0) return;
  const { kv } = hs;
  const records = await kv.getMany<DeviceE2eeRecord[]>(
    deviceIds.map((deviceId) => e2eeKeys.device(userId, deviceId)),
  );
  const withKeys = deviceIds.filter((_, i) => records[i].value?.deviceKeys);
  // Identity keys go first, with the change record, so that other users learn at once.
  for (let i = 0; i < records.length; i += 50) {
    const chunk = records.slice(i, i + 50);
    const chunkWithKeys = withKeys.filter((id) =>
      chunk.some((r) => r.value?.deviceKeys && r.key[2] === id)
    );
    const pos = await commitAtPosition(hs, async (op, pos) => {
      for (const entry of chunk) op.delete(entry.key);
      if (chunkWithKeys.length > 0) {
        await addDeviceListChange(kv, op, {
          userId,
          pos,
          deviceIds: chunkWithKeys,
          deleted: chunkWithKeys,
        });
      }
    });
    if (pos === null) throw new Error("device key deletion kept conflicting");
    if (chunkWithKeys.length > 0) wakeDeviceListWatchers(hs, userId, pos);
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
        await deletePrefix(kv, prefix);
      }
    });
    forgetInbox(kv, { userId, deviceId });
  }
}

/** Deletes every key under `prefix`, 500 per commit. */
export async function deletePrefix(kv: Deno.Kv, prefix: Deno.KvKey): Promise<void> {
  while (true) {
    const keys: Deno.KvKey[] = [];
    for await (const entry of kv.list({ prefix }, { limit: 500 })) keys.push(entry.key);
    if (keys.length === 0) return;
    const op = kv.atomic();
    for (const key of keys) op.delete(key);
    await op.commit();
    if (keys.length < 500) return;
  }
}
