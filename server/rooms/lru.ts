/**
 * A bounded in-memory cache with CLOCK ("second chance") eviction: a hit only sets a flag, so
 * reads never reorder anything (a delete + set on every hit cost more than the lookups it
 * served, see BENCHMARKS.md). Entries sit in slots of an array; a hand sweeps the slots when
 * room is needed: a flagged entry loses its flag and stays, the first unflagged one goes.
 * Entries used since the hand last passed them survive, as in an LRU, at O(1) per hit.
 *
 * The slots are arrays rather than a Map used as a queue: a Map that keeps losing its oldest
 * entries accumulates deleted holes at its front, which every "oldest entry" lookup walks
 * again (37% of an initial sync's time once the event cache thrashed).
 *
 * The cache is bounded by entry count and, when `sizeOf` is given, by the approximate bytes
 * of its values, so caches of values of very different sizes (a 50-member room's state and a
 * 10,000-member room's) hold about the same memory whatever they contain.
 *
 * @module
 */

/** Options of {@link LruCache}. */
export interface LruOptions<K, V> {
  /** Upper bound on the sum of `sizeOf` over the cached values (needs `sizeOf`). */
  maxBytes?: number;
  /** Approximate retained bytes of one entry. */
  sizeOf?: (value: V, key: K) => number;
  /**
   * The byte bound kept once the server goes idle after a burst ({@link trimIdleCaches}): the
   * least recently used entries beyond it are dropped then (needs `sizeOf`).
   */
  idleBytes?: number;
}

/** Caches with an idle bound, held weakly so a closed server's caches can still be collected. */
const idleTrimmed = new Set<WeakRef<LruCache<unknown, unknown>>>();
const forget = new FinalizationRegistry<WeakRef<LruCache<unknown, unknown>>>((ref) =>
  idleTrimmed.delete(ref)
);

/**
 * Shrinks every cache made with an `idleBytes` bound down to that bound, dropping its least
 * recently used entries; returns the approximate bytes dropped. Called when the server has gone
 * idle after a burst (server/memory_trim.ts): the caches refill from storage on the next use.
 */
export function trimIdleCaches(): number {
  let dropped = 0;
  for (const ref of idleTrimmed) {
    const cache = ref.deref();
    if (cache) dropped += cache.trimToIdle();
  }
  return dropped;
}

const EMPTY: unique symbol = Symbol("empty slot");

/** A Map that forgets its least recently used entries beyond its bounds. */
export class LruCache<K, V> {
  readonly #index = new Map<K, number>();
  readonly #keys: (K | typeof EMPTY)[] = [];
  readonly #values: (V | undefined)[] = [];
  readonly #used: boolean[] = [];
  readonly #sizes: number[] = [];
  /** Slots emptied by deletes or evictions, reused before the arrays grow. */
  readonly #free: number[] = [];
  readonly #capacity: number;
  readonly #maxBytes: number;
  readonly #sizeOf: ((value: V, key: K) => number) | undefined;
  readonly #idleBytes: number;
  #hand = 0;
  #bytes = 0;

  /**
   * @param capacity most entries kept
   * @param options a byte bound and the size estimate it uses
   */
  constructor(capacity: number, options: LruOptions<K, V> = {}) {
    this.#capacity = capacity;
    this.#sizeOf = options.sizeOf;
    this.#maxBytes = options.sizeOf ? options.maxBytes ?? Infinity : Infinity;
    this.#idleBytes = options.sizeOf ? options.idleBytes ?? Infinity : Infinity;
    if (this.#idleBytes !== Infinity) {
      const ref = new WeakRef(this as LruCache<unknown, unknown>);
      idleTrimmed.add(ref);
      forget.register(this, ref);
    }
  }

  /** The value for `key`, marking it as recently used. */
  get(key: K): V | undefined {
    const slot = this.#index.get(key);
    if (slot === undefined) return undefined;
    this.#used[slot] = true;
    return this.#values[slot];
  }

  /** Whether `key` is cached (does not change its recency). */
  has(key: K): boolean {
    return this.#index.has(key);
  }

  /** Stores `value` for `key`, evicting entries beyond the bounds. */
  set(key: K, value: V): void {
    const bytes = this.#sizeOf ? this.#sizeOf(value, key) : 0;
    let slot = this.#index.get(key);
    if (slot !== undefined) {
      this.#bytes += bytes - this.#sizes[slot];
      this.#used[slot] = true;
    } else {
      slot = this.#free.pop() ?? this.#keys.length;
      this.#keys[slot] = key;
      // New entries get their chance too: the hand may be about to reach their slot.
      this.#used[slot] = true;
      this.#index.set(key, slot);
      this.#bytes += bytes;
    }
    this.#values[slot] = value;
    this.#sizes[slot] = bytes;
    this.#evict(slot);
  }

  /** Forgets `key`. */
  delete(key: K): void {
    const slot = this.#index.get(key);
    if (slot !== undefined) this.#remove(slot);
  }

  /** Forgets everything. */
  clear(): void {
    this.#index.clear();
    this.#keys.length = 0;
    this.#values.length = 0;
    this.#used.length = 0;
    this.#sizes.length = 0;
    this.#free.length = 0;
    this.#hand = 0;
    this.#bytes = 0;
  }

  /** Number of cached entries. */
  get size(): number {
    return this.#index.size;
  }

  /** Approximate bytes of the cached values (0 without `sizeOf`). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Drops least recently used entries until the cached bytes are within the idle bound;
   * returns the bytes dropped.
   */
  trimToIdle(): number {
    const before = this.#bytes;
    if (before <= this.#idleBytes) return 0;
    this.#evict(-1, this.#idleBytes);
    // Arrays that held a burst's entries keep their length: start them afresh when empty.
    if (this.#index.size === 0) this.clear();
    return before - this.#bytes;
  }

  #remove(slot: number): void {
    this.#index.delete(this.#keys[slot] as K);
    this.#keys[slot] = EMPTY;
    this.#values[slot] = undefined;
    this.#bytes -= this.#sizes[slot];
    this.#sizes[slot] = 0;
    this.#free.push(slot);
  }

  /** Evicts down to the bounds (or `maxBytes`), `keep` (the entry just set) last. */
  #evict(keep: number, maxBytes = this.#maxBytes): void {
    // Each step clears a flag, skips a slot or evicts, so this ends within two turns.
    while (
      this.#index.size > 0 && (this.#index.size > this.#capacity || this.#bytes > maxBytes)
    ) {
      if (this.#hand >= this.#keys.length) this.#hand = 0;
      const slot = this.#hand++;
      if (this.#keys[slot] === EMPTY || (slot === keep && this.#index.size > 1)) continue;
      if (this.#used[slot]) this.#used[slot] = false;
      else this.#remove(slot);
    }
  }
}
