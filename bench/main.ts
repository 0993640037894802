/**
 * `deno task bench [--quick] [--only SECTION[,SECTION]]`: runs the benchmark sections, prints a
 * table of figures beside ceilings measured in the same run, writes bench/results/latest.json
 * and appends the table to BENCHMARKS.md.
 */
import { measureKvCeilings } from "./ceilings.ts";
import { runEngineBench } from "./engine.ts";
import { runMediaBench } from "./media.ts";
import { runE2eeBench } from "./e2ee.ts";
import { runWebBench } from "./web.ts";
import { type BenchRow, machineDescription, markdownTable } from "./report.ts";

interface BenchOptions {
  quick: boolean;
  only: Set<string> | undefined;
  record: boolean;
}

function parseArgs(args: string[]): BenchOptions {
  const options: BenchOptions = { quick: false, only: undefined, record: true };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-record") options.record = false;
    else if (arg === "--only") options.only = new Set(args[++i]?.split(",") ?? []);
    else if (arg.startsWith("--only=")) options.only = new Set(arg.slice(7).split(","));
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

async function main() {
  const options = parseArgs(Deno.args);
  const wanted = (section: string) => !options.only || options.only.has(section);
  const machine = await machineDescription();
  console.log(`gemeng bench on ${machine}${options.quick ? " (quick)" : ""}`);

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

  const table = markdownTable(rows);
  console.log(table);
  if (!options.record) return;
  const when = new Date().toISOString();
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("./results/latest.json", import.meta.url),
    JSON.stringify({ when, machine, quick: options.quick, rows }, null, 2) + "\n",
  );
  const heading = `\n## ${when}${options.quick ? " (quick)" : ""}\n\n${machine}\n\n`;
  await Deno.writeTextFile(new URL("../BENCHMARKS.md", import.meta.url), heading + table + "\n", {
    append: true,
  });
}

if (import.meta.main) await main();
