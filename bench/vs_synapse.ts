/**
 * `deno task bench --vs synapse`: the client-load scenarios (login, send, fan-out, initial
 * sync, idle long-polls, memory) against gemeng and then against the Synapse 1.67 peer of
 * `../shared/peers`, back to back in one run with the same sizes, the same load generator and
 * the same ceilings. Each figure comes out as gemeng, Synapse and the ratio gemeng/Synapse,
 * beside the ceiling measured in gemeng's half of the run.
 *
 * Synapse runs on PostgreSQL when Debian's postgresql 15 is installed (else SQLite; the table
 * says which). Its CPU and memory are the python process plus the PostgreSQL processes.
 *
 * @module
 */

import type { KvCeilings } from "./ceilings.ts";
import { type BenchRow, fmt } from "./report.ts";
import { runServerScenarios, type ServerBenchSizes, serverRows } from "./server_scenarios.ts";
import {
  DB_SAMPLE_MS,
  startSynapseProcess,
  SYNAPSE_PEER_MISSING,
  type SynapseProcess,
} from "./load/synapse_process.ts";

/** One figure measured on both servers. */
export interface VsRow {
  name: string;
  unit: string;
  gemeng: number;
  /** Absent when Synapse could not produce the figure. */
  synapse?: number;
  /** gemeng / Synapse. */
  ratio?: number;
  /** Whether a higher value is the better one (rates) or a lower one (times, memory, CPU). */
  higherIsBetter: boolean;
  ceilingName?: string;
  ceiling?: number;
  note?: string;
}

/** What `--vs synapse` produced. */
export interface VsResult {
  rows: VsRow[];
  /** "PostgreSQL 15" or "SQLite". */
  synapseDatabase: string;
  /** What Synapse's memory figures count. */
  synapseMemoryCounts: string;
  /** The rows of each half, as the plain bench reports them (for latest.json). */
  gemengRows: BenchRow[];
  synapseRows: BenchRow[];
}

/** Options of {@link runVsSynapse}. */
export interface VsOptions {
  quick: boolean;
  kv: KvCeilings;
  sizes?: ServerBenchSizes;
  scenarios?: Set<string>;
  accounts?: number;
  /** Run Synapse on SQLite even when PostgreSQL is installed. */
  sqlite?: boolean;
  verbose?: boolean;
  log?: (line: string) => void;
}

/** Pairs the rows of both halves by figure name. */
export function pairRows(gemengRows: readonly BenchRow[], synapseRows: readonly BenchRow[]) {
  const synapseByName = new Map(synapseRows.map((r) => [r.name, r]));
  const out: VsRow[] = [];
  for (const g of gemengRows) {
    if (g.section.startsWith("ceiling")) continue;
    const s = synapseByName.get(g.name);
    out.push({
      name: g.name,
      unit: g.unit,
      gemeng: g.value,
      synapse: s?.value,
      ratio: s && s.value !== 0 ? g.value / s.value : undefined,
      higherIsBetter: g.unit === "/s",
      ceilingName: g.ceilingName,
      ceiling: g.ceiling,
      note: g.note,
    });
  }
  return out;
}

/** Which server is ahead and by how much, e.g. "gemeng 11x" or "Synapse 1.3x". */
export function advantage(row: VsRow): string {
  if (row.ratio === undefined || !Number.isFinite(row.ratio) || row.ratio <= 0) return "-";
  const gemengAhead = row.higherIsBetter ? row.ratio >= 1 : row.ratio <= 1;
  const factor = row.ratio >= 1 ? row.ratio : 1 / row.ratio;
  return `${gemengAhead ? "gemeng" : "Synapse"} ${fmt(factor)}x`;
}

/** Renders the side-by-side table. */
export function vsMarkdownTable(rows: readonly VsRow[]): string {
  const lines = [
    "| figure | gemeng | Synapse | gemeng/Synapse | ahead | ceiling (same run) | note |",
    "|---|---:|---:|---:|---|---|---|",
  ];
  for (const r of rows) {
    const ceiling = r.ceilingName ? `${r.ceilingName}: ${fmt(r.ceiling)}` : "-";
    const synapse = r.synapse === undefined ? "-" : `${fmt(r.synapse)} ${r.unit}`;
    lines.push(
      `| ${r.name} | ${fmt(r.gemeng)} ${r.unit} | ${synapse} | ${fmt(r.ratio)} | ${
        advantage(r)
      } | ${ceiling} | ${r.note ?? ""} |`,
    );
  }
  return lines.join("\n");
}

/** Runs both halves (gemeng first, then Synapse) and pairs their figures. */
export async function runVsSynapse(options: VsOptions): Promise<VsResult> {
  if (SYNAPSE_PEER_MISSING) throw new Error(SYNAPSE_PEER_MISSING);
  const log = options.log ?? ((line: string) => console.log(line));
  const common = {
    quick: options.quick,
    kv: options.kv,
    sizes: options.sizes,
    scenarios: options.scenarios,
    accounts: options.accounts,
    verbose: options.verbose,
  };
  log("vs synapse: gemeng half");
  const gemeng = await runServerScenarios({
    ...common,
    log: (line) => log(`  gemeng: ${line}`),
  });
  const sharedSecret = crypto.randomUUID();
  const synapse: SynapseProcess = await startSynapseProcess({
    sharedSecret,
    sqlite: options.sqlite,
    verbose: options.verbose,
  });
  log(`vs synapse: Synapse half (${synapse.database})`);
  let synapseResult;
  let parts;
  try {
    synapseResult = await runServerScenarios({
      ...common,
      sharedSecret,
      server: { name: "Synapse", process: synapse },
      log: (line) => log(`  synapse: ${line}`),
    });
    parts = await synapse.sampleParts();
  } finally {
    await synapse.stop();
  }
  // Both halves measure the raw Deno.serve ceiling: say whose half each figure comes from.
  const half = (rows: BenchRow[], name: string) =>
    rows.map((r) => r.section === "ceiling" ? { ...r, section: `ceiling (${name} half)` } : r);
  const gemengRows = half(serverRows(gemeng, options.kv), "gemeng");
  const synapseRows = half(serverRows(synapseResult, options.kv), "Synapse");
  const rows = pairRows(gemengRows, synapseRows);
  const MB = 1e6;
  const counts = parts.database
    ? `the Synapse python process (resident, VmRSS/VmHWM) plus every PostgreSQL process ` +
      `(postmaster, backends, helpers: summed proportional set size, shared buffers split ` +
      `among them, peak sampled every ${DB_SAMPLE_MS} ms). At the end: python ${
        fmt(parts.python.rssBytes / MB)
      } MB, PostgreSQL ${fmt(parts.database.rssBytes / MB)} MB (peak ${
        fmt(parts.database.peakBytes / MB)
      } MB during the idle long-polls)`
    : `the Synapse python process (SQLite runs inside it); ${
      fmt(parts.python.rssBytes / MB)
    } MB at the end`;
  return {
    rows,
    synapseDatabase: synapse.database,
    synapseMemoryCounts: counts,
    gemengRows,
    synapseRows,
  };
}
