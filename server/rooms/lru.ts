/**
 * A bounded in-memory cache with second-chance ("clock") eviction: a hit only sets a flag, so
 * reads never reorder the underlying Map (a delete + set on every hit cost more than the
 * lookups it served, see BENCHMARKS.md). Eviction walks from the oldest insertion: an entry
 * whose flag is set gets it cleared and moves to the back; the first unflagged entry goes.
 * Entries used since the last sweep therefore survive it, as in an LRU, at O(1) per hit.
 *
 * The cache is bounded by entry count and, when `sizeOf` is given, by the approximate bytes
 * of its values, so caches of values of very different sizes (a 50-member room's state and a
 * 10,000-member room's) hold about the same memory whatever they contain.
 *
 * @module
 */

interface Slot<V> {
  value: V;
  /** Used since the sweep last passed it. */
  used: boolean;
  bytes: number;
}

/** Options of {@link LruCache}. */
export interface LruOptions<K, V> {
  /** Upper bound on the sum of `sizeOf` over the cached values (needs `sizeOf`). */
  maxBytes?: number;
  /** Approximate retained bytes of one entry. */
  sizeOf?: (value: V, key: K) => number;
}

/** A Map that forgets its least recently used entries beyond its bounds. */
export class LruCache<K, V> {
  readonly #map = new Map<K, Slot<V>>();
  readonly #capacity: number;
  readonly #maxBytes: number;
  readonly #sizeOf: ((value: V, key: K) => number) | undefined;
  #bytes = 0;

  /**
   * @param capacity most entries kept
   * @param options a byte bound and the size estimate it uses
   */
  constructor(capacity: number, options: LruOptions<K, V> = {}) {
    this.#capacity = capacity;
    this.#sizeOf = options.sizeOf;
    this.#maxBytes = options.sizeOf ? options.maxBytes ?? Infinity : Infinity;
  }

  /** The value for `key`, marking it as recently used. */
  get(key: K): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  /** Whether `key` is cached (does not change its recency). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Stores `value` for `key`, evicting entries beyond the bounds. */
  set(key: K, value: V): void {
    const bytes = this.#sizeOf ? this.#sizeOf(value, key) : 0;
    const slot = this.#map.get(key);
    if (slot) {
      this.#bytes += bytes - slot.bytes;
      slot.value = value;
      slot.bytes = bytes;
      slot.used = true;
    } else {
      this.#map.set(key, { value, used: false, bytes });
      this.#bytes += bytes;
    }
    this.#evict();
  }

  /** Forgets `key`. */
  delete(key: K): void {
    const slot = this.#map.get(key);
    if (slot === undefined) return;
    this.#bytes -= slot.bytes;
    this.#map.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  /** Number of cached entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Approximate bytes of the cached values (0 without `sizeOf`). */
  get bytes(): number {
    return this.#bytes;
  }

  #evict(): void {
    // Each turn either clears a flag or evicts, so this ends within two passes.
    while (this.#map.size > this.#capacity || this.#bytes > this.#maxBytes) {
      const [key, slot] = this.#map.entries().next().value as [K, Slot<V>];
      this.#map.delete(key);
      if (slot.used) {
        slot.used = false;
        this.#map.set(key, slot);
      } else {
        this.#bytes -= slot.bytes;
      }
    }
  }
}
