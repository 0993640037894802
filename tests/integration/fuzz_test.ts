/**
 * The server's own fuzz test (issue 11): seeded requests derived from the route table, against
 * a real server subprocess, for a bounded time. Fails on any 5xx, a 4xx without errcode, a hung
 * request or the server dying; the failure message holds a curl command per root cause.
 * `deno task fuzz` is the longer mode (tests/fuzz/main.ts).
 *
 * @module
 */

import { assert } from "../unit/assert.ts";
import { runFuzz, summaryLines } from "../fuzz/runner.ts";
import { markdownReport } from "../fuzz/report.ts";

/**
 * The seed. In CI it is fixed, so a red build points at the change that broke something and not
 * at the luck of the draw (a fixed seed still covers every route: the route table decides what is
 * fuzzed); anywhere else each run draws a new one, so local runs and `deno task fuzz` keep
 * exploring. Either way it is printed, and FUZZ_SEED replays one.
 */
function chooseSeed(): number {
  const given = Deno.env.get("FUZZ_SEED");
  if (given !== undefined) return Number(given) >>> 0;
  if (Deno.env.get("CI")) return 20_260_611;
  return Math.floor(Math.random() * 2 ** 31);
}

/** Seconds of load: under a minute in all with setup, on two shared cores. */
const DURATION_S = Number(Deno.env.get("FUZZ_DURATION") ?? 30);

/**
 * Requests per second at most: the suite runs its files in parallel on two cores, so the fuzz
 * takes about half a core of server time instead of all it could (`deno task fuzz` does not cap).
 */
const RATE = Number(Deno.env.get("FUZZ_RATE") ?? 400);

Deno.test("fuzz: no 5xx, no 4xx without errcode, no hung request, no crash", async () => {
  const seed = chooseSeed();
  console.log(`fuzz: seed ${seed} (replay: FUZZ_SEED=${seed}, or deno task fuzz --seed ${seed})`);
  const result = await runFuzz({
    seed,
    durationMs: DURATION_S * 1000,
    concurrency: 4,
    rate: RATE,
    // Long enough for the server's idle memory trim (10 s without requests) to have run.
    settleMs: 16_000,
  });
  for (const line of summaryLines(result)) console.log(line);
  if (result.failures.length > 0) {
    const report = markdownReport(
      { seed, baseUrl: result.baseUrl, outDir: result.outDir },
      result.failures,
    );
    throw new Error(
      `${result.failures.length} failing requests (seed ${seed}); full report in ` +
        `${result.outDir}/findings.md\n\n${report.slice(0, 20_000)}`,
    );
  }
  // A harness that only ever got 401s would pass without testing anything: the fixture and
  // the probe must let most routes answer 2xx at least once.
  assert(
    result.stats.succeeded.size >= result.routes * 0.6,
    `only ${result.stats.succeeded.size} of ${result.routes} routes ever answered 2xx`,
  );
  assert(result.fuzzRequests >= 500, `only ${result.fuzzRequests} requests were sent`);
  // Once the load is over, resident memory comes back to within 50 MB of where it started
  // (bounded caches, and freed native memory handed back by server/memory_trim.ts).
  const grownMb = (result.memory.after - result.memory.before) / 2 ** 20;
  assert(grownMb <= 50, `RSS stayed ${grownMb.toFixed(0)} MB above its size before the load`);
});
