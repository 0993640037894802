import { assertEquals, assertThrows } from "./assert.ts";
import { commitAtPosition, STREAM_META_KEY, StreamSequencer } from "../../server/stream.ts";
import { Notifier } from "../../server/notifier.ts";

Deno.test("stream: the visible position waits for every lower position", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const stream = new StreamSequencer();
    assertThrows(() => stream.allocate());
    await stream.load(kv);
    const seen: number[] = [];
    stream.onVisible((v) => seen.push(v));
    const [a, b, c] = [stream.allocate(), stream.allocate(), stream.allocate()];
    assertEquals([a, b, c], [1, 2, 3]);
    stream.complete(c);
    assertEquals(stream.visiblePosition, 0);
    stream.complete(a);
    assertEquals(stream.visiblePosition, 1);
    stream.abandon(b);
    assertEquals(stream.visiblePosition, 3);
    assertEquals(seen, [1, 3]);
    stream.complete(b); // finishing twice changes nothing
    assertEquals(stream.visiblePosition, 3);
  } finally {
    kv.close();
  }
});

Deno.test("stream: positions continue after the persisted maximum", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const first = new StreamSequencer();
    await first.load(kv);
    const pos = await commitAtPosition(kv, first, (op, p) => {
      op.set(["test", p], "x");
    });
    assertEquals(pos, 1);
    // A failed check abandons the position and retries with a new one.
    let tries = 0;
    const retried = await commitAtPosition(kv, first, (op) => {
      if (tries++ === 0) op.check({ key: ["test", 1], versionstamp: null });
    });
    assertEquals(retried, 3);
    assertEquals(first.visiblePosition, 3);
    assertEquals(Number((await kv.get<Deno.KvU64>(STREAM_META_KEY)).value!.value), 3);
    const second = new StreamSequencer();
    await second.load(kv);
    assertEquals(second.visiblePosition, 3);
    assertEquals(second.allocate(), 4);
  } finally {
    kv.close();
  }
});

Deno.test("notifier: wakes only once the position is visible, keyed by user and room", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const stream = new StreamSequencer();
    await stream.load(kv);
    const notifier = new Notifier(stream);
    notifier.setMembership("!r:x", "@a:x", "join");
    notifier.setMembership("!r:x", "@b:x", "invite");
    notifier.setMembership("!r:x", "@c:x", "leave");
    const low = stream.allocate();
    const high = stream.allocate();
    let woken = false;
    const wait = notifier.waitForChange("@a:x", 0, 5_000).then((v) => (woken = v));
    const waitB = notifier.waitForChange("@b:x", 0, 5_000);
    const waitC = notifier.waitForChange("@c:x", 0, 30);
    stream.complete(high);
    notifier.notifyRoom("!r:x", high);
    await new Promise((r) => setTimeout(r, 5));
    assertEquals(woken, false, "held back until the lower position finishes");
    stream.complete(low);
    assertEquals(await wait, true);
    assertEquals(await waitB, true);
    assertEquals(await waitC, false);
    assertEquals(notifier.waiterCount, 0);
    const abort = new AbortController();
    const aborted = notifier.waitForChange("@a:x", high, 5_000, abort.signal);
    abort.abort();
    assertEquals(await aborted, false);
  } finally {
    kv.close();
  }
});
