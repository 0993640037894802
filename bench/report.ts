/**
 * Benchmark results: one row per figure, each with the ceiling it is measured against in the
 * same run, printed as a table and saved as JSON and Markdown.
 */

/** One measured figure beside its ceiling. */
export interface BenchRow {
  section: string;
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run. */
  ceilingName?: string;
  ceiling?: number;
  /** value / ceiling for rates, ceiling / value for durations: 1.0 = as fast as the ceiling. */
  ratio?: number;
  note?: string;
}

/** Formats a number with a sensible precision. */
export function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "-";
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString("en-US");
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 0.01) return n.toFixed(3);
  return n.toPrecision(3);
}

/** Renders rows as a Markdown table. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const lines = [
    "| section | figure | value | ceiling (same run) | ratio | note |",
    "|---|---|---:|---|---:|---|",
  ];
  for (const r of rows) {
    const ceiling = r.ceilingName ? `${r.ceilingName}: ${fmt(r.ceiling)}` : "-";
    lines.push(
      `| ${r.section} | ${r.name} | ${fmt(r.value)} ${r.unit} | ${ceiling} | ${fmt(r.ratio)} | ${
        r.note ?? ""
      } |`,
    );
  }
  return lines.join("\n");
}

/** Describes this machine for the record. */
export async function machineDescription(): Promise<string> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/model name\s*:\s*(.*)/)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  const cores = navigator.hardwareConcurrency;
  const memGiB = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(0);
  return `${cpu}, ${cores} cores (nproc), ${memGiB} GiB RAM, Deno ${Deno.version.deno}, ${Deno.build.os}`;
}

/** The load average over 1, 5 and 15 minutes (`/proc/loadavg`), e.g. "9.92 10.49 10.57". */
export async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}
