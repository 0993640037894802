import { assert, assertEquals } from "./assert.ts";
import { MAX_BUCKETS, RateLimiter, SWEEP_INTERVAL_MS } from "../../server/rate_limit.ts";

const LIMITS = { login: { perSecond: 1, burst: 3 }, frozen: { perSecond: 0, burst: 1 } };

Deno.test("rate limit: a burst, then refusal with the wait, then refill", () => {
  let now = 1_000_000;
  const limiter = new RateLimiter(LIMITS, { now: () => now });
  for (let i = 0; i < 3; i++) assertEquals(limiter.take("login", "1.2.3.4"), 0);
  assertEquals(limiter.take("login", "1.2.3.4"), 1000);
  assertEquals(limiter.take("login", "5.6.7.8"), 0, "another caller has its own bucket");
  now += 1000;
  assertEquals(limiter.take("login", "1.2.3.4"), 0);
  assertEquals(limiter.take("frozen", "x"), 0);
  assertEquals(limiter.take("frozen", "x"), 60_000, "a limit that never refills");
});

Deno.test("rate limit: buckets of many addresses stay bounded, the newest kept", () => {
  const now = 1_000_000; // no time passes: no bucket ever refills
  const limiter = new RateLimiter(LIMITS, { now: () => now });
  const started = performance.now();
  for (let i = 0; i < MAX_BUCKETS * 3; i++) {
    limiter.take("login", `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  }
  const ms = performance.now() - started;
  assertEquals(limiter.size, MAX_BUCKETS);
  // Linear, not a scan of every bucket per new caller (the old prune was quadratic: minutes).
  // Generous, since CI runs test files side by side on two cores.
  assert(ms < 30_000, `${MAX_BUCKETS * 3} callers took ${ms.toFixed(0)} ms`);
});

Deno.test("rate limit: the least recently used bucket goes first, an active caller keeps its state", () => {
  const now = 1_000_000;
  const limiter = new RateLimiter(LIMITS, { now: () => now, maxBuckets: 3 });
  for (let i = 0; i < 3; i++) limiter.take("login", "active");
  limiter.take("login", "a");
  limiter.take("login", "b");
  limiter.take("login", "active"); // refused, and now the most recently used
  limiter.take("login", "c"); // evicts "a"
  assertEquals(limiter.size, 3);
  assert(limiter.take("login", "active") > 0, "the active caller's empty bucket survived");
});

Deno.test("rate limit: idle buckets are swept once they are full again", () => {
  let now = 1_000_000;
  const limiter = new RateLimiter(LIMITS, { now: () => now });
  for (let i = 0; i < 1000; i++) limiter.take("login", `caller-${i}`);
  limiter.take("frozen", "held"); // empty and never refills: must be kept
  assertEquals(limiter.size, 1001);
  now += SWEEP_INTERVAL_MS; // every login bucket refilled long ago
  limiter.take("login", "late");
  assertEquals(limiter.size, 2, "only the frozen bucket and the new one remain");
  assertEquals(limiter.take("frozen", "held"), 60_000);
});
