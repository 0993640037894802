/**
 * The client-load section (`--only server`): what users feel, over the standard Client-Server
 * API, against a gemeng process this bench starts on a fresh data directory (or, with
 * `--target URL --shared-secret S`, any homeserver). Every figure stands beside a ceiling
 * measured in the same run: a raw `Deno.serve` process driven by the same load generator, raw
 * KV commits, raw scrypt hashes. The load generator is this process; the servers are
 * subprocesses, so their CPU time and memory (from `/proc`) are theirs alone.
 *
 * Order: register a pool of accounts once (shared-secret registration, in parallel), then
 * login, send, fan-out, initial sync and idle long-polls, then memory at rest. One server
 * serves the whole section, so later scenarios run on a database that holds the earlier ones'
 * rooms, as a real server would.
 *
 * @module
 */

import type { KvCeilings } from "./ceilings.ts";
import type { BenchRow } from "./report.ts";
import {
  sampleMachine,
  sampleProcess,
  type ServerProcess,
  startGemeng,
  startRawServer,
} from "./load/processes.ts";
import { sleep } from "./load/load.ts";
import { call } from "./load/matrix_client.ts";
import { registerPool, type ScenarioTarget, withPeakMemory } from "./scenarios/setup.ts";
import { type LoginResult, type LoginSizes, runLogin } from "./scenarios/login.ts";
import { runSend, type SendResult, type SendSizes } from "./scenarios/send.ts";
import { type FanoutResult, type FanoutSizes, runFanout } from "./scenarios/fanout.ts";
import {
  type InitialSyncResult,
  type InitialSyncSizes,
  runInitialSync,
} from "./scenarios/initial_sync.ts";
import { type IdleResult, type IdleSizes, runIdleSync } from "./scenarios/idle_sync.ts";

/** Sizes of every scenario of the section. */
export interface ServerBenchSizes {
  login: LoginSizes;
  send: SendSizes;
  fanout: FanoutSizes;
  initialSync: InitialSyncSizes;
  idle: IdleSizes;
}

/** The sizes (issue 4). */
export const FULL_SIZES: ServerBenchSizes = {
  login: { count: 48, concurrency: 4 },
  send: { clients: 50, rooms: 10, warmupMs: 3000, durationMs: 15_000 },
  fanout: { members: 500, messages: 200, rate: 10 },
  initialSync: { rooms: 300, members: 50, repeats: 3 },
  idle: { clients: 1000, timeoutMs: 30_000, windowMs: 60_000 },
};

/** `--quick`: the same shapes, small enough for well under two minutes. */
export const QUICK_SIZES: ServerBenchSizes = {
  login: { count: 8, concurrency: 4 },
  send: { clients: 20, rooms: 4, warmupMs: 1000, durationMs: 4000 },
  fanout: { members: 50, messages: 40, rate: 20 },
  initialSync: { rooms: 30, members: 20, repeats: 2 },
  idle: { clients: 100, timeoutMs: 3000, windowMs: 6000 },
};

/** A few seconds' worth, for the test that proves the section runs. */
export const TINY_SIZES: ServerBenchSizes = {
  login: { count: 2, concurrency: 2 },
  send: { clients: 4, rooms: 2, warmupMs: 100, durationMs: 700 },
  fanout: { members: 4, messages: 4, rate: 20 },
  initialSync: { rooms: 3, members: 3, repeats: 1 },
  idle: { clients: 4, timeoutMs: 300, windowMs: 700 },
};

/** The section's targets (issue 4), quoted in the notes. */
export const TARGETS = {
  sendPerSecond: 2000,
  sendKvShare: 0.4,
  /** Issue 18: at most 100 ms; the goal is 50 ms. */
  fanoutP99Ms: 100,
  fanoutGoalMs: 50,
  initialSyncTimeline1Ms: 1000,
  initialSyncTimeline20Ms: 3000,
  idleCoreShare: 0.05,
  idleMemoryMB: 80,
  peakMemoryMB: 200,
  /** Resident memory after a scenario ends: at most this much above idle (issue 18). */
  backToIdleMB: 50,
} as const;

/** "met" or "not met", for the notes of figures with a target. */
export function targetMark(met: boolean): string {
  return met ? "met" : "NOT met";
}

/** How long after a scenario its "resident after" memory figure is taken. */
export const SETTLE_MS = { quick: 5000, full: 10_000 } as const;

/** Options of {@link runServerBench}. */
export interface ServerBenchOptions {
  quick: boolean;
  kv: KvCeilings;
  /** Drive this homeserver instead of starting gemeng (server CPU and memory are omitted). */
  target?: string;
  /** The target's registration shared secret (required with `target`). */
  sharedSecret?: string;
  /** Sizes overriding `quick`. */
  sizes?: ServerBenchSizes;
  /** Extra `deno run` flags for the gemeng process, e.g. `--cpu-prof`. */
  serverDenoFlags?: string[];
  /** Show the gemeng process's own output. */
  verbose?: boolean;
  /** Progress output (default: console.log). */
  log?: (line: string) => void;
  /** Run only these scenarios (login, send, fanout, initial-sync, idle); default all. */
  scenarios?: Set<string>;
  /** Cap on the account pool: fan-out members and idle clients shrink to fit. */
  accounts?: number;
  /**
   * Drive this already started server (e.g. the Synapse peer of `--vs synapse`) instead of
   * starting gemeng: its CPU and memory are measured like gemeng's; the caller stops it.
   */
  server?: { name: string; process: ServerProcess };
}

/** Everything the section measured, before it becomes rows. */
export interface ServerBenchResult {
  sizes: ServerBenchSizes;
  targetName: string;
  login: LoginResult | null;
  send: SendResult | null;
  fanout: FanoutResult | null;
  initialSync: InitialSyncResult | null;
  idle: IdleResult | null;
  memory: {
    idleStartBytes: number;
    idleAfterBytes: number;
    /** Resident memory `settleMs` after each scenario ended, by scenario name. */
    afterScenarioBytes: Record<string, number>;
    settleMs: number;
    registrationPeakBytes: number | null;
    rawIdleBytes: number;
    rawPeakBytes: number;
  } | null;
  /**
   * CPU other programs used on this machine during the section, as a share of one core: the
   * machine's busy time minus that of the load generator and the server processes. With
   * `--target`, the target server itself counts here.
   */
  otherCoreShare: number;
}

async function ownCpuSeconds(processes: (ServerProcess | undefined)[]): Promise<number> {
  let total = (await sampleProcess(Deno.pid)).cpuSeconds;
  for (const p of processes) if (p) total += (await p.sample()).cpuSeconds;
  return total;
}

/** Runs the scenarios and returns their raw results. */
export async function runServerScenarios(options: ServerBenchOptions): Promise<ServerBenchResult> {
  const sizes = structuredClone(options.sizes ?? (options.quick ? QUICK_SIZES : FULL_SIZES));
  const wanted = (name: string) => !options.scenarios || options.scenarios.has(name);
  if (options.accounts !== undefined) {
    sizes.fanout.members = Math.min(sizes.fanout.members, options.accounts);
    sizes.idle.clients = Math.min(sizes.idle.clients, options.accounts);
    sizes.send.clients = Math.min(sizes.send.clients, options.accounts);
  }
  const log = options.log ?? ((line: string) => console.log(`  server: ${line}`));
  if (options.target && !options.sharedSecret) {
    throw new Error("--target needs --shared-secret");
  }
  if (options.server && !options.sharedSecret) throw new Error("server needs sharedSecret");
  const sharedSecret = options.sharedSecret ?? crypto.randomUUID();
  const raw = await startRawServer();
  // `gemeng` is the measured server process: the gemeng started here, or `options.server`.
  let gemeng: ServerProcess | undefined = options.server?.process;
  try {
    if (!options.target && !options.server) {
      gemeng = await startGemeng({
        sharedSecret,
        denoFlags: options.serverDenoFlags,
        verbose: options.verbose,
      });
    }
    const baseUrl = options.target?.replace(/\/$/, "") ?? gemeng!.baseUrl;
    const afterScenarioBytes: Record<string, number> = {};
    // Resident memory once a scenario's load is gone: V8 gives memory back only after its
    // allocation rate has stayed low for a while, so the figure is taken a fixed time later.
    const settleMs = options.sizes ? 200 : SETTLE_MS[options.quick ? "quick" : "full"];
    const settled = async (name: string) => {
      if (!gemeng) return;
      await sleep(settleMs);
      afterScenarioBytes[name] = (await gemeng.sample()).rssBytes;
    };
    const target: ScenarioTarget = {
      baseUrl,
      sharedSecret,
      process: gemeng,
      raw,
      prefix: `b${Date.now().toString(36)}`,
      log,
    };
    const machineStart = await sampleMachine();
    const ownStart = await ownCpuSeconds([gemeng, raw]);
    // Idle memory at start: after the first request, once start-up work has settled.
    await call(baseUrl, "GET", "/_matrix/client/versions");
    await call(raw.baseUrl, "GET", "/json");
    await sleep(1000);
    const idleStart = gemeng ? (await gemeng.sample()).rssBytes : 0;
    const rawIdle = (await raw.sample()).rssBytes;

    const poolSize = Math.max(
      2,
      wanted("send") ? sizes.send.clients : 0,
      wanted("fanout") ? sizes.fanout.members : 0,
      wanted("initial-sync") ? sizes.initialSync.members - 1 : 0,
      wanted("idle") ? sizes.idle.clients : 0,
    );
    const { result: pool, peakBytes: registrationPeakBytes } = await withPeakMemory(
      target,
      () => registerPool(target, poolSize),
    );
    await settled("registering the pool");
    const login = wanted("login") ? await runLogin(target, pool, sizes.login) : null;
    if (login) log(`login: ${login.perSecond.toFixed(2)}/s`);
    if (login) await settled("login");
    const send = wanted("send") ? await runSend(target, pool, sizes.send) : null;
    if (send) log(`send: ${send.gemeng.perSecond.toFixed(0)} events/s`);
    if (send) await settled("send");
    const fanout = wanted("fanout") ? await runFanout(target, pool, sizes.fanout) : null;
    if (fanout) log(`fan-out: p99 ${fanout.gemeng.latency.p99.toFixed(1)} ms`);
    if (fanout) await settled("fan-out");
    const initialSync = wanted("initial-sync")
      ? await runInitialSync(target, pool, sizes.initialSync)
      : null;
    if (initialSync) {
      log(`initial sync: ${initialSync.figures.map((f) => f.ms.toFixed(0)).join(" / ")} ms`);
      await settled("initial sync");
    }
    let idle: IdleResult | null = null;
    if (gemeng && wanted("idle")) {
      idle = await runIdleSync({ ...target, process: gemeng }, pool, sizes.idle);
      log(`idle long-polls: ${(idle.gemeng.coreShare * 100).toFixed(2)}% of a core`);
      await settled("idle long-polls");
    }
    let memory: ServerBenchResult["memory"] = null;
    if (gemeng) {
      await sleep(2000);
      memory = {
        idleStartBytes: idleStart,
        idleAfterBytes: (await gemeng.sample()).rssBytes,
        afterScenarioBytes,
        settleMs,
        registrationPeakBytes,
        rawIdleBytes: rawIdle,
        rawPeakBytes: (await raw.sample()).peakBytes,
      };
    }
    const machineEnd = await sampleMachine();
    const own = (await ownCpuSeconds([gemeng, raw])) - ownStart;
    const cores = navigator.hardwareConcurrency;
    const wall = (machineEnd.totalSeconds - machineStart.totalSeconds) / cores;
    const otherCoreShare = Math.max(
      0,
      (machineEnd.busySeconds - machineStart.busySeconds - own) / wall,
    );
    return {
      otherCoreShare,
      sizes,
      targetName: options.server?.name ?? options.target ?? "gemeng",
      login,
      send,
      fanout,
      initialSync,
      idle,
      memory,
    };
  } finally {
    if (!options.server) await gemeng?.stop();
    await raw.stop();
  }
}

const MB = 1e6;

/** Turns the results into table rows, each beside its ceiling. */
export function serverRows(r: ServerBenchResult, kv: KvCeilings): BenchRow[] {
  const s = r.sizes;
  const section = r.targetName === "gemeng" ? "server" : `server (${r.targetName})`;
  const rows: BenchRow[] = [];
  const rate = (name: string, value: number, ceilingName: string, ceiling: number, note = "") =>
    rows.push({
      section,
      name,
      value,
      unit: "/s",
      ceilingName,
      ceiling,
      ratio: value / ceiling,
      note,
    });
  const time = (
    name: string,
    value: number,
    unit: string,
    ceilingName: string,
    ceiling: number,
    note = "",
  ) =>
    rows.push({
      section,
      name,
      value,
      unit,
      ceilingName,
      ceiling,
      ratio: ceiling > 0 ? ceiling / value : undefined,
      note,
    });

  if (r.send) {
    const c = s.send.clients;
    rows.push({
      section: "ceiling",
      name: `raw Deno.serve requests, ${c} concurrent (subprocess, same load generator)`,
      value: r.send.raw.perSecond,
      unit: "/s",
      note: `p50 ${r.send.raw.latency.p50.toFixed(2)} ms, p99 ${
        r.send.raw.latency.p99.toFixed(2)
      } ms`,
    });

    const send = r.send.gemeng;
    const sendName = `send, ${c} clients into ${s.send.rooms} rooms`;
    rate(
      `${sendName}: events`,
      send.perSecond,
      "raw KV single commits/s",
      kv.singleCommitsPerSec,
      `target >= ${TARGETS.sendPerSecond}/s and ratio >= ${TARGETS.sendKvShare}: ${
        targetMark(
          send.perSecond >= TARGETS.sendPerSecond &&
            send.perSecond / kv.singleCommitsPerSec >= TARGETS.sendKvShare,
        )
      }; ${send.errors} errors`,
    );
    rate(
      `${sendName}: events vs raw HTTP`,
      send.perSecond,
      "raw Deno.serve req/s, same concurrency",
      r.send.raw.perSecond,
    );
    time(
      `${sendName}: latency p50`,
      send.latency.p50,
      "ms",
      "raw Deno.serve p50",
      r.send.raw.latency.p50,
    );
    time(
      `${sendName}: latency p99`,
      send.latency.p99,
      "ms",
      "raw Deno.serve p99",
      r.send.raw.latency.p99,
    );
  }

  if (r.fanout) {
    const fan = r.fanout.gemeng;
    const fanName =
      `fan-out, ${s.fanout.members} members, ${s.fanout.messages} messages at ${s.fanout.rate}/s`;
    const fanNote = `${fan.missing} deliveries missing; ${fan.responses} sync responses`;
    const rawFan = r.fanout.raw.endToEnd;
    time(
      `${fanName}: delivery after the send's ack, p50`,
      fan.latency.p50,
      "ms",
      "raw Deno.serve publish to long-poll arrival, p50",
      rawFan.p50,
      fanNote,
    );
    time(
      `${fanName}: delivery after the send's ack, p99`,
      fan.latency.p99,
      "ms",
      "raw Deno.serve publish to long-poll arrival, p99",
      rawFan.p99,
      `target <= ${TARGETS.fanoutP99Ms} ms (goal ${TARGETS.fanoutGoalMs}): ${
        targetMark(fan.latency.p99 <= TARGETS.fanoutP99Ms)
      }; ${fanNote}`,
    );
    time(
      `${fanName}: send issued to arrival, p99`,
      fan.endToEnd.p99,
      "ms",
      "raw Deno.serve publish to long-poll arrival, p99",
      rawFan.p99,
      `p50 ${fan.endToEnd.p50.toFixed(1)} ms (raw ${rawFan.p50.toFixed(2)} ms)`,
    );
  }

  if (r.initialSync) {
    for (const f of r.initialSync.figures) {
      const target = f.filter.startsWith("timeline 1,")
        ? TARGETS.initialSyncTimeline1Ms
        : TARGETS.initialSyncTimeline20Ms;
      time(
        `initial sync, ${s.initialSync.rooms} rooms of ${s.initialSync.members}: ${f.filter}`,
        f.ms,
        "ms",
        "same-size JSON from raw Deno.serve, ms",
        f.ceilingMs,
        `target <= ${target} ms; first ${f.firstMs.toFixed(0)} ms; ${
          (f.bytes / MB).toFixed(2)
        } MB; median of ${s.initialSync.repeats}`,
      );
    }
  }

  if (r.idle) {
    const { gemeng, raw } = r.idle;
    const clients = s.idle.clients;
    const timeoutS = s.idle.timeoutMs / 1000;
    time(
      `idle long-polls, ${clients} clients, timeout ${timeoutS} s: CPU per cycle`,
      gemeng.cpuMsPerCycle,
      "ms",
      "raw Deno.serve CPU per long-poll, ms",
      raw.cpuMsPerCycle,
      `${gemeng.cycles} cycles in ${(s.idle.windowMs / 1000).toFixed(0)} s`,
    );
    const at30 = (gemeng.cpuMsPerCycle / 1000) * clients / 30;
    rows.push({
      section,
      name: `idle long-polls, ${clients} clients, timeout ${timeoutS} s: server CPU`,
      value: gemeng.coreShare * 100,
      unit: "% of a core",
      ceilingName: "raw Deno.serve, % of a core",
      ceiling: raw.coreShare * 100,
      ratio: raw.coreShare > 0 ? raw.coreShare / gemeng.coreShare : undefined,
      note: `target < ${TARGETS.idleCoreShare * 100}% for 1,000 clients; at 30 s timeouts: ${
        (at30 * 100).toFixed(2)
      }%`,
    });
  }

  if (r.login) {
    rate(
      `login (password at the default hash cost), ${s.login.concurrency} concurrent`,
      r.login.perSecond,
      "raw scrypt hashes/s, same cost and concurrency",
      r.login.rawHashesPerSecond,
      `p50 ${r.login.latency.p50.toFixed(0)} ms`,
    );
  }

  if (r.memory) rows.push(...memoryRows(r, section));
  rows.push({
    section,
    name: "other programs' CPU on this machine during the section",
    value: r.otherCoreShare * 100,
    unit: "% of a core",
    note: "busy time not spent by the load generator or the servers; near 0 = a quiet machine",
  });
  return rows;
}

/**
 * Memory rows: idle at start and after the scenarios, the peak during each scenario and the
 * resident memory a moment after it ended, each marked against the targets (peak <=
 * 200 MB, idle <= 80 MB, back within 50 MB of idle).
 */
export function memoryRows(r: ServerBenchResult, section: string): BenchRow[] {
  const m = r.memory;
  if (!m) return [];
  const rows: BenchRow[] = [];
  const mem = (name: string, bytes: number, ceilingName: string, ceiling: number, note: string) =>
    rows.push({
      section,
      name,
      value: bytes / MB,
      unit: "MB",
      ceilingName,
      ceiling: ceiling / MB,
      ratio: ceiling > 0 ? ceiling / bytes : undefined,
      note,
    });
  const idleNote = (bytes: number) =>
    `target <= ${TARGETS.idleMemoryMB} MB: ${targetMark(bytes / MB <= TARGETS.idleMemoryMB)}`;
  mem(
    "memory, resident, idle after start",
    m.idleStartBytes,
    "raw Deno.serve process, MB",
    m.rawIdleBytes,
    idleNote(m.idleStartBytes),
  );
  mem(
    "memory, resident, idle after the scenarios",
    m.idleAfterBytes,
    "raw Deno.serve process, MB",
    m.rawIdleBytes,
    `${idleNote(m.idleAfterBytes)}; the data of every scenario is stored`,
  );
  const peaks: [string, number | null][] = [
    ["registering the pool", m.registrationPeakBytes],
    ["login", r.login?.peakBytes ?? null],
    ["send", r.send?.peakBytes ?? null],
    ["fan-out", r.fanout?.peakBytes ?? null],
    ["initial sync", r.initialSync?.peakBytes ?? null],
    ["idle long-polls", r.idle?.peakBytes ?? null],
  ];
  for (const [name, bytes] of peaks) {
    if (bytes === null) continue;
    mem(
      `memory, peak resident during ${name}`,
      bytes,
      "raw Deno.serve peak under the same loads, MB",
      m.rawPeakBytes,
      `target <= ${TARGETS.peakMemoryMB} MB: ${targetMark(bytes / MB <= TARGETS.peakMemoryMB)}`,
    );
    const after = m.afterScenarioBytes[name];
    if (after === undefined) continue;
    const above = (after - m.idleStartBytes) / MB;
    mem(
      `memory, resident ${m.settleMs / 1000} s after ${name} ended`,
      after,
      "idle after start, MB",
      m.idleStartBytes,
      `${above.toFixed(0)} MB above idle; target <= ${TARGETS.backToIdleMB} MB above: ${
        targetMark(above <= TARGETS.backToIdleMB)
      }`,
    );
  }
  return rows;
}

/** Runs the client-load section and returns its rows. */
export async function runServerBench(options: ServerBenchOptions): Promise<BenchRow[]> {
  return serverRows(await runServerScenarios(options), options.kv);
}
