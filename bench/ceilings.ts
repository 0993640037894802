/**
 * Ceilings: what the runtime itself can do on this machine, measured in the same run as the
 * figures compared with them.
 */

/** Raw Deno KV throughput on a fresh on-disk database. */
export interface KvCeilings {
  singleCommitsPerSec: number;
  batchedWritesPerSec: number;
  /** Sequential 64 KiB value writes, in MB/s. */
  writeMBps: number;
  /** Sequential 64 KiB value reads, in MB/s. */
  readMBps: number;
}

/** Measures raw KV commits: one key per commit, then 100 keys per atomic commit. */
export async function measureKvCeilings(options: { quick: boolean }): Promise<KvCeilings> {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-bench-kv-" });
  const kv = await Deno.openKv(`${dir}/raw.kv`);
  try {
    const singles = options.quick ? 500 : 3000;
    let t0 = performance.now();
    for (let i = 0; i < singles; i++) {
      await kv.set(["s", i], { i, body: "x".repeat(200) });
    }
    const singleCommitsPerSec = singles / ((performance.now() - t0) / 1000);

    const batches = options.quick ? 20 : 100;
    t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      const op = kv.atomic();
      for (let i = 0; i < 100; i++) op.set(["b", b, i], { i, body: "x".repeat(200) });
      await op.commit();
    }
    const batchedWritesPerSec = (batches * 100) / ((performance.now() - t0) / 1000);

    const chunk = new Uint8Array(64 * 1024 - 64).fill(7);
    const chunks = options.quick ? 200 : 1000;
    t0 = performance.now();
    for (let i = 0; i < chunks; i += 10) {
      const op = kv.atomic();
      for (let j = i; j < i + 10; j++) op.set(["c", j], chunk);
      await op.commit();
    }
    const writeMBps = (chunks * chunk.length) / 1e6 / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for await (const _ of kv.list({ prefix: ["c"] }, { batchSize: 100 })) { /* read all */ }
    const readMBps = (chunks * chunk.length) / 1e6 / ((performance.now() - t0) / 1000);
    return { singleCommitsPerSec, batchedWritesPerSec, writeMBps, readMBps };
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}
