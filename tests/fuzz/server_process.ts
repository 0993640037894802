/**
 * The server under fuzz: `deno run -A main.ts serve` in a subprocess on a fresh data directory
 * (so a crash is seen as a crash, and its memory is its own), with its stderr captured: the
 * app's "internal error:" lines and their stacks are the best report of a 500.
 *
 * @module
 */

import { sampleProcess, SERVER_V8_FLAGS } from "../../bench/load/processes.ts";

const REPO = new URL("../../", import.meta.url);

/** A block of the server's stderr: one "internal error:" report, or any other line. */
export interface StderrBlock {
  /** When the first line arrived (`performance.now()`). */
  at: number;
  text: string;
  /** True for the app's "internal error:" reports. */
  internal: boolean;
  /** Set once the block is tied to a failing request. */
  claimed: boolean;
}

/** Memory of the server process, in bytes, and its CPU time. */
export interface MemorySample {
  rss: number;
  /** Peak RSS since start (VmHWM). */
  hwm: number;
  /** User and system CPU seconds since start. */
  cpuSeconds: number;
}

/** A running server subprocess. */
export interface FuzzServer {
  hostname: string;
  port: number;
  pid: number;
  dataDir: string;
  /** Set when the process has exited (with its exit code). */
  exited: { code: number; signal: string | null } | null;
  /** Captured stderr, in arrival order. */
  stderr: StderrBlock[];
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

/** Options for {@link startFuzzServer}. */
export interface FuzzServerOptions {
  /** Extra TOML appended to the config (e.g. url_preview settings). */
  extraToml?: string;
  /** Shared secret for `/_synapse/admin/v1/register` (how setup makes its admin). */
  sharedSecret: string;
  /** Extra `deno run` flags, e.g. `--inspect` or `--v8-flags=--expose-gc`. */
  denoFlags?: string[];
  /** Echo the server's stderr as it comes. */
  verbose?: boolean;
  /** Run `main.ts` of another checkout (e.g. an older commit, to see a bug found again). */
  serverDir?: string;
}

/** Rate limits generous enough that 429s do not hide bugs behind them. */
const GENEROUS = "per_second = 1000\nburst = 100000\n";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The config of a fuzz run: loopback, temp data dir, open registration, generous limits. */
export function fuzzConfigToml(dataDir: string, port: number, options: FuzzServerOptions): string {
  return [
    `server_name = "localhost"`,
    `data_dir = ${JSON.stringify(dataDir)}`,
    `[http]`,
    `listen = "127.0.0.1:${port}"`,
    `public_base_url = "http://127.0.0.1:${port}"`,
    `[registration]`,
    `enabled = true`,
    `require_token = false`,
    `shared_secret = ${JSON.stringify(options.sharedSecret)}`,
    `[limits]`,
    `max_devices_per_user = 10000`,
    ...["login", "register", "send", "media_upload"].map((name) =>
      `[rate_limits.${name}]\n${GENEROUS}`
    ),
    options.extraToml ?? "",
  ].join("\n");
}

/** Starts the server and waits until `/_matrix/client/versions` answers. */
export async function startFuzzServer(options: FuzzServerOptions): Promise<FuzzServer> {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-fuzz-server-" });
  const port = freePort();
  const configPath = `${dir}/gemeng.toml`;
  await Deno.writeTextFile(configPath, fuzzConfigToml(`${dir}/data`, port, options));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...SERVER_V8_FLAGS,
      ...(options.denoFlags ?? []),
      "main.ts",
      "serve",
      "--config",
      configPath,
    ],
    cwd: options.serverDir ?? REPO,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();

  const server: FuzzServer = {
    hostname: "127.0.0.1",
    port,
    pid: child.pid,
    dataDir: `${dir}/data`,
    exited: null,
    stderr: [],
    async memory() {
      const sample = await sampleProcess(child.pid);
      return { rss: sample.rssBytes, hwm: sample.peakBytes, cpuSeconds: sample.cpuSeconds };
    },
    async stop() {
      if (server.exited === null) {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 5000);
        await child.status;
        clearTimeout(timer);
      }
      await reading;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };

  // Group stderr into blocks: an "internal error:" line and the indented stack lines after it.
  const reading = (async () => {
    let pending = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (options.verbose) console.error(`[server] ${line}`);
        const last = server.stderr.at(-1);
        const continues = last && /^\s+(at |\.\.\.|\{|\}|[a-zA-Z]+:)|^Caused by/.test(line);
        if (continues && last.internal) {
          last.text += `\n${line}`;
        } else {
          server.stderr.push({
            at: performance.now(),
            text: line,
            internal: line.startsWith("internal error:"),
            claimed: false,
          });
        }
      }
    }
  })();
  child.status.then((status) => {
    server.exited = { code: status.code, signal: status.signal };
  });

  const deadline = Date.now() + 60_000;
  while (true) {
    if (server.exited) {
      await reading;
      throw new Error(
        `server exited before listening: ${server.stderr.map((b) => b.text).join("\n")}`,
      );
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error("server did not answer within 60 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}
