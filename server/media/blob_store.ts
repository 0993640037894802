/**
 * Blobs: byte strings stored in Deno KV as fixed-size chunks (64 KiB, the KV value limit),
 * written while they stream in and read back as a stream, any byte range at a time.
 *
 * A blob is written under a fresh random blob ID. Its chunks are committed in batches of
 * {@link CHUNKS_PER_COMMIT} together with an "unowned" marker; the blob exists (has a
 * `media_blob` record) only once the caller's final commit writes the record and deletes the
 * marker. Chunks whose marker outlives its upload (a crash, a failed commit, a deleted blob) are
 * collected by {@link collectUnownedBlobs}. Chunks never move: publishing a blob is one small
 * commit, not a copy.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { randomString } from "../../crypto/tokens.ts";

/** Bytes per chunk: Deno KV's largest value. */
export const CHUNK_SIZE = 65536;
/** Chunks per atomic commit: 12 × 64 KiB stays under KV's 800 KiB per commit with room to spare. */
export const CHUNKS_PER_COMMIT = 12;
/** Batches queued for commit before {@link BlobWriter.write} pauses (12 MiB). */
const QUEUE_HIGH = 16;
/** Queue length at which a paused writer resumes. */
const QUEUE_LOW = 4;
/** Keys deleted per commit when freeing chunks (KV allows 1000 mutations). */
const DELETES_PER_COMMIT = 500;

/** Key builders of the blob layer. */
export const blobKeys = {
  /** A published blob: `["media_blob", blobId]`. */
  blob: (blobId: string): Deno.KvKey => ["media_blob", blobId],
  /** One chunk: `["media_chunk", blobId, index]`. */
  chunk: (blobId: string, index: number): Deno.KvKey => ["media_chunk", blobId, index],
  /** All chunks of a blob. */
  chunks: (blobId: string): Deno.KvKey => ["media_chunk", blobId],
  /** Chunks not owned by a published blob: `["media_unowned", blobId]`. */
  unowned: (blobId: string): Deno.KvKey => ["media_unowned", blobId],
  /** Every unowned marker. */
  allUnowned: (): Deno.KvKey => ["media_unowned"],
} as const;

/** `["media_blob", blobId]`: a published blob. */
export interface BlobRecord {
  blobId: string;
  /** Lowercase hex SHA-256 of the bytes. */
  sha256: string;
  size: number;
  chunkSize: number;
  chunkCount: number;
  /** How many media (and thumbnail records) use this blob; at 0 the blob is freed. */
  refs: number;
  createdTs: number;
}

/** `["media_unowned", blobId]`: chunks that no blob record owns (yet or any more). */
export interface UnownedRecord {
  /** Last time an upload wrote to these chunks; 0 for chunks that are garbage already. */
  touchedTs: number;
}

/** What a finished {@link BlobWriter} knows about its bytes. */
export interface WrittenBlob {
  blobId: string;
  sha256: string;
  size: number;
  chunkCount: number;
}

/** Raised by {@link BlobWriter.write} when the size limit is passed. */
export class BlobTooLargeError extends Error {
  /** Always `BLOB_TOO_LARGE`. */
  readonly code = "BLOB_TOO_LARGE";
  /** @param limit the limit in bytes */
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
    this.name = "BlobTooLargeError";
  }
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Writes one blob: feed bytes with {@link write}, then {@link digest} and {@link addPublish}
 * the records that publish it into the caller's final commit (with the last chunks), or
 * {@link abort}.
 *
 * Full batches of chunks queue up for a committer that runs beside the writer, so reading the
 * request body rarely waits for KV: a paused body read stalls TCP far longer than a commit
 * takes. Only when {@link QUEUE_HIGH} batches wait does {@link write} pause, until the queue is
 * down to {@link QUEUE_LOW}. Buffers of committed batches are reused.
 */
export class BlobWriter {
  /** The random ID the chunks are stored under. */
  readonly blobId: string = randomString(24);
  readonly #kv: Deno.Kv;
  readonly #maxBytes: number;
  readonly #hash: Hash = createHash("sha256");
  #full: Uint8Array[] = [];
  /** Chunk buffers whose commit finished, reused so a long upload allocates almost nothing. */
  #spare: Uint8Array[] = [];
  #current: Uint8Array = new Uint8Array(CHUNK_SIZE);
  #fill = 0;
  /** Chunk indexes handed to batch commits so far. */
  #flushedChunks = 0;
  #size = 0;
  #queue: { batch: Uint8Array[]; first: number }[] = [];
  #committer: Promise<void> | null = null;
  #listeners: (() => void)[] = [];
  #failure: unknown = null;

  /**
   * @param kv where the chunks go
   * @param options `maxBytes`: {@link write} throws {@link BlobTooLargeError} beyond it
   */
  constructor(kv: Deno.Kv, options: { maxBytes?: number } = {}) {
    this.#kv = kv;
    this.#maxBytes = options.maxBytes ?? Infinity;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Whether chunks went to KV already (then {@link abort} or collection must free them). */
  get hasCommittedChunks(): boolean {
    return this.#flushedChunks > 0;
  }

  /** Adds bytes; queues a batch for KV whenever {@link CHUNKS_PER_COMMIT} chunks are full. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#size + bytes.byteLength > this.#maxBytes) throw new BlobTooLargeError(this.#maxBytes);
    this.#size += bytes.byteLength;
    this.#hash.update(bytes);
    let offset = 0;
    while (offset < bytes.byteLength) {
      const take = Math.min(CHUNK_SIZE - this.#fill, bytes.byteLength - offset);
      this.#current.set(bytes.subarray(offset, offset + take), this.#fill);
      this.#fill += take;
      offset += take;
      if (this.#fill === CHUNK_SIZE) {
        this.#full.push(this.#current);
        this.#current = this.#spare.pop() ?? new Uint8Array(CHUNK_SIZE);
        this.#fill = 0;
        if (this.#full.length === CHUNKS_PER_COMMIT) await this.#enqueue();
      }
    }
  }

  async #enqueue(): Promise<void> {
    this.#queue.push({ batch: this.#full, first: this.#flushedChunks });
    this.#flushedChunks += this.#full.length;
    this.#full = [];
    this.#committer ??= this.#commitQueue();
    if (this.#queue.length >= QUEUE_HIGH) {
      while (this.#queue.length > QUEUE_LOW && !this.#failure) {
        await new Promise<void>((resolve) => this.#listeners.push(resolve));
      }
      if (this.#failure) throw this.#failure;
    }
  }

  async #commitQueue(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const { batch, first } = this.#queue[0];
        const op = this.#kv.atomic();
        const marker: UnownedRecord = { touchedTs: Date.now() };
        op.set(blobKeys.unowned(this.blobId), marker);
        batch.forEach((chunk, i) => op.set(blobKeys.chunk(this.blobId, first + i), chunk));
        const result = await op.commit();
        if (!result.ok) throw new Error("chunk commit failed");
        this.#queue.shift();
        this.#spare.push(...batch);
        this.#wakeListeners();
      }
    } catch (err) {
      this.#failure = err;
      this.#queue = [];
      this.#wakeListeners();
    } finally {
      this.#committer = null;
    }
  }

  #wakeListeners(): void {
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const wake of listeners) wake();
  }

  /** Waits until every queued batch is committed; rethrows a commit failure. */
  async drain(): Promise<void> {
    while (this.#committer) await this.#committer;
    if (this.#failure) throw this.#failure;
  }

  /** The blob's identity, once all bytes are written and every batch committed. Call once. */
  async digest(): Promise<WrittenBlob> {
    await this.drain();
    if (this.#fill > 0) {
      this.#full.push(this.#current.slice(0, this.#fill));
      this.#fill = 0;
    }
    const chunkCount = this.#flushedChunks + this.#full.length;
    return { blobId: this.blobId, sha256: hex(this.#hash.digest()), size: this.#size, chunkCount };
  }

  /**
   * Adds the chunks not committed yet and the blob record to `op`, and removes the unowned
   * marker: committing `op` publishes the blob. Call after {@link digest}.
   */
  addPublish(op: Deno.AtomicOperation, written: WrittenBlob, refs: number): void {
    let index = this.#flushedChunks;
    for (const chunk of this.#full) op.set(blobKeys.chunk(this.blobId, index++), chunk);
    const record: BlobRecord = {
      ...written,
      chunkSize: CHUNK_SIZE,
      refs,
      createdTs: Date.now(),
    };
    op.set(blobKeys.blob(this.blobId), record);
    op.delete(blobKeys.unowned(this.blobId));
  }

  /** Frees the chunks written so far (the blob was not published, or is a duplicate). */
  async abort(): Promise<void> {
    this.#full = [];
    while (this.#committer) await this.#committer;
    if (this.#flushedChunks > 0) await freeChunks(this.#kv, this.blobId);
  }
}

/**
 * Deletes a blob's chunks, then its unowned marker. Safe to repeat: an interrupted run leaves
 * the marker, so {@link collectUnownedBlobs} finishes it.
 */
export async function freeChunks(kv: Deno.Kv, blobId: string): Promise<void> {
  let keys: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: blobKeys.chunks(blobId) }, { batchSize: 500 })) {
    keys.push(entry.key);
    if (keys.length === DELETES_PER_COMMIT) {
      await deleteKeys(kv, keys);
      keys = [];
    }
  }
  if (keys.length > 0) await deleteKeys(kv, keys);
  await kv.delete(blobKeys.unowned(blobId));
}

async function deleteKeys(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<void> {
  const op = kv.atomic();
  for (const key of keys) op.delete(key);
  await op.commit();
}

/**
 * Frees the chunks of every unowned marker last touched before `olderThanTs`: uploads that
 * crashed or were abandoned, and blobs whose deletion was interrupted.
 *
 * @returns the blob IDs freed
 */
export async function collectUnownedBlobs(
  kv: Deno.Kv,
  options: { olderThanTs: number; onFreed?: (blobId: string) => Promise<void> },
): Promise<string[]> {
  const freed: string[] = [];
  for await (const entry of kv.list<UnownedRecord>({ prefix: blobKeys.allUnowned() })) {
    if (entry.value.touchedTs >= options.olderThanTs) continue;
    const blobId = entry.key[1] as string;
    if (options.onFreed) await options.onFreed(blobId);
    await freeChunks(kv, blobId);
    freed.push(blobId);
  }
  return freed;
}

/**
 * Streams bytes `start..end` (inclusive) of a blob, reading a few chunks ahead. The stream
 * errors if a chunk is missing (the blob was deleted while being read).
 */
export function blobStream(
  kv: Deno.Kv,
  blob: BlobRecord,
  range: { start: number; end: number } = { start: 0, end: blob.size - 1 },
): ReadableStream<Uint8Array> {
  const { chunkSize } = blob;
  const first = Math.floor(range.start / chunkSize);
  const last = Math.floor(range.end / chunkSize);
  let expected = first;
  let iterator: AsyncIterator<Deno.KvEntry<Uint8Array>> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (range.end < range.start || expected > last) {
        controller.close();
        return;
      }
      iterator ??= kv.list<Uint8Array>({
        start: blobKeys.chunk(blob.blobId, first),
        end: blobKeys.chunk(blob.blobId, last + 1),
      }, { batchSize: 8 })[Symbol.asyncIterator]();
      const next = await iterator.next();
      if (next.done || next.value.key[2] !== expected) {
        controller.error(new Error(`chunk ${expected} of blob ${blob.blobId} is missing`));
        return;
      }
      const chunk = next.value.value;
      const base = expected * chunkSize;
      const from = Math.max(0, range.start - base);
      const to = Math.min(chunk.byteLength, range.end - base + 1);
      expected++;
      controller.enqueue(chunk.subarray(from, to));
      if (expected > last) controller.close();
    },
    async cancel() {
      await iterator?.return?.();
    },
  }, { highWaterMark: 0 });
}

/** Reads a whole blob into memory (only for small blobs: thumbnail sources, previews). */
export async function readBlob(kv: Deno.Kv, blob: BlobRecord): Promise<Uint8Array> {
  const out = new Uint8Array(blob.size);
  let offset = 0;
  for await (const chunk of blobStream(kv, blob)) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Writes a small blob in memory in one go: the chunks, then `publish` adds the caller's records
 * to the same final commit. Returns null when the final commit's checks failed (the chunks are
 * freed).
 */
export async function writeBlob(
  kv: Deno.Kv,
  bytes: Uint8Array,
  publish: (op: Deno.AtomicOperation, written: WrittenBlob) => void,
): Promise<WrittenBlob | null> {
  const writer = new BlobWriter(kv);
  await writer.write(bytes);
  const written = await writer.digest();
  const op = kv.atomic();
  writer.addPublish(op, written, 1);
  publish(op, written);
  const result = await op.commit();
  if (result.ok) return written;
  await writer.abort();
  return null;
}
