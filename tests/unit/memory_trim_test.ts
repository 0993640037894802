import { assertEquals } from "./assert.ts";
import { startIdleMemoryTrim } from "../../server/memory_trim.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("idle memory trim: once per burst, only after the idle time, never while busy", async () => {
  let requests = 0;
  let trims = 0;
  const trimmer = startIdleMemoryTrim({
    activity: () => requests,
    idleMs: 150,
    trim: () => trims++,
  })!;
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
  const trimmer = startIdleMemoryTrim({ activity: () => 0 });
  try {
    if (Deno.build.os === "linux") assertEquals(trimmer !== null, true);
  } finally {
    trimmer?.stop();
  }
});
