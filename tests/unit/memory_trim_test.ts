import { assert, assertEquals } from "./assert.ts";
import { LruCache, trimIdleCaches } from "../../server/rooms/lru.ts";
import {
  mallocTrimAvailable,
  processCpuMs,
  startIdleMemoryTrim,
} from "../../server/memory_trim.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("idle memory trim: once per burst, only after the idle time, never while busy", async () => {
  let requests = 0;
  let trims = 0;
  const trimmer = startIdleMemoryTrim({
    activity: () => requests,
    idleMs: 150,
    cpuMs: () => null,
    trim: () => trims++,
  });
  try {
    // Idle from the start with no request served: nothing to give back.
    await sleep(200);
    assertEquals(trims, 0);
    // Busy: a request every 20 ms for 300 ms never leaves 150 ms of quiet.
    for (let i = 0; i < 15; i++) {
      requests++;
      await sleep(20);
    }
    assertEquals(trims, 0);
    // Quiet after the burst: one trim, and no more while it stays quiet.
    await sleep(700);
    assertEquals(trims, 1);
    await sleep(200);
    assertEquals(trims, 1);
    // The next burst gets its own.
    requests++;
    await sleep(700);
    assertEquals([trims, trimmer.trims], [2, 2]);
  } finally {
    trimmer.stop();
  }
});

Deno.test("idle memory trim: glibc's malloc_trim loads on Linux", () => {
  if (Deno.build.os === "linux") assertEquals(mallocTrimAvailable(), true);
});

Deno.test("idle memory trim: the first quiet moment after start counts sooner", async () => {
  let requests = 0;
  let trims = 0;
  const trimmer = startIdleMemoryTrim({
    activity: () => requests,
    idleMs: 600,
    firstIdleMs: 60,
    cpuMs: () => null,
    trim: () => trims++,
  });
  try {
    requests++;
    await sleep(300);
    assertEquals(trims, 1);
    // Later bursts wait for the full idle time.
    requests++;
    await sleep(300);
    assertEquals(trims, 1);
    await sleep(600);
    assertEquals(trims, 2);
  } finally {
    trimmer.stop();
  }
});

Deno.test("idle memory trim: caches with an idle bound shrink to it, the most recent entries stay", () => {
  const bounded = new LruCache<number, string>(Infinity, {
    maxBytes: 1000,
    idleBytes: 400,
    sizeOf: () => 100,
  });
  const unbounded = new LruCache<number, string>(Infinity, { maxBytes: 1000, sizeOf: () => 100 });
  for (let i = 0; i < 10; i++) {
    bounded.set(i, `v${i}`);
    unbounded.set(i, `v${i}`);
  }
  // The eleventh entry makes the clock pass once (clearing every flag) and evict the oldest;
  // the entries read after that are the recent ones.
  bounded.set(10, "v10");
  for (const i of [7, 8, 9]) bounded.get(i);
  const dropped = trimIdleCaches();
  assert(dropped >= 600, `dropped ${dropped}`);
  assertEquals([bounded.size, bounded.bytes], [4, 400]);
  assertEquals([7, 8, 9, 10].map((i) => bounded.get(i)), ["v7", "v8", "v9", "v10"]);
  assertEquals(unbounded.size, 10);
  // Within the bound already: nothing to drop.
  assertEquals(bounded.trimToIdle(), 0);
});

Deno.test("idle memory trim: a busy process is not idle even when no request starts", async () => {
  let requests = 0;
  let cpu = 0;
  let trims = 0;
  const trimmer = startIdleMemoryTrim({
    activity: () => requests,
    idleMs: 150,
    cpuMs: () => cpu,
    trim: () => trims++,
  });
  try {
    // One long request: it started, and the process works on it (CPU time keeps rising).
    requests++;
    for (let i = 0; i < 20; i++) {
      cpu += 20;
      await sleep(20);
    }
    assertEquals(trims, 0);
    // Done and quiet: one trim.
    await sleep(600);
    assertEquals(trims, 1);
  } finally {
    trimmer.stop();
  }
});

Deno.test("idle memory trim: the process CPU time is readable on Linux", () => {
  if (Deno.build.os !== "linux") return;
  const before = processCpuMs();
  assert(before !== null && before >= 0, String(before));
  const start = performance.now();
  while (performance.now() - start < 100) { /* busy */ }
  assert(processCpuMs()! >= before);
});
