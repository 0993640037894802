/**
 * One fuzz run: start the server in a subprocess, set up the fixture, probe the routes, send
 * seeded requests from several workers for a bounded time, then let the server settle and
 * measure what memory it kept. The result lists every failure (grouped by root cause), the
 * request rate and the server's RSS before, at the peak of, and after the load.
 *
 * @module
 */

import { loadRoutes } from "./routes.ts";
import { startFuzzServer } from "./server_process.ts";
import { Harness, type RunStats } from "./harness.ts";
import { repairFixture, setUp } from "./fixture.ts";
import { startPreviewSite } from "./preview_site.ts";
import { probeRoutes } from "./probe.ts";
import { authorizationFor, type GenContext, generateRequest } from "./requests.ts";
import type { Failure } from "./check.ts";
import { groupFailures, writeReport } from "./report.ts";

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  seed: number;
  /** Time the load runs, in milliseconds. */
  durationMs: number;
  /** Stop after this many fuzzed requests (default: no limit). */
  maxRequests?: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** At most this many requests per second (default: as fast as the server answers). */
  rate?: number;
  /** A request without an answer after this long is a hung request (default 10 s). */
  deadlineMs?: number;
  /** Wait after the load before the "after" memory sample (default 5 s). */
  settleMs?: number;
  /**
   * Fuzz only the routes whose `METHOD path` matches (request numbers then differ from a full
   * run of the same seed).
   */
  routes?: RegExp;
  /** Send only these request numbers (rebuilding a reported failure). */
  only?: number[];
  /** Where failures.jsonl, findings.md and large bodies go (default: a temp directory). */
  outDir?: string;
  /** Echo the server's stderr. */
  verbose?: boolean;
  /** Extra `deno run` flags for the server, e.g. `--inspect=127.0.0.1:9229`. */
  denoFlags?: string[];
  /** Run the server from another checkout (see {@link startFuzzServer}). */
  serverDir?: string;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

/** Memory of the server over the run, in bytes. */
export interface MemoryReport {
  /** After setup and probe, before the load. */
  before: number;
  /** Highest RSS sampled during the load, and the kernel's peak (VmHWM). */
  peak: number;
  hwm: number;
  /** After the load ended and the server sat idle for `settleMs`. */
  after: number;
  /** RSS every 5 s while the server idled after the load. */
  settling: number[];
  /** Server CPU seconds spent during the load. */
  loadCpuSeconds: number;
}

/** The outcome of a run. */
export interface FuzzResult {
  seed: number;
  baseUrl: string;
  outDir: string;
  routes: number;
  fuzzRequests: number;
  loadMs: number;
  stats: RunStats;
  /** Routes that never answered 2xx (the fuzz does not get deep there). */
  neverSucceeded: string[];
  failures: Failure[];
  memory: MemoryReport;
}

const MAX_REQUEST_BODY = 1_048_576; // the config's default, which the fuzz config keeps

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Ties each 500 to the server's "internal error:" report logged while it was in flight. */
function attributeStderr(h: Harness): void {
  const blocks = h.server.stderr.filter((b) => b.internal);
  const fives = h.failures.filter((f) => f.kind === "5xx").sort((a, b) =>
    a.request.endedAt - b.request.endedAt
  );
  for (const failure of fives) {
    const block = blocks.find((b) =>
      !b.claimed && b.at >= failure.request.startedAt - 5 && b.at <= failure.request.endedAt + 1000
    );
    if (block) {
      block.claimed = true;
      failure.stack = block.text;
    }
  }
  // Internal errors no answer showed (background work) and crashes are findings too.
  for (const block of h.server.stderr) {
    const loud = block.internal || /uncaught|panic|error:/i.test(block.text);
    if (block.claimed || !loud) continue;
    h.failures.push({
      kind: "5xx",
      request: {
        index: null,
        phase: "fuzz",
        routeKey: "(no request: logged by the server)",
        method: "-",
        target: "-",
        headers: {},
        body: null,
        notes: [],
        startedAt: block.at,
        endedAt: block.at,
      },
      status: null,
      errcode: null,
      error: block.text.split("\n")[0],
      stack: block.text,
    });
  }
}

/** One request in {@link BURST_EVERY} that writes is sent this many times at once. */
const BURST_COPIES = 24;
const BURST_EVERY = 40;

/** How many identical copies of request `index` go out together. */
function burstCopies(index: number, method: string, endsSessions: boolean): number {
  if (method === "GET" || method === "HEAD" || endsSessions) return 1;
  return index % BURST_EVERY === 7 ? BURST_COPIES : 1;
}

/** Runs the fuzzer once. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const routes = (await loadRoutes()).filter((r) => !options.routes || options.routes.test(r.key));
  if (routes.length === 0) throw new Error(`no route matches ${options.routes}`);
  const site = startPreviewSite();
  const sharedSecret = crypto.randomUUID();
  const server = await startFuzzServer({
    sharedSecret,
    verbose: options.verbose,
    denoFlags: options.denoFlags,
    serverDir: options.serverDir,
    extraToml: [
      "[media]",
      "legacy_unauthenticated = true", // more routes to fuzz
      "[media.url_preview]",
      "enabled = true",
      'allowed_ranges = ["127.0.0.1/32"]',
      "timeout_ms = 3000",
    ].join("\n"),
  });
  const outDir = options.outDir ??
    await Deno.makeTempDir({ prefix: `gemeng-fuzz-${options.seed}-` });
  const h = new Harness(server, routes, {
    maxBody: MAX_REQUEST_BODY,
    deadlineMs: options.deadlineMs ?? 10_000,
  });
  try {
    const t0 = performance.now();
    const fixture = await setUp(h, {
      sharedSecret,
      previewBase: `http://127.0.0.1:${site.addr.port}`,
    });
    await probeRoutes(h);
    log(
      `fuzz: seed ${options.seed}, ${routes.length} routes; setup and probe took ${
        Math.round(performance.now() - t0)
      } ms (${h.stats.requests} requests, ${h.learned.size} routes with learned fields, ${h.tokenKillers.size} that end sessions)`,
    );

    const beforeSample = await server.memory();
    const before = beforeSample.rss;
    let loadCpuSeconds = 0;
    let peak = before;
    const ctx: GenContext = {
      seed: options.seed,
      routes,
      plausible: h.plausible,
      corpus: h.corpus,
      learned: h.learned,
      maxBody: MAX_REQUEST_BODY,
      tokenKillers: h.tokenKillers,
      adminTarget: h.adminTarget,
    };
    const start = performance.now();
    const end = start + options.durationMs;
    const limit = options.only?.length ?? options.maxRequests ?? Infinity;
    let next = 0;
    let sent = 0;
    let stopping = false;
    const sampler = setInterval(async () => {
      if (server.exited) return;
      try {
        peak = Math.max(peak, (await server.memory()).rss);
      } catch { /* exited */ }
    }, 250);
    let repairing: Promise<void> = Promise.resolve();
    const repairer = setInterval(() => {
      repairing = repairing.then(() => repairFixture(h, fixture)).catch(() => {});
    }, 5000);
    const worker = async () => {
      while (!stopping && next < limit && performance.now() < end) {
        const slot = next++;
        const index = options.only ? options.only[slot] : slot;
        if (options.rate) {
          const due = start + (slot / options.rate) * 1000;
          if (due > performance.now()) await sleep(due - performance.now());
        }
        const request = generateRequest(ctx, index);
        const tokens = { user: h.users.user!.token, admin: h.users.admin!.token };
        const authorization = authorizationFor(request, tokens);
        const headers = { ...request.headers };
        if (authorization !== null) headers["Authorization"] = authorization;
        // Some writes go out as a burst of identical copies at once: many writers of one record
        // (optimistic retries running out) are a class of their own. Decided by the request
        // number, so `--only N` replays the burst too.
        const copies = burstCopies(index, request.method, ctx.tokenKillers.has(request.route.key));
        const notes = copies > 1
          ? [...request.notes, `sent as a burst of ${copies} identical requests`]
          : request.notes;
        const answers = await Promise.all(Array.from({ length: copies }, () =>
          h.send({
            index,
            phase: "fuzz",
            routeKey: request.route.key,
            method: request.method,
            target: request.target,
            headers,
            body: request.body,
            notes,
          })));
        const answer = answers[0];
        sent += copies;
        if (server.exited) stopping = true;
        if (answer?.status === 401 && (request.role === "user" || request.role === "admin")) {
          const current = request.role === "user" ? h.users.user!.token : h.users.admin!.token;
          if (current === tokens[request.role]) {
            const body = new TextDecoder().decode(answer.body);
            if (body.includes("M_UNKNOWN_TOKEN")) await h.relogin(request.role);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const loadMs = performance.now() - start;
    clearInterval(repairer);
    clearInterval(sampler);
    await repairing;

    let after = 0;
    let hwm = 0;
    const settling: number[] = [];
    if (!server.exited) {
      const ended = await server.memory();
      peak = Math.max(peak, ended.rss);
      loadCpuSeconds = ended.cpuSeconds - beforeSample.cpuSeconds;
      log(`fuzz: load done; the server idles ${(options.settleMs ?? 5000) / 1000} s`);
      // RSS every 5 s while the server idles: how fast memory comes back, not just where.
      const settleEnd = performance.now() + (options.settleMs ?? 5000);
      while (performance.now() < settleEnd) {
        await sleep(Math.min(5000, settleEnd - performance.now()));
        if (server.exited) break;
        settling.push((await server.memory()).rss);
      }
      const sample = await server.memory();
      after = sample.rss;
      hwm = sample.hwm;
    } else {
      h.failures.push({
        kind: "server-died",
        request: h.failures.at(-1)?.request ?? {
          index: null,
          phase: "fuzz",
          routeKey: "-",
          method: "-",
          target: "-",
          headers: {},
          body: null,
          notes: [],
          startedAt: 0,
          endedAt: 0,
        },
        status: null,
        errcode: null,
        error: `exit ${JSON.stringify(server.exited)}`,
        stack: server.stderr.slice(-20).map((b) => b.text).join("\n"),
      });
    }
    await server.stop();
    attributeStderr(h);
    if (h.failures.length > 0 || options.outDir) {
      await writeReport({ seed: options.seed, baseUrl: h.baseUrl, outDir }, h.failures);
    } else {
      await Deno.remove(outDir, { recursive: true }); // nothing to report
    }
    return {
      seed: options.seed,
      baseUrl: h.baseUrl,
      outDir,
      routes: routes.length,
      fuzzRequests: sent,
      loadMs,
      stats: h.stats,
      neverSucceeded: routes.map((r) => r.key).filter((k) => !h.stats.succeeded.has(k)),
      failures: h.failures,
      memory: { before, peak, hwm, after, settling, loadCpuSeconds },
    };
  } finally {
    await server.stop();
    await site.shutdown();
  }
}

const MB = 1024 * 1024;

/** The run's summary, as lines for a person. */
export function summaryLines(result: FuzzResult): string[] {
  const statuses = [...result.stats.byStatus.entries()].sort((a, b) => a[0] - b[0])
    .map(([status, n]) => `${status}:${n}`).join(" ");
  const m = result.memory;
  const lines = [
    `fuzz: seed ${result.seed}: ${result.fuzzRequests} requests in ${
      (result.loadMs / 1000).toFixed(1)
    } s ` +
    `(${
      Math.round(result.fuzzRequests / (result.loadMs / 1000))
    }/s), ${result.stats.requests} in all`,
    `fuzz: statuses ${statuses}; ${result.stats.transportRefusals} refused by the HTTP layer; ` +
    `${result.stats.relogins} re-logins`,
    `fuzz: ${result.stats.succeeded.size} of ${result.routes} routes answered 2xx at least once` +
    (result.neverSucceeded.length ? ` (never: ${result.neverSucceeded.join(", ")})` : ""),
    `fuzz: server RSS before ${(m.before / MB).toFixed(0)} MB, peak ${
      (m.peak / MB).toFixed(0)
    } MB ` +
    `(VmHWM ${(m.hwm / MB).toFixed(0)} MB), after ${(m.after / MB).toFixed(0)} MB; ` +
    `server CPU ${m.loadCpuSeconds.toFixed(1)} s during the load`,
    ...(m.settling.length > 1
      ? [
        `fuzz: RSS while idle, every 5 s: ${
          m.settling.map((b) => (b / MB).toFixed(0)).join(" ")
        } MB`,
      ]
      : []),
  ];
  const groups = groupFailures(result.failures);
  lines.push(
    `fuzz: ${result.failures.length} failures, ${groups.length} root causes` +
      (result.failures.length ? ` (report: ${result.outDir}/findings.md)` : ""),
  );
  for (const [signature, group] of groups) {
    const routes = new Set(group.map((f) => f.request.routeKey));
    lines.push(`  - ${group.length}x on ${routes.size} route(s): ${signature}`);
  }
  return lines;
}
