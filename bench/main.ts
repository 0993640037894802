/**
 * `deno task bench [--quick] [--only SECTION[,SECTION]]`: runs the benchmark sections (engine,
 * media, e2ee, web, federation, server), prints a table of figures beside ceilings measured in
 * the same run, writes bench/results/latest.json and appends the table to BENCHMARKS.md.
 *
 * `--target URL --shared-secret S` points the client-load section (`server`) at another
 * homeserver (and runs only that section unless `--only` says otherwise);
 * `--server-flags "--cpu-prof --cpu-prof-dir=DIR"` passes `deno run` flags to the gemeng
 * process the section starts; `--verbose` shows its output; `--scenario fanout,initial-sync`
 * runs only some scenarios of that section (login, send, fanout, initial-sync, idle), and
 * `--accounts N` caps the account pool (and so the fan-out and idle client counts).
 * `--synapse-members N` sets the size of the Synapse-hosted room the federation section joins
 * (default 500: filling Synapse takes about 0.15 s a member; 0 skips it).
 *
 * `--vs synapse` runs the client-load scenarios against gemeng and then against the Synapse
 * 1.67 peer of `../shared/peers` (PostgreSQL when Debian's postgresql is installed, else
 * SQLite; `--synapse-sqlite` forces SQLite) and reports each figure side by side with the
 * ratio gemeng/Synapse (only the `server` section plus the KV ceilings, unless `--only` says
 * otherwise). Without the peer it says so and skips the comparison.
 */
import { measureKvCeilings } from "./ceilings.ts";
import { runEngineBench } from "./engine.ts";
import { runMediaBench } from "./media.ts";
import { runE2eeBench } from "./e2ee.ts";
import { runWebBench } from "./web.ts";
import { runServerBench } from "./server_scenarios.ts";
import { FULL_SIZES, QUICK_SIZES, runFederationBench } from "./federation.ts";
import { type BenchRow, loadAverage, machineDescription, markdownTable } from "./report.ts";
import { runVsSynapse, vsMarkdownTable, type VsResult } from "./vs_synapse.ts";
import { SYNAPSE_PEER_MISSING } from "./load/synapse_process.ts";

interface BenchOptions {
  quick: boolean;
  only: Set<string> | undefined;
  record: boolean;
  target?: string;
  sharedSecret?: string;
  serverFlags?: string[];
  verbose: boolean;
  scenarios?: Set<string>;
  accounts?: number;
  synapseMembers?: number;
  /** `--vs synapse`: the client-load scenarios side by side with the Synapse peer. */
  vs?: "synapse";
  synapseSqlite: boolean;
}

function parseArgs(args: string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    only: undefined,
    record: true,
    verbose: false,
    synapseSqlite: false,
  };
  const value = (i: number, arg: string) => {
    const v = args[i];
    if (v === undefined) throw new Error(`${arg} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-record") options.record = false;
    else if (arg === "--verbose") options.verbose = true;
    else if (arg === "--target") options.target = value(++i, arg);
    else if (arg === "--shared-secret") options.sharedSecret = value(++i, arg);
    else if (arg === "--server-flags") options.serverFlags = value(++i, arg).split(/\s+/);
    else if (arg === "--scenario") options.scenarios = new Set(value(++i, arg).split(","));
    else if (arg === "--accounts") options.accounts = Number(value(++i, arg));
    else if (arg === "--synapse-members") options.synapseMembers = Number(value(++i, arg));
    else if (arg === "--vs") {
      const peer = value(++i, arg);
      if (peer !== "synapse") throw new Error(`--vs: unknown peer ${peer} (only synapse)`);
      options.vs = "synapse";
    } else if (arg === "--synapse-sqlite") options.synapseSqlite = true;
    else if (arg === "--only") options.only = new Set(args[++i]?.split(",") ?? []);
    else if (arg.startsWith("--only=")) options.only = new Set(arg.slice(7).split(","));
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

async function main() {
  const options = parseArgs(Deno.args);
  if ((options.target || options.vs) && !options.only) options.only = new Set(["server"]);
  const wanted = (section: string) => !options.only || options.only.has(section);
  const machine = await machineDescription();
  const loadAtStart = await loadAverage();
  console.log(
    `gemeng bench on ${machine}, load average ${loadAtStart}${options.quick ? " (quick)" : ""}`,
  );

  const kv = await measureKvCeilings({ quick: options.quick });
  const rows: BenchRow[] = [
    {
      section: "ceiling",
      name: "raw KV single-key commits",
      value: kv.singleCommitsPerSec,
      unit: "/s",
    },
    {
      section: "ceiling",
      name: "raw KV batched writes (100/commit)",
      value: kv.batchedWritesPerSec,
      unit: "/s",
    },
  ];
  if (wanted("engine")) rows.push(...(await runEngineBench({ quick: options.quick, kv })));
  if (wanted("media")) rows.push(...(await runMediaBench({ quick: options.quick, kv })));
  if (wanted("e2ee")) rows.push(...(await runE2eeBench({ quick: options.quick, kv })));
  if (wanted("web")) rows.push(...(await runWebBench({ quick: options.quick })));
  if (wanted("federation")) {
    const sizes = options.synapseMembers === undefined ? undefined : {
      ...(options.quick ? QUICK_SIZES : FULL_SIZES),
      synapseMembers: options.synapseMembers,
    };
    rows.push(...(await runFederationBench({ quick: options.quick, kv, sizes })));
  }
  let vs: VsResult | null = null;
  if (wanted("server") && options.vs) {
    if (SYNAPSE_PEER_MISSING) {
      console.log(`--vs synapse: skipped, ${SYNAPSE_PEER_MISSING}`);
    } else {
      vs = await runVsSynapse({
        quick: options.quick,
        kv,
        scenarios: options.scenarios,
        accounts: options.accounts,
        sqlite: options.synapseSqlite,
        verbose: options.verbose,
      });
      rows.push(...vs.gemengRows, ...vs.synapseRows);
    }
  } else if (wanted("server")) {
    rows.push(
      ...(await runServerBench({
        quick: options.quick,
        kv,
        target: options.target,
        sharedSecret: options.sharedSecret,
        serverDenoFlags: options.serverFlags,
        verbose: options.verbose,
        scenarios: options.scenarios,
        accounts: options.accounts,
      })),
    );
  }

  const loadAtEnd = await loadAverage();
  const machineLine = `${machine}; load average (1, 5, 15 min) at start ${loadAtStart}, ` +
    `at end ${loadAtEnd}`;
  let table = markdownTable(rows);
  if (vs) {
    const ceilings = rows.filter((r) => r.section.startsWith("ceiling"));
    // Sections run beside the comparison (`--only server,federation`) measure gemeng alone.
    const others = rows.filter((r) =>
      !r.section.startsWith("ceiling") && !r.section.startsWith("server")
    );
    table = [
      `Side by side with Synapse 1.67 on ${vs.synapseDatabase} (\`deno task bench --vs synapse${
        options.quick ? " --quick" : ""
      }\`): the same scenarios, sizes and load generator, gemeng first, then Synapse. ` +
      `Synapse's CPU and memory count ${vs.synapseMemoryCounts}.`,
      "",
      vsMarkdownTable(vs.rows),
      "",
      "Ceilings of the same run:",
      "",
      markdownTable(ceilings),
      ...(others.length > 0
        ? ["", "The other sections of the same run (gemeng alone):", "", markdownTable(others)]
        : []),
    ].join("\n");
  }
  console.log(table);
  console.log(machineLine);
  if (!options.record) return;
  const when = new Date().toISOString();
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("./results/latest.json", import.meta.url),
    JSON.stringify({ when, machine: machineLine, quick: options.quick, rows, vs }, null, 2) +
      "\n",
  );
  const title = `${when}${options.vs ? " vs Synapse" : ""}${options.quick ? " (quick)" : ""}`;
  const heading = `\n## ${title}\n\n${machineLine}\n\n`;
  await Deno.writeTextFile(new URL("../BENCHMARKS.md", import.meta.url), heading + table + "\n", {
    append: true,
  });
}

if (import.meta.main) await main();
