import { assert, assertEquals } from "./assert.ts";
import { LruCache } from "../../server/rooms/lru.ts";
import { Notifier } from "../../server/notifier.ts";
import { StreamSequencer } from "../../server/stream.ts";

Deno.test("lru: a hit gives an entry a second chance; the oldest unused entry goes", () => {
  const cache = new LruCache<string, number>(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  assertEquals(cache.get("a"), 1);
  cache.set("d", 4);
  // "a" was used: "b" is the oldest unused entry.
  assertEquals(cache.has("b"), false);
  assertEquals([cache.has("a"), cache.has("c"), cache.has("d")], [true, true, true]);
  // The sweep moved "a" behind "d" and cleared its mark: "c" is now the oldest.
  cache.set("e", 5);
  assertEquals([cache.has("a"), cache.has("c"), cache.has("d")], [true, false, true]);
  cache.set("f", 6);
  assertEquals([cache.has("a"), cache.has("d")], [true, false]);
  assertEquals(cache.size, 3);
  // Replacing a value keeps the entry; deleting frees it.
  cache.set("e", 50);
  assertEquals(cache.get("e"), 50);
  cache.delete("e");
  assertEquals(cache.get("e"), undefined);
  assertEquals(cache.size, 2);
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
