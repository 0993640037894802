import v8 from "node:v8";
import vm from "node:vm";
import { assert, assertEquals } from "./assert.ts";
import { CommitQueue, type CommitTicket } from "../../server/rooms/commit_queue.ts";
import { Mutations } from "../../server/rooms/mutations.ts";

/** A full garbage collection (V8's `gc`, exposed for this process). */
function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
}

/** Queues `count` writes each built on the one before; only weak references to them escape. */
function enqueueChain(
  queue: CommitQueue,
  count: number,
): { written: WeakRef<Mutations>[]; tail: CommitTicket } {
  const written: WeakRef<Mutations>[] = [];
  let tail: CommitTicket | undefined;
  for (let i = 0; i < count; i++) {
    const m = new Mutations().set(["k", i], "x".repeat(10_000) + i);
    written.push(new WeakRef(m));
    tail = queue.enqueue(m, { after: tail });
  }
  return { written, tail: tail! };
}

Deno.test("commit queue: a settled write's mutations are not kept by the tickets built on it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const queue = new CommitQueue(kv);
    // A room's lineage keeps only its newest ticket, which depends on the one before, and so on.
    const { written, tail } = enqueueChain(queue, 20);
    await tail.done;
    assertEquals(tail.state, "committed");
    // Let the queue's own loop finish before collecting.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    const kept = written.filter((ref) => ref.deref() !== undefined).length;
    assertEquals(kept, 0, `${kept} of 20 committed writes still in memory`);
    assert((await kv.get(["k", 19])).value !== null);
  } finally {
    kv.close();
  }
});
