/**
 * Token-bucket rate limiting, in memory and per server instance. Buckets are keyed by action
 * and caller (client address, plus user where known); a refused request gets 429
 * M_LIMIT_EXCEEDED with `retry_after_ms` and `Retry-After`.
 *
 * @module
 */

import type { RateLimitConfig } from "./config.ts";
import { limitExceeded } from "./errors.ts";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Buckets kept before idle (full) ones are dropped. */
const PRUNE_THRESHOLD = 10_000;

/** A set of token buckets for named actions. */
export class RateLimiter {
  readonly #limits: Readonly<Record<string, RateLimitConfig>>;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  /**
   * @param limits bucket parameters per action name (e.g. `login`, `register`, `send`)
   * @param options a clock for tests
   */
  constructor(
    limits: Readonly<Record<string, RateLimitConfig>>,
    options: { now?: () => number } = {},
  ) {
    this.#limits = limits;
    this.#now = options.now ?? Date.now;
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
    const key = `${action}\u0000${caller}`;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= PRUNE_THRESHOLD) this.#prune(now);
      bucket = { tokens: limit.burst, updatedMs: now };
      this.#buckets.set(key, bucket);
    } else {
      const refill = ((now - bucket.updatedMs) / 1000) * limit.perSecond;
      bucket.tokens = Math.min(limit.burst, bucket.tokens + refill);
      bucket.updatedMs = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    if (limit.perSecond <= 0) return 60_000;
    return Math.ceil(((1 - bucket.tokens) / limit.perSecond) * 1000);
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

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      const action = key.slice(0, key.indexOf("\u0000"));
      const limit = this.#limits[action];
      const tokens = bucket.tokens + ((now - bucket.updatedMs) / 1000) * (limit?.perSecond ?? 0);
      if (!limit || tokens >= limit.burst) this.#buckets.delete(key);
    }
  }
}
