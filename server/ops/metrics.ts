/**
 * Prometheus metrics of one server: counters and histograms updated in place (a map lookup
 * and a few additions per request or commit), and gauges read only when `/metrics` is
 * scraped. Labels are bounded: routes are the route patterns, never raw paths.
 *
 * @module
 */

import type { RequestRecord } from "./log.ts";

/** Request latency buckets, seconds (a long-poll sync lands in the last ones). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** KV commit latency buckets, seconds. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Per-bucket counts; made cumulative when printed.
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  lines(name: string, labels: string): string[] {
    const out: string[] = [];
    let cumulative = 0;
    const sep = labels === "" ? "" : ",";
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i];
      out.push(`${name}_bucket{${labels}${sep}le="${this.buckets[i]}"} ${cumulative}`);
    }
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    out.push(`${name}_sum${labels === "" ? "" : `{${labels}}`} ${this.sum}`);
    out.push(`${name}_count${labels === "" ? "" : `{${labels}}`} ${this.count}`);
    return out;
  }
}

function label(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** A gauge read at scrape time. */
export interface GaugeSource {
  name: string;
  help: string;
  /** One value, or values by a label (`labelName`). */
  read(): Promise<number | Map<string, number>> | number | Map<string, number>;
  labelName?: string;
}

/** Methods counted by name; any other (clients may send any token) counts as `OTHER`. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]);

/** The counters and histograms of one server, and the gauges it reads when scraped. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #commits = new Histogram(COMMIT_BUCKETS);
  readonly #gauges: GaugeSource[] = [];

  /** Counts a served request. */
  observeRequest(record: RequestRecord): void {
    // Labels come from a bounded set only: a series per made-up method would grow without end.
    const method = KNOWN_METHODS.has(record.method) ? record.method : "OTHER";
    const route = `route="${label(record.route)}",method="${method}"`;
    const key = `${route},status="${record.status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let histogram = this.#latency.get(route);
    if (!histogram) this.#latency.set(route, histogram = new Histogram(REQUEST_BUCKETS));
    histogram.observe(record.seconds);
  }

  /** Times a KV atomic commit. */
  observeCommit(seconds: number): void {
    this.#commits.observe(seconds);
  }

  /** Adds a gauge read at every scrape. */
  addGauge(gauge: GaugeSource): void {
    this.#gauges.push(gauge);
  }

  /** The Prometheus text exposition (format 0.0.4). */
  async render(): Promise<string> {
    const out: string[] = [
      "# HELP gemeng_http_requests_total Requests served, by route pattern, method and status.",
      "# TYPE gemeng_http_requests_total counter",
    ];
    for (const [labels, n] of this.#requests) {
      out.push(`gemeng_http_requests_total{${labels}} ${n}`);
    }
    out.push(
      "# HELP gemeng_http_request_duration_seconds Time to answer, by route pattern and method.",
      "# TYPE gemeng_http_request_duration_seconds histogram",
    );
    for (const [labels, histogram] of this.#latency) {
      out.push(...histogram.lines("gemeng_http_request_duration_seconds", labels));
    }
    out.push(
      "# HELP gemeng_kv_commit_duration_seconds Time of Deno KV atomic commits.",
      "# TYPE gemeng_kv_commit_duration_seconds histogram",
      ...this.#commits.lines("gemeng_kv_commit_duration_seconds", ""),
    );
    for (const gauge of this.#gauges) {
      let value: number | Map<string, number>;
      try {
        value = await gauge.read();
      } catch {
        continue;
      }
      out.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
      if (typeof value === "number") {
        out.push(`${gauge.name} ${value}`);
      } else {
        for (const [key, n] of value) {
          out.push(`${gauge.name}{${gauge.labelName ?? "key"}="${label(key)}"} ${n}`);
        }
      }
    }
    return out.join("\n") + "\n";
  }
}

/**
 * Times every atomic commit made through `kv` (this handle only; the caller's other handles
 * are untouched).
 */
export function timeKvCommits(kv: Deno.Kv, metrics: Metrics): void {
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    const commit = op.commit.bind(op);
    op.commit = async () => {
      const start = performance.now();
      try {
        return await commit();
      } finally {
        metrics.observeCommit((performance.now() - start) / 1000);
      }
    };
    return op;
  };
}
