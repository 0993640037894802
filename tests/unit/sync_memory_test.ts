import { assert, assertEquals } from "./assert.ts";
import { LruCache } from "../../server/rooms/lru.ts";
import { Notifier } from "../../server/notifier.ts";
import { StreamSequencer } from "../../server/stream.ts";

Deno.test("lru: entries used since the last sweep stay; unused ones go first", () => {
  const cache = new LruCache<string, number>(4);
  for (const key of ["a", "b", "c", "d"]) cache.set(key, key.charCodeAt(0));
  // The first eviction sweeps every (new, hence flagged) entry once and takes the first.
  cache.set("e", 5);
  assertEquals(cache.size, 4);
  assertEquals(cache.has("a"), false);
  // "c" is used again: the next evictions take the unused "b" and "d", never "c".
  assertEquals(cache.get("c"), 99);
  cache.set("f", 6);
  cache.set("g", 7);
  assertEquals([cache.has("b"), cache.has("c"), cache.has("d")], [false, true, false]);
  assertEquals(cache.size, 4);
  // Replacing a value keeps the entry; deleting frees it, and its slot is reused.
  cache.set("c", 30);
  assertEquals(cache.get("c"), 30);
  cache.delete("c");
  assertEquals(cache.get("c"), undefined);
  assertEquals(cache.size, 3);
  cache.set("h", 8);
  assertEquals(cache.size, 4);
  assertEquals(cache.get("h"), 8);
});

Deno.test("lru: a long scan through a small cache stays fast and bounded", () => {
  const cache = new LruCache<number, number>(1000);
  const started = performance.now();
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 5000; i++) {
      if (cache.get(i) === undefined) cache.set(i, i);
    }
  }
  assertEquals(cache.size, 1000);
  // 100,000 misses: linear work (a Map-queue with holes made this quadratic).
  assert(performance.now() - started < 2000);
});

Deno.test("lru: bounded by the bytes of its values", () => {
  const cache = new LruCache<string, string>(Infinity, {
    maxBytes: 100,
    sizeOf: (value) => value.length,
  });
  cache.set("a", "x".repeat(40));
  cache.set("b", "x".repeat(40));
  assertEquals(cache.bytes, 80);
  cache.set("c", "x".repeat(40));
  assertEquals(cache.has("a"), false);
  assertEquals(cache.bytes, 80);
  // A value larger than the whole bound is not kept.
  cache.set("huge", "x".repeat(200));
  assertEquals(cache.has("huge"), false);
  assert(cache.bytes <= 100);
  // Growing a value in place evicts others.
  cache.clear();
  cache.set("a", "x".repeat(10));
  cache.set("b", "x".repeat(10));
  cache.set("a", "x".repeat(95));
  assertEquals([cache.has("a"), cache.has("b")], [true, false]);
  assertEquals(cache.bytes, 95);
});

Deno.test("notifier: quiet only above what this process has announced", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["meta", "stream"], new Deno.KvU64(10n));
    const stream = new StreamSequencer();
    const notifier = new Notifier(stream);
    // Before the stream is loaded nothing can be known.
    assertEquals(notifier.quietSince("@a:x", 10), false);
    await stream.load(kv);
    // Positions up to 10 were written by an earlier process: not quiet below that.
    assertEquals(notifier.quietSince("@a:x", 5), false);
    assertEquals(notifier.quietSince("@a:x", 10), true);
    const pos = stream.allocate();
    stream.complete(pos);
    notifier.notifyUsers(["@a:x"], pos);
    assertEquals(notifier.quietSince("@a:x", 10), false);
    assertEquals(notifier.quietSince("@a:x", pos), true);
    assertEquals(notifier.quietSince("@b:x", 10), true);
    // Typing wakes a waiter whose serial is lower, and is remembered for later waiters.
    const waiting = notifier.waitForSync("@a:x", {
      since: pos,
      typing: 100,
      timeoutMs: 5000,
    });
    notifier.notifyTyping(["@a:x"], 101);
    assertEquals(await waiting, true);
    assertEquals(notifier.latestTyping("@a:x"), 101);
    assertEquals(
      await notifier.waitForSync("@a:x", { since: pos, typing: 100, timeoutMs: 5000 }),
      true,
    );
    assertEquals(
      await notifier.waitForSync("@a:x", { since: pos, typing: 101, timeoutMs: 10 }),
      false,
    );
    assertEquals(notifier.waiterCount, 0);
  } finally {
    kv.close();
  }
});

Deno.test("notifier: a fresh process with no writes knows its base once loaded", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["meta", "stream"], new Deno.KvU64(7n));
    const stream = new StreamSequencer();
    const notifier = new Notifier(stream);
    await stream.load(kv);
    assertEquals(notifier.quietSince("@a:x", 6), false);
    assertEquals(notifier.quietSince("@a:x", 7), true);
    // A write in flight: still quiet for a token at the base until announced.
    const pos = stream.allocate();
    assertEquals(notifier.quietSince("@a:x", 7), true);
    stream.complete(pos);
    assertEquals(notifier.quietSince("@a:x", 7), true);
    notifier.notifyUsers(["@a:x"], pos);
    assertEquals(notifier.quietSince("@a:x", 7), false);
  } finally {
    kv.close();
  }
});
