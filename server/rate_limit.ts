/**
 * Token-bucket rate limiting, in memory and per server instance. Buckets are keyed by action
 * and caller (client address, plus user where known); a refused request gets 429
 * M_LIMIT_EXCEEDED with `retry_after_ms` and `Retry-After`.
 *
 * Memory is bounded whatever the callers do: a bucket that has refilled completely says nothing
 * a fresh bucket would not, so idle buckets are swept out (a full pass at most once a minute),
 * and past {@link MAX_BUCKETS} the least recently used bucket is dropped (its caller starts
 * again from a full burst, the price of not growing without end under many addresses).
 *
 * @module
 */

import type { RateLimitConfig } from "./config.ts";
import { limitExceeded } from "./errors.ts";

interface Bucket {
  tokens: number;
  updatedMs: number;
  /** When the bucket will be full again (Infinity for a limit that never refills). */
  fullAtMs: number;
}

/**
 * Most buckets kept at once. A bucket costs about 200 bytes with its key, so this is some
 * 10 MB at worst; under it, only buckets that are full again get dropped.
 */
export const MAX_BUCKETS = 50_000;

/** Least time between two sweeps of idle buckets. */
export const SWEEP_INTERVAL_MS = 60_000;

/** A set of token buckets for named actions. */
export class RateLimiter {
  readonly #limits: Readonly<Record<string, RateLimitConfig>>;
  /** In order of last use (a used bucket moves to the end), so the first is the stalest. */
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #maxBuckets: number;
  #lastSweepMs: number;

  /**
   * @param limits bucket parameters per action name (e.g. `login`, `register`, `send`)
   * @param options a clock and a smaller bucket bound, for tests
   */
  constructor(
    limits: Readonly<Record<string, RateLimitConfig>>,
    options: { now?: () => number; maxBuckets?: number } = {},
  ) {
    this.#limits = limits;
    this.#now = options.now ?? Date.now;
    this.#maxBuckets = options.maxBuckets ?? MAX_BUCKETS;
    this.#lastSweepMs = this.#now();
  }

  /** How many buckets are kept now. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token for `action` from the bucket of `caller`.
   *
   * @returns 0 when allowed, else the milliseconds until a token is available
   */
  take(action: string, caller: string): number {
    const limit = this.#limits[action];
    if (!limit) throw new Error(`no rate limit configured for action '${action}'`);
    const now = this.#now();
    if (now - this.#lastSweepMs >= SWEEP_INTERVAL_MS) this.#sweep(now);
    const key = `${action}\u0000${caller}`;
    let bucket = this.#buckets.get(key);
    if (bucket) {
      const refill = (Math.max(0, now - bucket.updatedMs) / 1000) * limit.perSecond;
      bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
      bucket.updatedMs = now;
      this.#buckets.delete(key); // re-inserted below: most recently used goes last
    } else {
      bucket = { tokens: limit.burst, updatedMs: now, fullAtMs: now };
    }
    let wait = 0;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
    } else {
      wait = limit.perSecond <= 0
        ? 60_000
        : Math.ceil(((1 - bucket.tokens) / limit.perSecond) * 1000);
    }
    bucket.fullAtMs = limit.perSecond <= 0
      ? (bucket.tokens >= limit.burst ? now : Infinity)
      : now + ((limit.burst - bucket.tokens) / limit.perSecond) * 1000;
    this.#buckets.set(key, bucket);
    while (this.#buckets.size > this.#maxBuckets) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    return wait;
  }

  /**
   * Like {@link take}, but throws 429 M_LIMIT_EXCEEDED when the bucket is empty.
   *
   * @throws {MatrixError} M_LIMIT_EXCEEDED
   */
  check(action: string, caller: string): void {
    const wait = this.take(action, caller);
    if (wait > 0) throw limitExceeded(wait);
  }

  /** Drops every bucket that is full again: it holds nothing a new bucket would not. */
  #sweep(now: number): void {
    this.#lastSweepMs = now;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.fullAtMs <= now) this.#buckets.delete(key);
    }
  }
}
