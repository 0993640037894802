/**
 * Group commit: writes that share nothing (events of different rooms) ride in one atomic KV
 * commit when they arrive while another commit is in flight. Each write is still atomic on its
 * own: a batch that fails (a KV limit) is retried one write per commit, so a write fails only
 * when it fails alone.
 *
 * @module
 */

/** One logical write: its mutations and its size, for KV's per-commit limits. */
export interface QueuedWrite {
  /** Adds the write's mutations to `op` (called once per attempt). */
  apply(op: Deno.AtomicOperation): void;
  /** Number of mutations `apply` adds. */
  mutations: number;
  /** Estimated bytes of keys and values. */
  bytes: number;
  /** Estimated bytes of keys alone. */
  keyBytes: number;
}

/** KV's limits per commit (1000 mutations, 800 KiB, 80 KiB of keys), with margins. */
const LIMITS = { mutations: 900, bytes: 600 * 1024, keyBytes: 64 * 1024 };

interface Pending {
  write: QueuedWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Serialises commits and batches the writes that wait for the one in flight. */
export class CommitQueue {
  readonly #kv: Deno.Kv;
  #waiting: Pending[] = [];
  #running = false;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Resolves once the write has committed; rejects if it cannot commit. */
  commit(write: QueuedWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ write, resolve, reject });
      if (!this.#running) this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#takeBatch();
        await this.#commitBatch(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let mutations = 0, bytes = 0, keyBytes = 0;
    while (this.#waiting.length > 0) {
      const { write } = this.#waiting[0];
      const fits = mutations + write.mutations <= LIMITS.mutations &&
        bytes + write.bytes <= LIMITS.bytes && keyBytes + write.keyBytes <= LIMITS.keyBytes;
      if (batch.length > 0 && !fits) break;
      batch.push(this.#waiting.shift()!);
      mutations += write.mutations;
      bytes += write.bytes;
      keyBytes += write.keyBytes;
    }
    return batch;
  }

  async #commitBatch(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const op = this.#kv.atomic();
        for (const { write } of batch) write.apply(op);
        if ((await op.commit()).ok) {
          for (const pending of batch) pending.resolve();
          return;
        }
      } catch {
        // Fall through: commit one by one, so only a write that fails alone fails.
      }
    }
    for (const pending of batch) {
      try {
        const op = this.#kv.atomic();
        pending.write.apply(op);
        if ((await op.commit()).ok) pending.resolve();
        else pending.reject(new Error("commit check failed"));
      } catch (err) {
        pending.reject(err);
      }
    }
  }
}
