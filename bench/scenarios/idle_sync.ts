/**
 * incremental sync cost: `clients` accounts each hold a long-polling `/sync` (timeout
 * `timeoutMs`) while nothing happens. Over a window of `windowMs` the server's CPU time
 * (utime + stime from `/proc/<pid>/stat`) is divided by the long-poll cycles that completed in
 * it, and expressed as a share of one core. Needs the server process (not with `--target`).
 *
 * The ceiling is the raw `Deno.serve` process holding as many long-polls on `/poll` with the
 * same timeout, measured over the same window at the same time (both sides are idle, so they
 * hardly compete for the CPU).
 *
 * @module
 */

import { mapBounded, sleep } from "../load/load.ts";
import { type BenchAccount, call, type Json, sync } from "../load/matrix_client.ts";
import type { ServerProcess } from "../load/processes.ts";
import { type ScenarioTarget, SETUP_CONCURRENCY } from "./setup.ts";

/** Sizes of the idle long-poll scenario. */
export interface IdleSizes {
  clients: number;
  /** The `timeout` of each long-poll. */
  timeoutMs: number;
  /** The measured window. */
  windowMs: number;
}

/** One side's idle cost. */
export interface IdleCost {
  /** Long-poll cycles completed in the window. */
  cycles: number;
  /** CPU seconds the server process used in the window. */
  cpuSeconds: number;
  /** CPU milliseconds per cycle. */
  cpuMsPerCycle: number;
  /** Share of one core in the window (0..1). */
  coreShare: number;
}

/** What the idle scenario measured. */
export interface IdleResult {
  gemeng: IdleCost;
  raw: IdleCost;
  peakBytes: number;
}

const FILTER: Json = { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } };

interface Loops {
  /** Completed long-polls per client so far, summed. */
  completedSince(t: number): number;
  stop(): Promise<void>;
}

/** Runs `count` long-poll loops; `poll(i, signal)` is one long-poll of client i. */
function startLoops(count: number, poll: (i: number, signal: AbortSignal) => Promise<void>): Loops {
  const controller = new AbortController();
  const ends: number[] = [];
  let failure: unknown;
  const loops = Array.from({ length: count }, async (_, i) => {
    while (!controller.signal.aborted) {
      try {
        await poll(i, controller.signal);
        ends.push(performance.now());
      } catch (err) {
        if (controller.signal.aborted) return;
        failure ??= err;
        await sleep(100);
      }
    }
  });
  return {
    completedSince(t) {
      if (failure) throw failure;
      let n = 0;
      for (let i = ends.length - 1; i >= 0 && ends[i] >= t; i--) n++;
      return n;
    },
    async stop() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}

function cost(cycles: number, cpuSeconds: number, windowMs: number): IdleCost {
  return {
    cycles,
    cpuSeconds,
    cpuMsPerCycle: cycles > 0 ? (cpuSeconds * 1000) / cycles : NaN,
    coreShare: cpuSeconds / (windowMs / 1000),
  };
}

/** Runs the idle long-poll scenario with the first `sizes.clients` accounts of `pool`. */
export async function runIdleSync(
  target: ScenarioTarget & { process: ServerProcess },
  pool: readonly BenchAccount[],
  sizes: IdleSizes,
): Promise<IdleResult> {
  const clients = pool.slice(0, sizes.clients);
  if (clients.length < sizes.clients) throw new Error("idle sync: pool too small");
  const tokens = await mapBounded(clients, SETUP_CONCURRENCY, async (c) => {
    const body = await sync(target.baseUrl, c.accessToken, { filter: FILTER });
    return body.next_batch as string;
  });
  target.log(`idle sync: ${clients.length} clients synced; long-polling`);

  const since = [...tokens];
  const gemeng = startLoops(clients.length, async (i, signal) => {
    const body = await sync(target.baseUrl, clients[i].accessToken, {
      since: since[i],
      filter: FILTER,
      timeoutMs: sizes.timeoutMs,
      signal,
    });
    since[i] = body.next_batch;
  });
  const rawStart = (await call(target.raw.baseUrl, "GET", "/poll?since=-1&timeout=0")).next;
  const raw = startLoops(clients.length, async (_, signal) => {
    await call(
      target.raw.baseUrl,
      "GET",
      `/poll?since=${rawStart}&timeout=${sizes.timeoutMs}`,
      { signal },
    );
  });
  try {
    // One full cycle first: every client is then in its steady rhythm.
    await sleep(sizes.timeoutMs + 200);
    await target.process.resetPeak();
    const t0 = performance.now();
    const [g0, r0] = await Promise.all([target.process.sample(), target.raw.sample()]);
    await sleep(sizes.windowMs);
    const [g1, r1] = await Promise.all([target.process.sample(), target.raw.sample()]);
    const windowMs = performance.now() - t0;
    return {
      gemeng: cost(gemeng.completedSince(t0), g1.cpuSeconds - g0.cpuSeconds, windowMs),
      raw: cost(raw.completedSince(t0), r1.cpuSeconds - r0.cpuSeconds, windowMs),
      peakBytes: g1.peakBytes,
    };
  } finally {
    await Promise.all([gemeng.stop(), raw.stop()]);
  }
}
