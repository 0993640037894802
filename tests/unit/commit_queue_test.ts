import { assert, assertEquals } from "./assert.ts";
import { CommitDependencyError, CommitQueue } from "../../server/rooms/commit_queue.ts";
import { Mutations } from "../../server/rooms/mutations.ts";

Deno.test("commit queue: FIFO batches, dependencies fail with the write they depend on", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const queue = new CommitQueue(kv);
    const ok = (n: number) => new Mutations().set(["k", n], n);
    // A write over KV's per-commit limit fails alone, in a batch or not.
    const huge = new Mutations();
    for (let i = 0; i < 1200; i++) huge.set(["big", i], i);
    const first = queue.enqueue(ok(1));
    const second = queue.enqueue(ok(2), { after: first });
    const bad = queue.enqueue(huge, { after: second });
    const onBad = queue.enqueue(ok(3), { after: bad });
    const onOnBad = queue.enqueue(ok(4), { after: onBad });
    const independent = queue.enqueue(ok(5));
    const results = await Promise.allSettled(
      [first, second, bad, onBad, onOnBad, independent].map((t) => t.done),
    );
    assertEquals(results.map((r) => r.status), [
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    assert((results[3] as PromiseRejectedResult).reason instanceof CommitDependencyError);
    assert((results[4] as PromiseRejectedResult).reason instanceof CommitDependencyError);
    assertEquals([first.state, bad.state, onBad.state], ["committed", "failed", "failed"]);
    const stored = await Array.fromAsync(kv.list<number>({ prefix: ["k"] }));
    assertEquals(stored.map((e) => e.value), [1, 2, 5]);
    assertEquals((await kv.get(["big", 0])).value, null);
  } finally {
    kv.close();
  }
});

Deno.test("commit queue: shared keys keep the last value and the highest max per batch", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const queue = new CommitQueue(kv);
    const tickets = [];
    for (let i = 1; i <= 20; i++) {
      const m = new Mutations();
      m.set(["event", i], i);
      m.set(["head", i % 2], { last: i }, { shared: true });
      // Out of order on purpose: the highest wins, not the last.
      m.max(["meta", "stream"], i === 7 ? 1000 : i, { shared: true });
      tickets.push(queue.enqueue(m));
    }
    await Promise.all(tickets.map((t) => t.done));
    assertEquals((await kv.get(["head", 0])).value, { last: 20 });
    assertEquals((await kv.get(["head", 1])).value, { last: 19 });
    assertEquals((await kv.get<Deno.KvU64>(["meta", "stream"])).value?.value, 1000n);
    assertEquals((await Array.fromAsync(kv.list({ prefix: ["event"] }))).length, 20);
  } finally {
    kv.close();
  }
});
