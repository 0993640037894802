/**
 * `deno task fuzz`: the long mode of the fuzz test.
 *
 * ```sh
 * deno task fuzz                          # 60 s of load, a fresh seed (printed)
 * deno task fuzz --seed 42 --duration 120 # a given seed, two minutes
 * deno task fuzz --requests 5000          # stop after 5000 requests
 * deno task fuzz --seed 42 --only 1234    # rebuild and send request 1234 of seed 42 alone
 * ```
 *
 * Other flags: `--concurrency N` (default 8), `--rate N` (requests per second at most), `--settle S` (idle seconds before the "after"
 * memory sample, default 10), `--routes REGEX` (only routes whose `METHOD path` matches), `--out DIR` (report directory), `--verbose` (server stderr),
 * `--server-flag F` (extra `deno run` flag for the server, repeatable, e.g.
 * `--server-flag=--inspect=127.0.0.1:9229`), `--server-dir DIR` (serve `main.ts` of another
 * checkout, e.g. an older commit, to see a fixed bug found again). Exits 1 when anything failed.
 *
 * @module
 */

import { runFuzz, summaryLines } from "./runner.ts";

function parse(args: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!match) throw new Error(`unexpected argument ${args[i]}`);
    const [, name, inline] = match;
    const boolean = name === "verbose";
    const value = inline ?? (boolean ? "true" : args[++i]);
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

function number(flags: Map<string, string[]>, name: string, fallback: number): number {
  const text = flags.get(name)?.at(-1);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number`);
  return value;
}

if (import.meta.main) {
  const flags = parse(Deno.args);
  const known = [
    "seed",
    "duration",
    "requests",
    "concurrency",
    "settle",
    "only",
    "out",
    "verbose",
    "server-flag",
    "server-dir",
    "rate",
    "routes",
  ];
  for (const name of flags.keys()) {
    if (!known.includes(name)) {
      throw new Error(`unknown flag --${name} (known: ${known.join(", ")})`);
    }
  }
  const seed = number(flags, "seed", Math.floor(Math.random() * 2 ** 31)) >>> 0;
  const only = flags.get("only")?.flatMap((s) => s.split(",")).map(Number);
  console.log(`fuzz: seed ${seed} (rerun with --seed ${seed})`);
  const result = await runFuzz({
    seed,
    durationMs: number(flags, "duration", only ? 600 : 60) * 1000,
    maxRequests: flags.has("requests") ? number(flags, "requests", 0) : undefined,
    concurrency: number(flags, "concurrency", only ? 1 : 8),
    rate: flags.has("rate") ? number(flags, "rate", 0) : undefined,
    routes: flags.has("routes") ? new RegExp(flags.get("routes")!.at(-1)!) : undefined,
    settleMs: number(flags, "settle", only ? 0 : 10) * 1000,
    only,
    outDir: flags.get("out")?.at(-1),
    verbose: flags.has("verbose"),
    denoFlags: flags.get("server-flag"),
    serverDir: flags.get("server-dir")?.at(-1),
  });
  for (const line of summaryLines(result)) console.log(line);
  Deno.exit(result.failures.length > 0 ? 1 : 0);
}
