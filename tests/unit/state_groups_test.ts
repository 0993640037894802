import { assertEquals } from "./assert.ts";
import { stateTupleKey } from "../../federation/types.ts";
import {
  chunkState,
  diffStates,
  MAX_CHAIN_LENGTH,
  SNAPSHOT_CHUNK_BYTES,
  StateStore,
} from "../../server/rooms/state_store.ts";
import { Mutations } from "../../server/rooms/mutations.ts";

async function commit(
  kv: Deno.Kv,
  store: StateStore,
  prepared: Awaited<ReturnType<StateStore["prepare"]>>,
) {
  const m = new Mutations();
  store.write(m, prepared);
  const op = kv.atomic();
  m.apply(op);
  assertEquals((await op.commit()).ok, true);
  store.committed(prepared);
}

Deno.test("state groups: deltas chain to snapshots and load from a cold cache", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new StateStore(kv);
    await store.load();
    let state = new Map<string, string>();
    let group: number | null = null;
    const groups: { group: number; state: Map<string, string> }[] = [];
    for (let i = 0; i < 3 * MAX_CHAIN_LENGTH; i++) {
      const next = new Map(state);
      next.set(stateTupleKey("m.room.member", `@u${i}:x`), `$e${i}`);
      if (i % 7 === 0) next.delete(stateTupleKey("m.room.member", `@u${i - 1}:x`));
      const prepared = await store.prepare("!r:x", next, { prev: group, prevState: state });
      if (group !== null && prepared.record.prev === null) {
        assertEquals(groups.length % MAX_CHAIN_LENGTH, 0, "a snapshot every MAX_CHAIN_LENGTH");
      }
      await commit(kv, store, prepared);
      groups.push({ group: prepared.group, state: next });
      state = next;
      group = prepared.group;
    }
    const cold = new StateStore(kv);
    await cold.load();
    for (const { group, state } of groups) assertEquals(await cold.stateOf(group), state);
    // The counter continues after the stored maximum.
    const next = await cold.prepare("!r:x", state, { prev: group, prevState: state });
    assertEquals(next.group, groups.at(-1)!.group + 1);
  } finally {
    kv.close();
  }
});

Deno.test("state groups: a 10,000-member state is chunked under the KV value limit", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const big = new Map<string, string>();
    for (let i = 0; i < 10_000; i++) {
      big.set(
        stateTupleKey("m.room.member", `@member-number-${i}:example.org`),
        `$${"e".repeat(43)}${i}`,
      );
    }
    const chunks = chunkState(big);
    for (const chunk of chunks) {
      assertEquals(JSON.stringify(chunk).length * 2 <= SNAPSHOT_CHUNK_BYTES + 1024, true);
    }
    const store = new StateStore(kv);
    await store.load();
    const prepared = await store.prepare("!r:x", big, { prev: null });
    assertEquals(prepared.record.chunks, chunks.length);
    await commit(kv, store, prepared);
    const cold = new StateStore(kv);
    await cold.load();
    assertEquals((await cold.stateOf(prepared.group)).size, 10_000);
    assertEquals(diffStates(big, big), []);
  } finally {
    kv.close();
  }
});
