/**
 * Proves the client-load bench section runs end to end: a tiny version of every scenario
 * against a gemeng subprocess and the raw `Deno.serve` ceiling process. Only that every figure
 * is a finite number is asserted; timings are never asserted in tests.
 */

import { assert } from "../unit/assert.ts";
import { runServerScenarios, serverRows, TINY_SIZES } from "../../bench/server_scenarios.ts";

Deno.test("bench: the client-load section produces every figure", async () => {
  const kv = { singleCommitsPerSec: 1000, batchedWritesPerSec: 10_000, writeMBps: 1, readMBps: 1 };
  const result = await runServerScenarios({ quick: true, kv, sizes: TINY_SIZES, log: () => {} });
  const rows = serverRows(result, kv);
  const names = rows.map((r) => r.name).join("\n");
  for (
    const expected of [
      "raw Deno.serve requests",
      "send,",
      "fan-out,",
      "initial sync,",
      "idle long-polls,",
      "login",
      "memory, resident, idle after start",
      "memory, peak resident during",
      "s after send ended",
    ]
  ) {
    assert(names.includes(expected), `no row for ${expected}:\n${names}`);
  }
  for (const row of rows) {
    assert(Number.isFinite(row.value), `${row.name}: ${row.value} is not a finite number`);
    if (row.ceiling !== undefined) {
      assert(Number.isFinite(row.ceiling), `${row.name}: ceiling ${row.ceiling} is not finite`);
    }
  }
  assert(result.fanout?.gemeng.missing === 0, "every fan-out message reached every member");
});
