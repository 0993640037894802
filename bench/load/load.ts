/**
 * The load generator's building blocks: a closed loop of concurrent clients (each sends its
 * next request when the previous one answered, so concurrency is bounded and fixed), a bounded
 * parallel map for setup work, and latency statistics. Requests go through `fetch`, which keeps
 * HTTP/1.1 connections alive between requests.
 *
 * @module
 */

/** Latency summary, milliseconds. */
export interface LatencyStats {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** The q-quantile (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Summarises latencies (ms). */
export function latencyStats(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((n, v) => n + v, 0);
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sorted.length ? sum / sorted.length : NaN,
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight; keeps the order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Options of {@link closedLoop}. */
export interface ClosedLoopOptions {
  /** Clients in the loop; each has one request in flight at a time. */
  concurrency: number;
  /** How long to measure. */
  durationMs: number;
  /** Time before measuring during which requests run but are not counted. */
  warmupMs?: number;
  /** One request of client `client` (its `seq`-th); throws on failure. */
  request: (client: number, seq: number) => Promise<void>;
}

/** What a closed loop measured. */
export interface ClosedLoopResult {
  /** Requests completed inside the measured window. */
  completed: number;
  seconds: number;
  perSecond: number;
  latency: LatencyStats;
  errors: number;
  firstError?: string;
}

/** Drives `concurrency` clients in a closed loop for the warm-up plus the measured window. */
export async function closedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const warmup = options.warmupMs ?? 0;
  const start = performance.now();
  const measureFrom = start + warmup;
  const end = measureFrom + options.durationMs;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const client = async (id: number) => {
    for (let seq = 0; performance.now() < end; seq++) {
      const t0 = performance.now();
      try {
        await options.request(id, seq);
      } catch (err) {
        errors++;
        firstError ??= String(err);
        if (errors > 100 + latencies.length) throw new Error(`load failed: ${firstError}`);
        continue;
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => client(i)));
  const seconds = options.durationMs / 1000;
  return {
    completed: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    latency: latencyStats(latencies),
    errors,
    firstError,
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
