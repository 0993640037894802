/**
 * Deno KV's per-call limits, and the helpers that keep batched reads and writes within them.
 * A `getMany` takes at most 10 keys. One atomic commit takes at most 100 checks and 1,000
 * mutations; the keys of its `set`/`sum` mutations may total 80 KiB; and its payload (every
 * checked or deleted key, plus twice the key and once the value of each `set`/`sum`) 800 KiB.
 * One value holds at most 64 KiB as serialized. Exceeding any of them throws, so every read or
 * write whose size a request controls goes through these helpers or is refused at the edge.
 * (tests/unit/kv_batch_test.ts checks these measures against the running Deno's limits.)
 *
 * @module
 */

import { serialize } from "node:v8";

/** Deno KV's hard limits (ext/kv), for the callers that must refuse input up front. */
export const KV_LIMITS = {
  /** Keys per `getMany`. */
  getManyKeys: 10,
  /** Checks per atomic commit. */
  checks: 100,
  /** Mutations per atomic commit. */
  mutations: 1000,
  /** Encoded bytes of the keys of one commit's `set` and `sum` mutations. */
  totalKeyBytes: 80 * 1024,
  /** One commit's payload: checked and deleted keys, twice each set key, and the values. */
  totalMutationBytes: 800 * 1024,
  /** Serialized bytes of one value. */
  valueBytes: 64 * 1024,
  /** Encoded bytes of one key written. */
  keyBytes: 2048,
} as const;

/** `getMany` calls in flight at once for one {@link getManyChunked}. */
const GET_MANY_CONCURRENCY = 8;

/**
 * `kv.getMany` for any number of keys: reads them 10 at a time (a few reads in flight) and
 * returns the entries in the order of `keys`.
 */
export async function getManyChunked<T = unknown>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const size = KV_LIMITS.getManyKeys;
  // Nothing to read costs nothing: callers often pass what their caches did not hold.
  if (keys.length === 0) return [];
  if (keys.length <= size) return await kv.getMany<T[]>(keys);
  const out: Deno.KvEntryMaybe<T>[] = new Array(keys.length);
  const chunks = Math.ceil(keys.length / size);
  let next = 0;
  const worker = async () => {
    while (next < chunks) {
      const start = size * next++;
      const entries = await kv.getMany<T[]>(keys.slice(start, start + size));
      entries.forEach((entry, j) => out[start + j] = entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(GET_MANY_CONCURRENCY, chunks) }, worker));
  return out;
}

const encoder = new TextEncoder();

/** Bytes of a key as Deno KV encodes it (what its key-size limits count). */
export function kvKeyBytes(key: Deno.KvKey): number {
  let bytes = 0;
  for (const part of key) {
    if (typeof part === "string") bytes += 2 + escapedLength(encoder.encode(part));
    else if (part instanceof Uint8Array) bytes += 2 + escapedLength(part);
    else if (typeof part === "number") bytes += 9;
    else if (typeof part === "bigint") bytes += 2 + Math.ceil(part.toString(16).length / 2);
    else bytes += 1;
  }
  return bytes;
}

/** A zero byte inside a key part is written as two bytes. */
function escapedLength(bytes: Uint8Array): number {
  let zeros = 0;
  for (const byte of bytes) if (byte === 0) zeros++;
  return bytes.length + zeros;
}

/**
 * Bytes of a value as Deno KV stores it (V8 serialization). This is not the length of its JSON:
 * a string holding one character above U+00FF is stored at two bytes per character throughout.
 */
export function kvValueBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Deno.KvU64) return 8;
  return serialize(value).byteLength;
}

/** What one item adds to an atomic commit (build it with {@link setCost} and its siblings). */
export interface CommitCost {
  checks?: number;
  mutations?: number;
  /** Encoded bytes of the keys of `set` and `sum` mutations. */
  keyBytes?: number;
  /** Payload bytes (see the module documentation). */
  mutationBytes?: number;
}

/** The cost of `op.check(key)`. */
export function checkCost(key: Deno.KvKey): CommitCost {
  return { checks: 1, mutationBytes: kvKeyBytes(key) };
}

/** The cost of `op.delete(key)`. */
export function deleteCost(key: Deno.KvKey): CommitCost {
  return { mutations: 1, mutationBytes: kvKeyBytes(key) };
}

/** The cost of `op.set(key, value)`; pass `bytes` instead of `value` when already measured. */
export function setCost(key: Deno.KvKey, value: { value?: unknown; bytes?: number }): CommitCost {
  const keyBytes = kvKeyBytes(key);
  const valueBytes = value.bytes ?? kvValueBytes(value.value);
  return { mutations: 1, keyBytes, mutationBytes: 2 * keyBytes + valueBytes };
}

/** The cost of `op.sum(key, n)` (a 64-bit counter). */
export function sumCost(key: Deno.KvKey): CommitCost {
  return setCost(key, { bytes: 8 });
}

/** The sum of several costs. */
export function addCosts(...costs: CommitCost[]): Required<CommitCost> {
  const total: Required<CommitCost> = { checks: 0, mutations: 0, keyBytes: 0, mutationBytes: 0 };
  for (const cost of costs) {
    for (const limit of Object.keys(total) as (keyof CommitCost)[]) {
      total[limit] += cost[limit] ?? 0;
    }
  }
  return total;
}

/**
 * The part of each limit that batches fill: a tenth is left for what a commit adds besides the
 * batch (a stream position, a change-log entry, a record's counter).
 */
const BUDGET: Required<CommitCost> = {
  checks: KV_LIMITS.checks * 0.9,
  mutations: KV_LIMITS.mutations * 0.9,
  keyBytes: KV_LIMITS.totalKeyBytes * 0.9,
  mutationBytes: KV_LIMITS.totalMutationBytes * 0.9,
};

/** Whether a commit of this cost stays within the budget every batch is cut to. */
export function fitsOneCommit(cost: CommitCost): boolean {
  const total = addCosts(cost);
  return (Object.keys(BUDGET) as (keyof CommitCost)[]).every((limit) =>
    total[limit] <= BUDGET[limit]
  );
}

/** Whether a value fits one KV entry, with `headroom` bytes to spare for the record around it. */
export function fitsOneValue(value: unknown, headroom = 0): boolean {
  return kvValueBytes(value) + headroom <= KV_LIMITS.valueBytes;
}

/**
 * Splits `items` into consecutive batches that each fit one atomic commit, by each item's
 * cost. An item alone over the budget still gets a batch of its own (callers refuse such items
 * at the edge).
 *
 * @param options.maxItems at most this many items per batch (e.g. a retry granularity)
 */
export function commitBatches<T>(
  items: readonly T[],
  costOf: (item: T) => CommitCost,
  options: { maxItems?: number } = {},
): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let used = addCosts();
  for (const item of items) {
    const cost = costOf(item);
    const next = addCosts(used, cost);
    const full = batch.length >= (options.maxItems ?? Infinity) || !fitsOneCommit(next);
    if (full && batch.length > 0) {
      batches.push(batch);
      batch = [];
      used = addCosts(cost);
    } else {
      used = next;
    }
    batch.push(item);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Deletes every key under `prefix` (or in `[start, end)`), in commits that stay within the
 * limits however long the keys are.
 */
export async function deleteRange(
  kv: Deno.Kv,
  selector: Deno.KvListSelector,
): Promise<void> {
  const PAGE = 500;
  while (true) {
    const keys: Deno.KvKey[] = [];
    for await (const entry of kv.list(selector, { limit: PAGE })) keys.push(entry.key);
    if (keys.length === 0) return;
    for (const batch of commitBatches(keys, (key) => deleteCost(key))) {
      const op = kv.atomic();
      for (const key of batch) op.delete(key);
      await op.commit();
    }
    if (keys.length < PAGE) return;
  }
}
