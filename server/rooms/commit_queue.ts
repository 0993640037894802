/**
 * Group commit: writes that wait while another commit is in flight ride in one atomic KV
 * commit. Each write is still atomic on its own: a batch that fails (a KV limit) is retried one
 * write per commit, so a write fails only when it fails alone.
 *
 * Writes commit in the order they were queued (FIFO). A write may depend on an earlier one
 * (`after`): the events of a room are built on top of each other before they commit, so when
 * one fails, the writes built on it must not commit either; they fail with
 * {@link CommitDependencyError} without being tried.
 *
 * Keys that every write of a kind rewrites (a room's head, the stream's high-water mark) are
 * written once per batch: writes mark them shared, and the batch keeps the last value set (the
 * highest, for `max`), which is what committing them one after the other would leave.
 *
 * @module
 */

/** One logical write: its mutations and its size, for KV's per-commit limits. */
export interface QueuedWrite {
  /**
   * Adds the write's mutations to `op` (called once per attempt); those to shared keys go to
   * `shared` when given (a batch of several writes).
   */
  apply(op: Deno.AtomicOperation, shared?: SharedWrites): void;
  /** Number of mutations `apply` adds. */
  mutations: number;
  /** Estimated bytes of keys and values. */
  bytes: number;
  /** Estimated bytes of keys alone. */
  keyBytes: number;
}

/** A queued write's progress. */
export interface CommitTicket {
  /** "queued" until the write committed or failed. */
  readonly state: "queued" | "committed" | "failed";
  /** Resolves once the write has committed; rejects if it cannot commit. */
  readonly done: Promise<void>;
}

/** The write was not tried because a write it depends on failed. */
export class CommitDependencyError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "COMMIT_DEPENDENCY_FAILED";

  constructor() {
    super("an earlier write this one was built on failed to commit");
    this.name = "CommitDependencyError";
  }
}

/**
 * The mutations of a batch to keys several of its writes may set: the last `set` wins, the
 * highest `max` wins. Only for keys that every writer marks shared, so that no unshared
 * mutation of the same key is reordered against them.
 */
export class SharedWrites {
  readonly #sets = new Map<string, { key: Deno.KvKey; value: unknown }>();
  readonly #maxes = new Map<string, { key: Deno.KvKey; value: bigint }>();

  /** A set that a later write of the batch may replace. */
  set(key: Deno.KvKey, value: unknown): void {
    const id = keyId(key);
    this.#sets.delete(id);
    this.#sets.set(id, { key, value });
  }

  /** A `max` merged with the batch's other maxima of the same key. */
  max(key: Deno.KvKey, value: bigint): void {
    const id = keyId(key);
    const current = this.#maxes.get(id);
    if (!current || value > current.value) this.#maxes.set(id, { key, value });
  }

  /** Adds the merged mutations to `op`. */
  apply(op: Deno.AtomicOperation): void {
    for (const { key, value } of this.#sets.values()) op.set(key, value);
    for (const { key, value } of this.#maxes.values()) op.max(key, value);
  }
}

function keyId(key: Deno.KvKey): string {
  return JSON.stringify(key, (_, v) => typeof v === "bigint" ? `${v}n` : v);
}

/** KV's limits per commit (1000 mutations, 800 KiB, 80 KiB of keys), with margins. */
const LIMITS = { mutations: 900, bytes: 600 * 1024, keyBytes: 64 * 1024 };

/**
 * A queued write. Once settled it lets go of its write and of the ticket it depended on: a
 * room's lineage keeps its newest ticket, and a chain of settled tickets holding their
 * mutations would keep every write of the room in memory for as long as the room is cached.
 */
class Pending implements CommitTicket {
  state: "queued" | "committed" | "failed" = "queued";
  readonly done: Promise<void>;
  #write: QueuedWrite | undefined;
  #after: CommitTicket | undefined;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;

  constructor(write: QueuedWrite, after: CommitTicket | undefined) {
    this.#write = write;
    this.#after = after;
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that never awaits `done` must not cause an unhandled rejection.
    this.done.catch(() => {});
  }

  /** Whether a write this one depends on failed. */
  get doomed(): boolean {
    return this.#after?.state === "failed";
  }

  /** The write (only while queued). */
  get write(): QueuedWrite {
    if (!this.#write) throw new Error("a settled write was used again");
    return this.#write;
  }

  resolve(): void {
    this.state = "committed";
    this.#settled();
    this.#resolve();
  }

  reject(err: unknown): void {
    this.state = "failed";
    this.#settled();
    this.#reject(err);
  }

  #settled(): void {
    this.#write = undefined;
    this.#after = undefined;
  }
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
    return this.enqueue(write).done;
  }

  /**
   * Queues a write and returns its ticket at once. With `after`, the write commits only if
   * that earlier write committed (in an earlier batch or the same one).
   */
  enqueue(write: QueuedWrite, options: { after?: CommitTicket } = {}): CommitTicket {
    const pending = new Pending(write, options.after);
    this.#waiting.push(pending);
    if (!this.#running) this.#drain();
    return pending;
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#takeBatch();
        if (batch.length > 0) await this.#commitBatch(batch);
      }
    } finally {
      this.#running = false;
    }
  }

  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let mutations = 0, bytes = 0, keyBytes = 0;
    while (this.#waiting.length > 0) {
      const pending = this.#waiting[0];
      if (pending.doomed) {
        this.#waiting.shift();
        pending.reject(new CommitDependencyError());
        continue;
      }
      const { write } = pending;
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
        const shared = new SharedWrites();
        for (const { write } of batch) write.apply(op, shared);
        shared.apply(op);
        if ((await op.commit()).ok) {
          for (const pending of batch) pending.resolve();
          return;
        }
      } catch {
        // Fall through: commit one by one, so only a write that fails alone fails.
      }
    }
    for (const pending of batch) {
      // In order: a write that depends on an earlier one of this batch sees its outcome.
      if (pending.doomed) {
        pending.reject(new CommitDependencyError());
        continue;
      }
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
