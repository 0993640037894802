/**
 * Proves the federation bench section runs end to end in its quick sizes (inbound PDUs over
 * TLS, a remote join with its memory figure, fan-out, a room key shared with remote devices,
 * remote `/keys/query` cold and warm), so `deno task bench` cannot break unnoticed.
 * Only that every figure is a finite number is asserted; timings never are.
 */

import { assert } from "../unit/assert.ts";
import { QUICK_SIZES, runFederationBench } from "../../bench/federation.ts";
import { CA_MISSING, skipUnless } from "../federation/support/peers.ts";

Deno.test({
  name: "bench: the federation section produces every figure",
  ...skipUnless(CA_MISSING),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const kv = {
      singleCommitsPerSec: 1000,
      batchedWritesPerSec: 10_000,
      writeMBps: 1,
      readMBps: 1,
    };
    const rows = await runFederationBench({ quick: true, kv, sizes: QUICK_SIZES, log: () => {} });
    const names = rows.map((r) => r.name).join("\n");
    for (
      const expected of [
        "inbound PDUs verified and persisted",
        "join a remote room",
        "memory, peak resident while joining",
        "memory, resident after the join ended",
        "outbound fan-out",
        "room key to",
        "federation transactions sent for one room-key share",
        "/keys/query for 10 remote users on 2 servers, cold cache",
        "/keys/query for 10 remote users on 2 servers, warm cache",
      ]
    ) {
      assert(names.includes(expected), `no row for ${expected}:\n${names}`);
    }
    for (const row of rows) {
      assert(Number.isFinite(row.value) && row.value > 0, `${row.name}: ${row.value}`);
      if (row.ceiling !== undefined) assert(Number.isFinite(row.ceiling), `${row.name}: ceiling`);
    }
  },
});
