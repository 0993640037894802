/**
 * A small least-recently-used map, for in-memory caches with a bound on their size.
 *
 * @module
 */

/** A Map that forgets its least recently used entries beyond `capacity`. */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The value for `key`, marking it as recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Whether `key` is cached (does not change its recency). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Stores `value` for `key`, evicting the oldest entries beyond the capacity. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#capacity) {
      this.#map.delete(this.#map.keys().next().value as K);
    }
  }

  /** Forgets `key`. */
  delete(key: K): void {
    this.#map.delete(key);
  }

  /** Number of cached entries. */
  get size(): number {
    return this.#map.size;
  }
}
