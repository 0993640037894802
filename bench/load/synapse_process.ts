/**
 * The Synapse 1.67 peer from `../shared/peers` as a bench server process (`--vs synapse`):
 * started with `start.sh` on a fresh work directory, on PostgreSQL when Debian's postgresql 15
 * is installed (a private cluster in the work directory, run as the unprivileged `postgres`
 * user, reachable only through a Unix socket), else on SQLite. Its CPU time and memory are
 * those of the Synapse python process plus, on PostgreSQL, the postmaster and every backend
 * and helper it forked, read from `/proc` like those of the gemeng process.
 *
 * PostgreSQL's processes share their buffers, so summing their resident memory would count
 * those pages once in every backend that touched them. Its figure is instead the sum of their
 * proportional set sizes (`Pss` in `/proc/<pid>/smaps_rollup`: shared pages split among the
 * processes sharing them), sampled every {@link DB_SAMPLE_MS} ms for its peak, since the
 * kernel keeps no peak of it.
 *
 * @module
 */

import { PEERS_DIR, SYNAPSE_MISSING } from "../../tests/federation/support/peers.ts";
import { type ProcessSample, sampleProcess, type ServerProcess } from "./processes.ts";

/** Why `--vs synapse` cannot run here, or null when it can. */
export const SYNAPSE_PEER_MISSING: string | null = SYNAPSE_MISSING;

const PG_INITDB = "/usr/lib/postgresql/15/bin/initdb";
/** How often the PostgreSQL processes' memory is sampled for its peak. */
export const DB_SAMPLE_MS = 250;

/** Whether Synapse would run on PostgreSQL here (Debian's postgresql 15 is installed). */
export function postgresAvailable(): boolean {
  try {
    Deno.statSync(PG_INITDB);
    return true;
  } catch {
    return false;
  }
}

/** A running Synapse, with what it runs on. */
export interface SynapseProcess extends ServerProcess {
  /** "PostgreSQL 15" or "SQLite". */
  readonly database: string;
  /** The parts counted in {@link ServerProcess.sample}, each on its own. */
  sampleParts(): Promise<{ python: ProcessSample; database: ProcessSample | null }>;
}

/** Options of {@link startSynapseProcess}. */
export interface SynapseProcessOptions {
  sharedSecret: string;
  /** Force SQLite even when PostgreSQL is installed. */
  sqlite?: boolean;
  /** Show start.sh's output. */
  verbose?: boolean;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function run(command: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command} failed:\n${text}`);
  return text;
}

/** Pids of `root` and of every process descended from it (from `/proc/<pid>/stat`). */
async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry.name));
      parents.set(ppid, list);
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(parents.get(pid) ?? []));
  }
  return out;
}

/** CPU time and summed proportional set size of `pids` (peak = now; the caller tracks it). */
async function sumSamples(pids: number[]): Promise<ProcessSample> {
  const total: ProcessSample = { cpuSeconds: 0, rssBytes: 0, peakBytes: 0 };
  for (const pid of pids) {
    try {
      const s = await sampleProcess(pid);
      const rollup = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
      const pss = Number(rollup.match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
      total.cpuSeconds += s.cpuSeconds;
      total.rssBytes += pss;
    } catch { /* a backend that just ended */ }
  }
  total.peakBytes = total.rssBytes;
  return total;
}

/**
 * Starts Synapse with `start.sh` on free loopback ports and a fresh work directory: no TLS
 * listener (the client-load scenarios use plain HTTP on loopback, as with gemeng), presence
 * off, rate limits off, and the registration shared secret given.
 */
export async function startSynapseProcess(
  options: SynapseProcessOptions,
): Promise<SynapseProcess> {
  if (SYNAPSE_PEER_MISSING) throw new Error(SYNAPSE_PEER_MISSING);
  const postgres = !options.sqlite && postgresAvailable();
  const workdir = await Deno.makeTempDir({ prefix: "gemeng-bench-synapse-" });
  // The cluster runs as the unprivileged `postgres` user, which must reach pgdata inside.
  await Deno.chmod(workdir, 0o755);
  const port = freePort();
  const env: Record<string, string> = {
    SHARED_SECRET: options.sharedSecret,
    DB: postgres ? "postgres" : "sqlite",
    LOG_LEVEL: "WARNING",
    PRESENCE: "0",
  };
  const stop = async () => {
    await run(`${PEERS_DIR}/stop.sh`, [workdir], {}).catch(() => "");
    await Deno.remove(workdir, { recursive: true }).catch(() => {});
  };
  try {
    const out = await run(`${PEERS_DIR}/start.sh`, [workdir, String(port), "bench.localhost"], env);
    if (options.verbose) console.log(out.trim());
  } catch (err) {
    await stop();
    throw err;
  }
  const pid = Number((await Deno.readTextFile(`${workdir}/synapse.pid`)).trim());
  const postmaster = async (): Promise<number | null> => {
    if (!postgres) return null;
    try {
      const text = await Deno.readTextFile(`${workdir}/pgdata/postmaster.pid`);
      return Number(text.split("\n")[0]);
    } catch {
      return null;
    }
  };
  const databasePids = async () => {
    const pm = await postmaster();
    return pm === null ? [] : await processTree(pm);
  };
  let stopped = false;
  // The database's peak since the last reset, from samples (see the module comment).
  let dbPeak = 0;
  const sampleDb = async () => {
    const db = await databasePids();
    if (db.length === 0) return null;
    const sample = await sumSamples(db);
    dbPeak = Math.max(dbPeak, sample.rssBytes);
    return { ...sample, peakBytes: dbPeak };
  };
  let sampling = false;
  const timer = postgres
    ? setInterval(() => {
      if (sampling) return;
      sampling = true;
      sampleDb().catch(() => null).finally(() => sampling = false);
    }, DB_SAMPLE_MS)
    : undefined;
  // An interrupted bench (Ctrl-C, a killed run) must not leave Synapse and its database running.
  const onSignal = () => {
    stop().finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  const handle: SynapseProcess = {
    baseUrl: `http://127.0.0.1:${port}`,
    pid,
    database: postgres ? "PostgreSQL 15" : "SQLite",
    async sampleParts() {
      return { python: await sampleProcess(pid), database: await sampleDb() };
    },
    async sample() {
      const python = await sampleProcess(pid);
      const db = await sampleDb();
      return {
        cpuSeconds: python.cpuSeconds + (db?.cpuSeconds ?? 0),
        rssBytes: python.rssBytes + (db?.rssBytes ?? 0),
        peakBytes: python.peakBytes + (db?.peakBytes ?? 0),
      };
    },
    async resetPeak() {
      dbPeak = 0;
      try {
        await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5");
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
      await stop();
    },
  };
  return handle;
}
