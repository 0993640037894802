/**
 * `/keys/claim` over storage: each one-time key is deleted with a check in the commit that hands
 * it out, so two claimers never get the same key; a device without one-time keys hands out its
 * fallback key (marked used). Claims are batched into commits cut to Deno KV's limits.
 *
 * @module
 */

import {
  addCosts,
  checkCost,
  commitBatches,
  type CommitCost,
  deleteCost,
  getManyChunked,
  setCost,
  sumCost,
} from "../store/kv_batch.ts";
import type { DeviceRef } from "./device_keys.ts";
import {
  e2eeKeys,
  type FallbackKeyRecord,
  type JsonObject,
  minusU64,
  type OneTimeKeyRecord,
} from "./schema.ts";
import { writingDeviceKeys } from "./sync_memory.ts";
import { MAX_ONE_TIME_KEY_BYTES } from "./validate.ts";
import { ContentionError } from "../store/turns.ts";

/** One claim: a device and the algorithm wanted. */
export interface ClaimRequest extends DeviceRef {
  algorithm: string;
}

/** A claimed key: `<algorithm>:<key_id>` and the key. */
export interface ClaimedKey {
  keyId: string;
  key: string | JsonObject;
}

/** Claims per commit: each claim adds one check. */
const CLAIMS_PER_COMMIT = 80;
/**
 * The most a stored fallback key record can take serialized: its key (canonical JSON of at most
 * {@link MAX_ONE_TIME_KEY_BYTES}) and key ID, at up to two and a quarter bytes per JSON byte
 * (two-byte strings; doubles), with room for the record around them.
 */
const MAX_FALLBACK_RECORD_BYTES = 3 * MAX_ONE_TIME_KEY_BYTES + 1024;

/** The most one claim adds to a commit: a one-time key taken, or a fallback key marked used. */
function claimCost(request: ClaimRequest): CommitCost {
  const { userId, deviceId, algorithm } = request;
  // The longest key ID an upload accepts: `<algorithm>:<id>` with an id of 128 bytes.
  const otk = e2eeKeys.oneTimeKey(request, 0, `${algorithm}:${"x".repeat(128)}`);
  const oneTime = addCosts(
    checkCost(otk),
    deleteCost(otk),
    sumCost(e2eeKeys.oneTimeKeyCount(userId, deviceId, algorithm)),
  );
  const fallbackKey = e2eeKeys.fallbackKey(userId, deviceId, algorithm);
  const fallback = addCosts(
    checkCost(fallbackKey),
    setCost(fallbackKey, { bytes: MAX_FALLBACK_RECORD_BYTES }),
  );
  return {
    checks: 1,
    mutations: 2,
    keyBytes: Math.max(oneTime.keyBytes, fallback.keyBytes),
    mutationBytes: Math.max(oneTime.mutationBytes, fallback.mutationBytes),
  };
}

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
  const batches = commitBatches(requests, claimCost, { maxItems: CLAIMS_PER_COMMIT });
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
        if (attempt > 50) throw new ContentionError("key claim");
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
  const fallbacks = await getManyChunked<FallbackKeyRecord>(
    kv,
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
