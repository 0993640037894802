/**
 * State groups: the state of a room at every event, stored like Synapse's and Dendrite's
 * state snapshots. A group is a delta against an earlier group, and every
 * {@link MAX_CHAIN_LENGTH}th group of a chain is a full snapshot, so that loading any group
 * reads a bounded number of records. Snapshots are split into chunks of at most
 * {@link SNAPSHOT_CHUNK_BYTES}, so a 10,000-member room's state fits KV's 64 KiB values.
 *
 * Message events and rejected events reuse the group of the state before them; only accepted
 * state events (and, later, state resolution at forks) create groups.
 *
 * @module
 */

import type { StateMap } from "../../federation/types.ts";
import { LruCache } from "./lru.ts";
import type { Mutations } from "./mutations.ts";
import { roomKeys, type StateGroupRecord } from "./schema.ts";

/** Deltas between snapshots: loading a group reads at most this many delta records. */
export const MAX_CHAIN_LENGTH = 64;
/** Target size of one snapshot chunk (KV values are limited to 64 KiB). */
export const SNAPSHOT_CHUNK_BYTES = 48 * 1024;
/** Snapshots with more chunks than this are written in their own commits before the event. */
export const INLINE_SNAPSHOT_CHUNKS = 4;
/**
 * Memory for materialised state maps. A map of a room's state costs about
 * {@link STATE_ENTRY_BYTES} per entry: measured, 38 bytes when the key and event ID strings
 * are shared with another map of the room (a map derived from a cached one by a delta), 101
 * when they are not (a map read from a snapshot), so 16 MiB hold some 260,000 entries: the
 * current and a few older states of a thousand 50-member rooms, or the whole life of a
 * 500-member room's joins. Every MiB kept here costs some 3 MiB of peak heap under load
 * (V8 lets the heap grow to about 3-4 times what survived the last full collection).
 */
export const STATE_MAPS_MAX_BYTES = 16 * 1024 * 1024;
/** Approximate retained bytes of one state map entry beyond its (shared) strings. */
export const STATE_ENTRY_BYTES = 64;
/** Memory for group records (deltas are a handful of pairs; snapshots have none). */
export const STATE_RECORDS_MAX_BYTES = 4 * 1024 * 1024;
/** What the two state caches keep once the server goes idle after a burst (memory_trim.ts). */
export const STATE_MAPS_IDLE_BYTES = 4 * 1024 * 1024;
const STATE_RECORDS_IDLE_BYTES = 1024 * 1024;

function stateMapBytes(state: StateMap): number {
  return 200 + state.size * STATE_ENTRY_BYTES;
}

function recordBytes(record: StateGroupRecord): number {
  let bytes = 160 + record.roomId.length;
  for (const [key, eventId] of record.delta) bytes += 48 + key.length + (eventId?.length ?? 0);
  return bytes;
}

/** A new group ready to be written in the event's commit. */
export interface PreparedGroup {
  group: number;
  record: StateGroupRecord;
  /** Snapshot chunks to write in the same commit (large ones were written beforehand). */
  inlineChunks: [string, string][][];
  /** The full state of the group (kept in the cache once committed). */
  state: StateMap;
}

/** Reads and prepares state groups, with an in-memory cache of materialised groups. */
export class StateStore {
  readonly #kv: Deno.Kv;
  readonly #maps = new LruCache<number, StateMap>(Infinity, {
    maxBytes: STATE_MAPS_MAX_BYTES,
    idleBytes: STATE_MAPS_IDLE_BYTES,
    sizeOf: stateMapBytes,
  });
  readonly #records = new LruCache<number, StateGroupRecord>(Infinity, {
    maxBytes: STATE_RECORDS_MAX_BYTES,
    idleBytes: STATE_RECORDS_IDLE_BYTES,
    sizeOf: recordBytes,
  });
  readonly #loading = new Map<number, Promise<StateMap>>();
  #next = 0;
  #loaded = false;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Reads the group counter; call once at start-up. */
  async load(): Promise<void> {
    const entry = await this.#kv.get<Deno.KvU64>(roomKeys.stateGroupCounter());
    this.#next = Math.max(this.#next, entry.value ? Number(entry.value.value) : 0);
    this.#loaded = true;
  }

  /** The record of a group, or null when unknown. */
  async record(group: number): Promise<StateGroupRecord | null> {
    const cached = this.#records.get(group);
    if (cached) return cached;
    const entry = await this.#kv.get<StateGroupRecord>(roomKeys.stateGroup(group));
    if (entry.value) this.#records.set(group, entry.value);
    return entry.value;
  }

  /**
   * The full state of a group: (type, state_key) -> event ID. The returned map is shared with
   * the cache: callers must not modify it (copy with `new Map(...)` first).
   *
   * @throws {Error} when the group or one of its ancestors is missing (a storage bug)
   */
  stateOf(group: number): Promise<StateMap> {
    const cached = this.#maps.get(group);
    if (cached) return Promise.resolve(cached);
    // Concurrent readers of one group (every member's sync after a room event) share one load.
    let loading = this.#loading.get(group);
    if (!loading) {
      loading = this.#materialise(group).finally(() => this.#loading.delete(group));
      this.#loading.set(group, loading);
    }
    return loading;
  }

  /** The full state of a group when it is in memory (no read), else undefined. */
  cachedStateOf(group: number): StateMap | undefined {
    return this.#maps.get(group);
  }

  async #materialise(group: number): Promise<StateMap> {
    // Walk down to a snapshot or a cached group, then apply the deltas upwards.
    const chain: StateGroupRecord[] = [];
    let base: StateMap | undefined;
    let current: number | null = group;
    while (current !== null) {
      const hit = this.#maps.get(current);
      if (hit) {
        base = hit;
        break;
      }
      const record = await this.record(current);
      if (!record) throw new Error(`state group ${current} is missing`);
      if (record.prev === null) {
        base = await this.#readSnapshot(current, record.chunks);
        this.#maps.set(current, base);
        break;
      }
      chain.push(record);
      current = record.prev;
    }
    if (chain.length === 0) return base ?? new Map();
    const state: StateMap = new Map(base ?? []);
    for (let i = chain.length - 1; i >= 0; i--) applyDelta(state, chain[i].delta);
    this.#maps.set(group, state);
    return state;
  }

  /**
   * Prepares a new group for `state`, as a delta against `prev` (whose full state is
   * `prevState`) or as a snapshot when the chain is long or there is no `prev`. Large
   * snapshots are written to KV here, before the caller's commit references them.
   */
  async prepare(
    roomId: string,
    state: StateMap,
    options: { prev: number | null; prevState?: StateMap },
  ): Promise<PreparedGroup> {
    if (!this.#loaded) throw new Error("StateStore.load() was not awaited");
    const group = ++this.#next;
    const prevRecord = options.prev === null ? null : await this.record(options.prev);
    if (prevRecord && options.prevState && prevRecord.chainLength + 1 < MAX_CHAIN_LENGTH) {
      const delta = diffStates(options.prevState, state);
      const record: StateGroupRecord = {
        roomId,
        prev: options.prev,
        delta,
        chainLength: prevRecord.chainLength + 1,
        chunks: 0,
      };
      return { group, record, inlineChunks: [], state };
    }
    const chunks = chunkState(state);
    const record: StateGroupRecord = { roomId, prev: null, delta: [], chainLength: 0, chunks: 0 };
    record.chunks = chunks.length;
    if (chunks.length <= INLINE_SNAPSHOT_CHUNKS) {
      return { group, record, inlineChunks: chunks, state };
    }
    // Written ahead in their own commits: unreferenced until the event's commit names the group.
    for (let i = 0; i < chunks.length; i += INLINE_SNAPSHOT_CHUNKS) {
      const op = this.#kv.atomic();
      for (let j = i; j < Math.min(chunks.length, i + INLINE_SNAPSHOT_CHUNKS); j++) {
        op.set(roomKeys.stateSnapshot(group, j), chunks[j]);
      }
      const result = await op.commit();
      if (!result.ok) throw new Error("could not write a state snapshot");
    }
    return { group, record, inlineChunks: [], state };
  }

  /** Adds a prepared group's record, inline chunks and the counter to a write. */
  write(m: Mutations, prepared: PreparedGroup): void {
    m.set(roomKeys.stateGroup(prepared.group), prepared.record);
    prepared.inlineChunks.forEach((chunk, i) => {
      m.set(roomKeys.stateSnapshot(prepared.group, i), chunk);
    });
    m.max(roomKeys.stateGroupCounter(), prepared.group);
  }

  /** After the commit: caches the group so the next event starts from memory. */
  committed(prepared: PreparedGroup): void {
    this.#records.set(prepared.group, prepared.record);
    this.#maps.set(prepared.group, prepared.state);
  }

  async #readSnapshot(group: number, chunks: number): Promise<StateMap> {
    const state: StateMap = new Map();
    if (chunks === 0) return state;
    const iter = this.#kv.list<[string, string][]>({ prefix: ["state_snap", group] });
    let seen = 0;
    for await (const entry of iter) {
      for (const [key, eventId] of entry.value) state.set(key, eventId);
      seen++;
    }
    if (seen !== chunks) throw new Error(`state group ${group} has ${seen}/${chunks} chunks`);
    return state;
  }
}

/** The changes from `before` to `after` as delta pairs (null removes an entry). */
export function diffStates(before: StateMap, after: StateMap): [string, string | null][] {
  const delta: [string, string | null][] = [];
  for (const [key, eventId] of after) {
    if (before.get(key) !== eventId) delta.push([key, eventId]);
  }
  for (const key of before.keys()) if (!after.has(key)) delta.push([key, null]);
  return delta;
}

/** Applies delta pairs to `state` in place. */
export function applyDelta(state: StateMap, delta: readonly [string, string | null][]): void {
  for (const [key, eventId] of delta) {
    if (eventId === null) state.delete(key);
    else state.set(key, eventId);
  }
}

/** Splits a state map into chunks of pairs whose estimated serialised size is bounded. */
export function chunkState(state: StateMap): [string, string][][] {
  const chunks: [string, string][][] = [];
  let current: [string, string][] = [];
  let bytes = 0;
  for (const [key, eventId] of state) {
    // Two bytes per UTF-16 unit bounds V8's serialisation of either string representation.
    const size = 2 * (key.length + eventId.length) + 16;
    if (bytes + size > SNAPSHOT_CHUNK_BYTES && current.length > 0) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push([key, eventId]);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
