/**
 * Writes the search index behind the events' commits. Per-event postings in the event's own
 * commit cost one KV key per term per event, about half of a message's commit (BENCHMARKS.md);
 * written here, a word that many recent events share costs one key per write.
 *
 * The pipeline hands over every committed event in commit order, which is position order
 * (`add`). Their postings wait in memory, where searches see them at once (`memoryPostings`),
 * until a write of blocks (`index.ts`, {@link SearchBlock}) through the pipeline's commit queue,
 * at most {@link FLUSH_DELAY_MS} later or when {@link FLUSH_EVENTS} events wait. Each write
 * raises `["meta","search_indexed"]` to the position up to which every event's postings are in
 * KV; after a crash, start-up indexes the events above it again (`backfill.ts`). A redaction
 * first waits until its target's postings are in KV (`flushThrough`), then rewrites the blocks
 * in its own commit.
 *
 * @module
 */

import type { CommitQueue } from "../rooms/commit_queue.ts";
import { Mutations } from "../rooms/mutations.ts";
import {
  type BlockPosting,
  type EventTerms,
  eventTerms,
  type SearchBlock,
  type SearchField,
  searchKeys,
} from "./index.ts";

/** Every searchable event at or below this position has its postings in KV (a `Deno.KvU64`). */
export const SEARCH_MARKER_KEY: Deno.KvKey = ["meta", "search_indexed"];
/** How long postings wait in memory at most. */
export const FLUSH_DELAY_MS = 250;
/** Postings are written at once when this many events wait. */
export const FLUSH_EVENTS = 500;
/** Most events per write (and so per block): a block stays far below KV's 64 KiB per value. */
const CHUNK_EVENTS = 500;
/** Most keys and bytes per write, within the commit queue's limits. */
const CHUNK_KEYS = 700;
const CHUNK_BYTES = 400 * 1024;

/** A committed event whose postings are to be written. */
export interface IndexedEvent {
  roomId: string;
  pos: number;
  eventId: string;
  indexed: EventTerms;
}

/** A posting still in memory, as a search reads it. */
export interface MemoryPosting {
  term: string;
  pos: number;
  field: SearchField;
  eventId: string;
  tf: number;
  len: number;
}

interface Waiter {
  pos: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const indexers = new WeakMap<Deno.Kv, SearchIndexer>();

/**
 * The indexer writing to `kv` (one per server instance), for searches to see the postings not
 * yet written; undefined when none runs (a tool reading the database).
 */
export function indexerOf(kv: Deno.Kv): SearchIndexer | undefined {
  return indexers.get(kv);
}

/** The event's postings, or null when it is not searchable. */
export function indexedEvent(
  event: {
    eventId: string;
    roomId: string;
    type: string;
    stateKey?: string;
    content: Record<string, unknown>;
  },
  pos: number,
): IndexedEvent | null {
  const indexed = eventTerms(event);
  return indexed ? { roomId: event.roomId, pos, eventId: event.eventId, indexed } : null;
}

/**
 * Takes the first events of `events` (in position order) that fit one write; returns the
 * write's block mutations and how many events it took (at least one).
 */
export function takeBlockWrite(events: readonly IndexedEvent[]): { m: Mutations; taken: number } {
  const groups = new Map<
    string,
    { key: [string, string, SearchField]; postings: BlockPosting[] }
  >();
  let bytes = 0;
  let taken = 0;
  for (const event of events) {
    if (taken >= CHUNK_EVENTS) break;
    let newGroups = 0;
    for (const term of event.indexed.terms.keys()) {
      if (!groups.has(groupId(event.roomId, term, event.indexed.field))) newGroups++;
    }
    const eventBytes = event.indexed.terms.size * (event.eventId.length * 2 + 48);
    if (
      taken > 0 && (groups.size + newGroups > CHUNK_KEYS || bytes + eventBytes > CHUNK_BYTES)
    ) break;
    for (const [term, tf] of event.indexed.terms) {
      const id = groupId(event.roomId, term, event.indexed.field);
      let group = groups.get(id);
      if (!group) {
        group = { key: [event.roomId, term, event.indexed.field], postings: [] };
        groups.set(id, group);
      }
      group.postings.push([event.pos, event.eventId, tf, event.indexed.len]);
    }
    bytes += eventBytes;
    taken++;
  }
  const m = new Mutations();
  for (const { key: [roomId, term, field], postings } of groups.values()) {
    const block: SearchBlock = { postings };
    const sizeHint = postings.reduce((sum, p) => sum + p[1].length * 2 + 32, 16);
    m.set(searchKeys.posting(roomId, term, postings[0][0], field), block, { sizeHint });
  }
  return { m, taken };
}

function groupId(roomId: string, term: string, field: string): string {
  return `${roomId}\u0000${term}\u0000${field}`;
}

/** Buffers committed events' postings and writes them in blocks. */
export class SearchIndexer {
  readonly #commits: CommitQueue;
  /** Committed events not yet written, in position order. */
  #buffer: IndexedEvent[] = [];
  /** Events taken by the write in flight. */
  #writing: IndexedEvent[] = [];
  /** The newest position handed over (searchable or not). */
  #lastSeen = 0;
  /** Every searchable event at or below this position has its postings in KV. */
  #written = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | null = null;
  #waiters: Waiter[] = [];
  #closed = false;

  constructor(kv: Deno.Kv, commits: CommitQueue) {
    this.#commits = commits;
    indexers.set(kv, this);
  }

  /** A committed event at `pos`; call in commit order (positions rise). */
  add(
    event: Parameters<typeof indexedEvent>[0],
    pos: number,
  ): void {
    this.#lastSeen = Math.max(this.#lastSeen, pos);
    const indexed = indexedEvent(event, pos);
    if (!indexed) {
      if (this.#buffer.length === 0 && this.#writing.length === 0) this.#advance(pos);
      return;
    }
    this.#buffer.push(indexed);
    if (this.#closed) return;
    if (this.#buffer.length >= FLUSH_EVENTS) this.#flushNow();
    else if (this.#timer === undefined && !this.#flushing) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flushNow();
      }, FLUSH_DELAY_MS);
    }
  }

  /** The postings of `roomId` not yet in KV whose term starts with `prefix`. */
  memoryPostings(roomId: string, prefix: string): MemoryPosting[] {
    const out: MemoryPosting[] = [];
    for (const list of [this.#writing, this.#buffer]) {
      for (const event of list) {
        if (event.roomId !== roomId) continue;
        for (const [term, tf] of event.indexed.terms) {
          if (!term.startsWith(prefix)) continue;
          out.push({
            term,
            pos: event.pos,
            field: event.indexed.field,
            eventId: event.eventId,
            tf,
            len: event.indexed.len,
          });
        }
      }
    }
    return out;
  }

  /** Resolves once the postings of every event at or below `pos` are in KV. */
  flushThrough(pos: number): Promise<void> {
    if (this.#written >= pos) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => {
      this.#waiters.push({ pos, resolve, reject });
    });
    this.#flushNow();
    return done;
  }

  /** Writes everything buffered and stops the timer (before the KV closes). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#flushing || this.#buffer.length > 0) {
      await (this.#flushing ?? this.#flush());
      if (this.#buffer.length > 0 && !this.#flushing) break; // a failed write: catch-up redoes it
    }
  }

  #flushNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#flushing) this.#flush();
  }

  #flush(): Promise<void> {
    this.#flushing = (async () => {
      while (this.#buffer.length > 0) {
        const { m, taken } = takeBlockWrite(this.#buffer);
        const chunk = this.#buffer.splice(0, taken);
        // With nothing left behind, every event handed over so far is covered.
        const upto = this.#buffer.length === 0 ? this.#lastSeen : chunk[chunk.length - 1].pos;
        m.max(SEARCH_MARKER_KEY, upto, { shared: true });
        this.#writing = chunk;
        try {
          await this.#commits.enqueue(m).done;
        } catch (err) {
          console.error("search index write failed (start-up will redo it):", err);
          this.#buffer.unshift(...chunk);
          this.#writing = [];
          for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
          return;
        }
        this.#writing = [];
        this.#advance(upto);
      }
      // Nothing buffered or in flight: every event handed over is in KV.
      this.#advance(this.#lastSeen);
    })();
    const flushing = this.#flushing;
    flushing.finally(() => {
      if (this.#flushing === flushing) this.#flushing = null;
      if (this.#buffer.length > 0 && !this.#closed && this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#flushNow();
        }, FLUSH_DELAY_MS);
      }
    });
    return flushing;
  }

  #advance(pos: number): void {
    if (pos <= this.#written) return;
    this.#written = pos;
    const still: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.pos <= pos) waiter.resolve();
      else still.push(waiter);
    }
    this.#waiters = still;
  }
}
