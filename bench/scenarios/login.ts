/**
 * login: `count` password logins (`POST /login`, each a new device) spread over the pool,
 * `concurrency` at a time, with the server's password hash at its secure default cost.
 *
 * The ceiling is the same number of raw scrypt hashes at gemeng's default cost
 * (`DEFAULT_SCRYPT_COST`) and the same concurrency, in this process: a login cannot be faster
 * than the one hash it must compute. (Against another server the hash may differ.)
 *
 * @module
 */

import { DEFAULT_SCRYPT_COST, hashPassword } from "../../crypto/password.ts";
import { type LatencyStats, latencyStats, mapBounded } from "../load/load.ts";
import { type BenchAccount, login } from "../load/matrix_client.ts";
import { type ScenarioTarget, withPeakMemory } from "./setup.ts";

/** Sizes of the login scenario. */
export interface LoginSizes {
  count: number;
  concurrency: number;
}

/** What the login scenario measured. */
export interface LoginResult {
  perSecond: number;
  latency: LatencyStats;
  /** Raw scrypt hashes per second at the same concurrency. */
  rawHashesPerSecond: number;
  peakBytes: number | null;
}

/** Runs `count` logins with `concurrency` in flight; returns per-second and latencies. */
async function timed(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  const started = performance.now();
  await mapBounded(Array.from({ length: count }, (_, i) => i), concurrency, async (i) => {
    const t0 = performance.now();
    await fn(i);
    latencies.push(performance.now() - t0);
  });
  return { perSecond: count / ((performance.now() - started) / 1000), latencies };
}

/** Runs the login scenario over the accounts of `pool`. */
export async function runLogin(
  target: ScenarioTarget,
  pool: readonly BenchAccount[],
  sizes: LoginSizes,
): Promise<LoginResult> {
  const { result, peakBytes } = await withPeakMemory(
    target,
    () =>
      timed(sizes.count, sizes.concurrency, async (i) => {
        const account = pool[i % pool.length];
        const session = await login(target.baseUrl, account.localpart, account.password);
        if (!session.accessToken) throw new Error("login: no access token");
      }),
  );
  const raw = await timed(sizes.count, sizes.concurrency, async (i) => {
    await hashPassword(`bench-password-${i}`, { cost: DEFAULT_SCRYPT_COST });
  });
  return {
    perSecond: result.perSecond,
    latency: latencyStats(result.latencies),
    rawHashesPerSecond: raw.perSecond,
    peakBytes,
  };
}
