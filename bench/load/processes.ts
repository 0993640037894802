/**
 * The processes a client-load benchmark drives: gemeng itself (`deno run -A main.ts serve`
 * with a temporary config and a fresh data directory) and the raw `Deno.serve` ceiling
 * (`raw_server.ts`), each in its own subprocess so the load generator (this process) never
 * shares their CPU accounting. Both report their CPU time and memory from `/proc`.
 *
 * @module
 */

const REPO = new URL("../../", import.meta.url);

/** CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`. */
export interface ProcessSample {
  /** User + system CPU time in seconds. */
  cpuSeconds: number;
  /** Resident memory now (VmRSS), bytes. */
  rssBytes: number;
  /** Peak resident memory since start or the last {@link ServerProcess.resetPeak} (VmHWM). */
  peakBytes: number;
}

/** Clock ticks per second for `/proc/<pid>/stat` (USER_HZ; 100 on every Linux build). */
const CLOCK_TICKS = 100;

/** Reads CPU and memory figures of `pid` (Linux only). */
export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The command name (field 2) may contain spaces; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))?.[1] ?? 0);
  return {
    cpuSeconds: (utime + stime) / CLOCK_TICKS,
    rssBytes: kb("VmRSS") * 1024,
    peakBytes: kb("VmHWM") * 1024,
  };
}

/** Machine-wide CPU time from `/proc/stat`: busy and total, in seconds over all cores. */
export async function sampleMachine(): Promise<{ busySeconds: number; totalSeconds: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + (ticks[4] ?? 0); // idle + iowait
  return { busySeconds: (total - idle) / CLOCK_TICKS, totalSeconds: total / CLOCK_TICKS };
}

/** A subprocess serving HTTP on loopback. */
export interface ServerProcess {
  /** e.g. `http://127.0.0.1:41234` */
  readonly baseUrl: string;
  readonly pid: number;
  /** CPU and memory now. */
  sample(): Promise<ProcessSample>;
  /** Resets VmHWM to the current RSS (`/proc/<pid>/clear_refs`), so peaks can be per phase. */
  resetPeak(): Promise<boolean>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its temporary files. */
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForHttp(url: string, child: Deno.ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server process exited before listening (${url})`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`server at ${url} did not answer within ${timeoutMs} ms`);
}

function processHandle(
  child: Deno.ChildProcess,
  baseUrl: string,
  cleanup: () => Promise<void>,
): ServerProcess {
  let stopped = false;
  return {
    baseUrl,
    pid: child.pid,
    sample: () => sampleProcess(child.pid),
    async resetPeak() {
      try {
        await Deno.writeTextFile(`/proc/${child.pid}/clear_refs`, "5");
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
      await cleanup();
    },
  };
}

/** Options of {@link startGemeng}. */
export interface GemengProcessOptions {
  /** Registration shared secret written into the config. */
  sharedSecret: string;
  /** Extra flags for `deno run` (e.g. `--cpu-prof`, `--cpu-prof-dir=DIR`). */
  denoFlags?: string[];
  /** Where the server's stderr goes: inherited (visible) or dropped. */
  verbose?: boolean;
}

/** The bench config: a fresh data directory, shared-secret registration, no rate limits. */
export function benchConfigToml(dataDir: string, port: number, sharedSecret: string): string {
  const unlimited = "per_second = 1000000\nburst = 1000000000\n";
  return [
    `server_name = "bench.localhost"`,
    `data_dir = ${JSON.stringify(dataDir)}`,
    ``,
    `[http]`,
    `listen = "127.0.0.1:${port}"`,
    `public_base_url = "http://127.0.0.1:${port}"`,
    ``,
    `[registration]`,
    `enabled = false`,
    `shared_secret = ${JSON.stringify(sharedSecret)}`,
    ``,
    `[limits]`,
    `max_devices_per_user = 1000`,
    ``,
    ...["login", "register", "send", "media_upload"].map((name) =>
      `[rate_limits.${name}]\n${unlimited}`
    ),
  ].join("\n");
}

/**
 * The V8 flags `deno task start` and the compiled binary run the server with, read from
 * deno.json's `start` task so that the bench measures what is deployed (docs/benchmarks.md,
 * "What idle memory is made of", explains each flag).
 */
export const SERVER_V8_FLAGS: string[] = (() => {
  const denoJson = JSON.parse(Deno.readTextFileSync(new URL("deno.json", REPO)));
  const flag = (denoJson.tasks.start as string).split(" ").find((arg) =>
    arg.startsWith("--v8-flags=")
  );
  return flag ? [flag] : [];
})();

/**
 * The V8 flags of the bench's gemeng process: {@link SERVER_V8_FLAGS}, or the comma-separated
 * V8 flags in `GEMENG_BENCH_V8_FLAGS` (to try others, e.g. `--max-semi-space-size=4`).
 */
export function benchV8Flags(): string[] {
  const custom = Deno.env.get("GEMENG_BENCH_V8_FLAGS");
  return custom ? [`--v8-flags=${custom}`] : SERVER_V8_FLAGS;
}

/** Starts `deno run -A main.ts serve` on a fresh data directory and waits until it answers. */
export async function startGemeng(options: GemengProcessOptions): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-bench-server-" });
  const port = freePort();
  const configPath = `${dir}/gemeng.toml`;
  await Deno.writeTextFile(configPath, benchConfigToml(`${dir}/data`, port, options.sharedSecret));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...benchV8Flags(),
      ...(options.denoFlags ?? []),
      "main.ts",
      "serve",
      "--config",
      configPath,
    ],
    cwd: REPO,
    stdin: "null",
    stdout: options.verbose ? "inherit" : "null",
    stderr: options.verbose ? "inherit" : "null",
  }).spawn();
  const baseUrl = `http://127.0.0.1:${port}`;
  const handle = processHandle(child, baseUrl, () => Deno.remove(dir, { recursive: true }));
  try {
    await waitForHttp(`${baseUrl}/_matrix/client/versions`, child, 60_000);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** Starts the raw `Deno.serve` ceiling server (`raw_server.ts`) in a subprocess. */
export async function startRawServer(): Promise<ServerProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./raw_server.ts", import.meta.url).pathname, String(port)],
    cwd: REPO,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const baseUrl = `http://127.0.0.1:${port}`;
  const handle = processHandle(child, baseUrl, async () => {});
  try {
    await waitForHttp(`${baseUrl}/json`, child, 30_000);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
