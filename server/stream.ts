/**
 * The global stream: one monotonic position for everything `/sync` reports (room events,
 * receipts, account data, to-device messages, device lists, presence).
 *
 * The process is the only writer, so positions are handed out in memory. A writer persists the
 * high-water mark in the same atomic commit as its data (`atomic.max(["meta","stream"], pos)`,
 * which never conflicts), then calls {@link StreamSequencer.complete}. Commits finish out of
 * order, so readers must not read up to the highest committed position: a write at a lower
 * position may still be in flight and would be skipped forever. Readers stop at
 * {@link StreamSequencer.visiblePosition}: the highest position P such that every position
 * <= P has committed or been abandoned.
 *
 * After a restart positions continue after the persisted maximum. Positions allocated but never
 * committed before a crash are simply gaps.
 *
 * @module
 */

/** The key of the persisted high-water mark (a `Deno.KvU64`). */
export const STREAM_META_KEY: Deno.KvKey = ["meta", "stream"];

/** Told each time the visible position advances. */
export type VisibleListener = (visible: number) => void;

/** Allocates stream positions and tracks which of them readers may see. */
export class StreamSequencer {
  #next = 0;
  #visible = 0;
  /** Allocated positions not yet completed or abandoned, in allocation order. */
  readonly #pending = new Set<number>();
  readonly #listeners = new Set<VisibleListener>();
  #loaded = false;

  /** Reads the persisted high-water mark; call once before the first {@link allocate}. */
  async load(kv: Deno.Kv): Promise<void> {
    const entry = await kv.get<Deno.KvU64>(STREAM_META_KEY);
    const stored = entry.value ? Number(entry.value.value) : 0;
    this.#next = Math.max(this.#next, stored);
    this.#visible = Math.max(this.#visible, stored);
    this.#loaded = true;
  }

  /** Whether {@link load} has run. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * A fresh position, higher than every position handed out or persisted before. The caller
   * must later {@link complete} or {@link abandon} it, or the visible position stalls.
   */
  allocate(): number {
    if (!this.#loaded) throw new Error("StreamSequencer.load() was not awaited");
    const pos = ++this.#next;
    this.#pending.add(pos);
    return pos;
  }

  /** The write at `pos` committed. */
  complete(pos: number): void {
    this.#finish(pos);
  }

  /** The write at `pos` will never commit (failed or given up). */
  abandon(pos: number): void {
    this.#finish(pos);
  }

  /** The highest position below which every write has finished: readers stop here. */
  get visiblePosition(): number {
    return this.#visible;
  }

  /** The highest position handed out so far. */
  get highestAllocated(): number {
    return this.#next;
  }

  /** Calls `listener` after each advance of the visible position; returns an unsubscribe. */
  onVisible(listener: VisibleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #finish(pos: number): void {
    if (!this.#pending.delete(pos)) return;
    // A Set iterates in insertion order and positions are inserted ascending, so its first
    // element is the lowest pending position.
    const lowestPending = this.#pending.values().next();
    const visible = lowestPending.done ? this.#next : lowestPending.value - 1;
    if (visible <= this.#visible) return;
    this.#visible = visible;
    for (const listener of this.#listeners) {
      try {
        listener(visible);
      } catch (err) {
        console.error("stream listener failed:", err);
      }
    }
  }
}

/**
 * Commits `build`'s mutations at a fresh position, with the high-water mark in the same commit,
 * retrying with a new position when `build`'s checks fail.
 *
 * @param build adds mutations and checks to `op`; returning false abandons the write
 * @returns the position, or null when `build` gave up or every attempt's checks failed
 */
export async function commitAtPosition(
  kv: Deno.Kv,
  stream: StreamSequencer,
  build: (op: Deno.AtomicOperation, pos: number) => Promise<boolean | void> | boolean | void,
  options: { attempts?: number } = {},
): Promise<number | null> {
  for (let attempt = 0; attempt < (options.attempts ?? 10); attempt++) {
    const pos = stream.allocate();
    let committed = false;
    try {
      const op = kv.atomic();
      if ((await build(op, pos)) === false) return null;
      op.max(STREAM_META_KEY, BigInt(pos));
      committed = (await op.commit()).ok;
      if (committed) return pos;
    } finally {
      if (committed) stream.complete(pos);
      else stream.abandon(pos);
    }
  }
  return null;
}
