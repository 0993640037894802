/**
 * The bench's report shapes: memory rows marked against the targets, and the
 * side-by-side rows of `--vs synapse` (pairing by figure, ratio gemeng/Synapse, who is ahead).
 */

import { assert, assertEquals } from "./assert.ts";
import { memoryRows, QUICK_SIZES, type ServerBenchResult } from "../../bench/server_scenarios.ts";
import { advantage, pairRows, vsMarkdownTable } from "../../bench/vs_synapse.ts";
import type { BenchRow } from "../../bench/report.ts";

const MB = 1e6;

function result(memory: ServerBenchResult["memory"]): ServerBenchResult {
  return {
    sizes: QUICK_SIZES,
    targetName: "gemeng",
    login: null,
    send: {
      gemeng: {} as never,
      raw: {} as never,
      peakBytes: 150 * MB,
    },
    fanout: { gemeng: {} as never, raw: {} as never, peakBytes: 260 * MB },
    initialSync: null,
    idle: null,
    memory,
    otherCoreShare: 0,
  };
}

Deno.test("bench report: memory rows say which targets are met", () => {
  const rows = memoryRows(
    result({
      idleStartBytes: 70 * MB,
      idleAfterBytes: 95 * MB,
      afterScenarioBytes: { send: 110 * MB, "fan-out": 130 * MB },
      settleMs: 5000,
      registrationPeakBytes: 90 * MB,
      rawIdleBytes: 20 * MB,
      rawPeakBytes: 40 * MB,
    }),
    "server",
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  const note = (name: string) => {
    const row = byName.get(name);
    assert(row, `no row ${name}: ${[...byName.keys()].join(", ")}`);
    return row.note ?? "";
  };
  assert(note("memory, resident, idle after start").endsWith("<= 80 MB: met"));
  assert(note("memory, resident, idle after the scenarios").includes("NOT met"));
  assert(note("memory, peak resident during send").endsWith("<= 200 MB: met"));
  assert(note("memory, peak resident during fan-out").endsWith("<= 200 MB: NOT met"));
  assert(note("memory, resident 5 s after send ended").startsWith("40 MB above idle"));
  assert(note("memory, resident 5 s after send ended").endsWith(": met"));
  assert(note("memory, resident 5 s after fan-out ended").endsWith(": NOT met"));
  assertEquals(byName.get("memory, resident 5 s after send ended")?.value, 110);
  assert(!byName.has("memory, peak resident during login"), "no row for a scenario not run");
});

Deno.test("bench report: no memory rows without a measured process", () => {
  assertEquals(memoryRows(result(null), "server").length, 0);
});

Deno.test("bench report: --vs synapse pairs figures and says who is ahead", () => {
  const row = (section: string, name: string, value: number, unit: string): BenchRow => ({
    section,
    name,
    value,
    unit,
    ceilingName: "raw",
    ceiling: 1,
  });
  const gemeng = [
    row("ceiling", "raw Deno.serve requests", 9000, "/s"),
    row("server", "send: events", 1000, "/s"),
    row("server", "fan-out p99", 100, "ms"),
    row("server", "memory, peak", 150, "MB"),
    row("server", "only gemeng", 1, "ms"),
  ];
  const synapse = [
    row("server (Synapse)", "send: events", 100, "/s"),
    row("server (Synapse)", "fan-out p99", 400, "ms"),
    row("server (Synapse)", "memory, peak", 100, "MB"),
  ];
  const rows = pairRows(gemeng, synapse);
  assertEquals(rows.map((r) => r.name), [
    "send: events",
    "fan-out p99",
    "memory, peak",
    "only gemeng",
  ]);
  assertEquals(rows[0].ratio, 10);
  assertEquals(advantage(rows[0]), "gemeng 10.0x");
  assertEquals(rows[1].ratio, 0.25);
  assertEquals(advantage(rows[1]), "gemeng 4.000x");
  assertEquals(advantage(rows[2]), "Synapse 1.500x");
  assertEquals(rows[3].synapse, undefined);
  assertEquals(advantage(rows[3]), "-");
  const table = vsMarkdownTable(rows).split("\n");
  assertEquals(table.length, 2 + rows.length);
  assert(table[0].includes("gemeng/Synapse"));
  assert(table[2].startsWith("| send: events | 1,000 /s | 100.0 /s | 10.0 | gemeng 10.0x |"));
});
