/**
 * A list of KV mutations that knows its size, so that the commit queue can batch several
 * logical writes within KV's per-commit limits.
 *
 * @module
 */

import type { QueuedWrite, SharedWrites } from "./commit_queue.ts";

type Mutation =
  | { kind: "set"; key: Deno.KvKey; value: unknown; expireIn?: number; shared?: boolean }
  | { kind: "delete"; key: Deno.KvKey }
  | { kind: "max"; key: Deno.KvKey; value: bigint; shared?: boolean };

/** Collected mutations of one logical write. */
export class Mutations implements QueuedWrite {
  readonly #list: Mutation[] = [];
  bytes = 0;
  keyBytes = 0;

  /** Number of mutations. */
  get mutations(): number {
    return this.#list.length;
  }

  /**
   * Sets `key`. `sizeHint` is the value's size in bytes when the caller knows it (large
   * values); otherwise it is estimated from the value's JSON. `shared`: every write to this
   * key marks it so, and a batch of writes keeps only the last value (`commit_queue.ts`).
   */
  set(
    key: Deno.KvKey,
    value: unknown,
    options: { expireIn?: number; sizeHint?: number; shared?: boolean } = {},
  ) {
    this.#list.push({
      kind: "set",
      key,
      value,
      expireIn: options.expireIn,
      shared: options.shared === true && options.expireIn === undefined,
    });
    this.#count(key, options.sizeHint ?? estimateBytes(value));
    return this;
  }

  /** Deletes `key`. */
  delete(key: Deno.KvKey) {
    this.#list.push({ kind: "delete", key });
    this.#count(key, 0);
    return this;
  }

  /** Raises the u64 at `key` to at least `value` (`shared`: see {@link set}). */
  max(key: Deno.KvKey, value: number, options: { shared?: boolean } = {}) {
    this.#list.push({ kind: "max", key, value: BigInt(value), shared: options.shared === true });
    this.#count(key, 8);
    return this;
  }

  /** Adds the mutations to an atomic operation (shared ones to `shared` when given). */
  apply(op: Deno.AtomicOperation, shared?: SharedWrites): void {
    for (const m of this.#list) {
      if (m.kind === "set") {
        if (shared && m.shared) shared.set(m.key, m.value);
        else {op.set(
            m.key,
            m.value,
            m.expireIn === undefined ? undefined : { expireIn: m.expireIn },
          );}
      } else if (m.kind === "delete") op.delete(m.key);
      else if (shared && m.shared) shared.max(m.key, m.value);
      else op.max(m.key, m.value);
    }
  }

  #count(key: Deno.KvKey, valueBytes: number): void {
    let keySize = 4;
    for (const part of key) keySize += typeof part === "string" ? part.length * 2 + 2 : 10;
    this.keyBytes += keySize;
    this.bytes += keySize + valueBytes;
  }
}

function estimateBytes(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === "string") return value.length * 2 + 8;
  if (typeof value === "number" || typeof value === "bigint") return 9;
  return (JSON.stringify(value)?.length ?? 0) * 2 + 16;
}
