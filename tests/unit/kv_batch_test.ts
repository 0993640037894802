/**
 * server/store/kv_batch.ts against a real (in-memory) Deno KV: its size measures agree with
 * the limits KV enforces, and batches cut by them always commit.
 */

import { assert, assertEquals } from "./assert.ts";
import {
  addCosts,
  checkCost,
  commitBatches,
  deleteRange,
  getManyChunked,
  KV_LIMITS,
  kvKeyBytes,
  kvValueBytes,
  setCost,
} from "../../server/store/kv_batch.ts";

/** Whether a commit built by `build` goes through (false when it breaks a KV limit). */
async function commits(kv: Deno.Kv, build: (op: Deno.AtomicOperation) => void): Promise<boolean> {
  const op = kv.atomic();
  build(op);
  try {
    return (await op.commit()).ok;
  } catch {
    return false;
  }
}

Deno.test("getManyChunked reads any number of keys in order", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (let i = 0; i < 95; i += 2) await kv.set(["n", i], i);
    const entries = await getManyChunked<number>(
      kv,
      Array.from({ length: 95 }, (_, i) => ["n", i]),
    );
    assertEquals(entries.length, 95);
    entries.forEach((entry, i) => assertEquals(entry.value, i % 2 === 0 ? i : null));
    assertEquals(await getManyChunked(kv, []), []);
  } finally {
    kv.close();
  }
});

Deno.test("kvKeyBytes and kvValueBytes measure what KV's limits count", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // Set keys filling exactly the key-size limit commit; one byte more does not.
    const keysOf = (total: number) => {
      const keys: Deno.KvKey[] = [];
      for (let used = 0, i = 0; used < total; i++) {
        const n = Math.min(1000, total - used);
        keys.push(["k", i, "x".repeat(n - 14)]);
        used += n;
      }
      return keys;
    };
    const exact = keysOf(KV_LIMITS.totalKeyBytes);
    assertEquals(exact.reduce((sum, key) => sum + kvKeyBytes(key), 0), KV_LIMITS.totalKeyBytes);
    assert(await commits(kv, (op) => exact.forEach((key) => op.set(key, 1))));
    assert(
      !await commits(kv, (op) => keysOf(KV_LIMITS.totalKeyBytes + 1).forEach((k) => op.set(k, 1))),
    );
    // NULs and multi-byte characters count as encoded.
    assertEquals(kvKeyBytes(["a\0b", "é", new Uint8Array([0, 1])]), 15);
    // One character above U+00FF makes a string two bytes a character.
    const ascii = "x".repeat(40_000);
    assert(kvValueBytes(ascii) < KV_LIMITS.valueBytes);
    assert(kvValueBytes(ascii + "\u4e00") > KV_LIMITS.valueBytes);
    let lo = 0;
    for (let hi = 70_000; lo < hi;) {
      const mid = (lo + hi + 1) >> 1;
      if (await commits(kv, (op) => op.set(["v"], "a".repeat(mid)))) lo = mid;
      else hi = mid - 1;
    }
    assertEquals(kvValueBytes("a".repeat(lo)), KV_LIMITS.valueBytes);
  } finally {
    kv.close();
  }
});

Deno.test("commitBatches cuts batches that commit, however large the items", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const items = Array.from({ length: 300 }, (_, i) => ({
      key: ["item", i, "y".repeat(1500)] as Deno.KvKey,
      value: "\u4e00" + "z".repeat(20_000 + i),
    }));
    const batches = commitBatches(
      items,
      (item) => addCosts(checkCost(item.key), setCost(item.key, { value: item.value })),
      { maxItems: 90 },
    );
    assertEquals(batches.flat().length, items.length);
    assert(batches.length > 4);
    for (const batch of batches) {
      assert(
        await commits(kv, (op) => {
          for (const item of batch) op.check({ key: item.key, versionstamp: null });
          for (const item of batch) op.set(item.key, item.value);
        }),
      );
    }
  } finally {
    kv.close();
  }
});

// 500 deletes of 2 KB keys exceed the 800 KiB payload of one commit.
Deno.test("deleteRange deletes many long keys, by prefix or range", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (let i = 0; i < 1200; i += 30) {
      const op = kv.atomic();
      for (let j = i; j < i + 30; j++) op.set(["long", j, "x".repeat(2000)], true);
      await op.commit();
    }
    await deleteRange(kv, { start: ["long", 0], end: ["long", 600] });
    assertEquals((await Array.fromAsync(kv.list({ prefix: ["long"] }))).length, 600);
    await deleteRange(kv, { prefix: ["long"] });
    assertEquals((await Array.fromAsync(kv.list({ prefix: ["long"] }))).length, 0);
  } finally {
    kv.close();
  }
});
