/**
 * Start-up work on the relation and search indexes, before the server listens (so no event
 * commit races it):
 *
 * - One-time indexing of the events stored before the indexes existed
 *   (`server/sync/relations.ts`, `server/search/index.ts`); `["meta", "index_version"]` records
 *   that it ran.
 * - Catch-up of the search index: postings are written a little after their events
 *   (`indexer.ts`), so after a crash the events above `["meta", "search_indexed"]` are indexed
 *   again.
 *
 * @module
 */

import type { RoomHead, TimelineEntry } from "../rooms/schema.ts";
import type { RoomStore } from "../rooms/room_store.ts";
import { STREAM_META_KEY } from "../stream.ts";
import { relationMutations } from "../sync/relations.ts";
import { searchMutations } from "./index.ts";
import { type IndexedEvent, indexedEvent, SEARCH_MARKER_KEY, takeBlockWrite } from "./indexer.ts";

/** Where the index version is kept. */
export const INDEX_VERSION_KEY: Deno.KvKey = ["meta", "index_version"];
/** The version this code writes (raise it to re-run the backfill after a schema change). */
export const INDEX_VERSION = 1;

/** Timeline entries loaded per batch. */
const BATCH = 100;
/** Mutations per commit (KV allows 1000). */
const COMMIT_SIZE = 500;

/**
 * Indexes every stored, unredacted, accepted timeline event unless the index is current.
 *
 * @returns the number of events looked at (0 when the index was current)
 */
export async function backfillIndexes(kv: Deno.Kv, rooms: RoomStore): Promise<number> {
  const version = (await kv.get<number>(INDEX_VERSION_KEY)).value ?? 0;
  if (version >= INDEX_VERSION) return await catchUpSearchIndex(kv, rooms);
  let seen = 0;
  // Timeline order within each room, so a thread's latest event is written last.
  let pending = new Map<string, [Deno.KvKey, unknown]>();
  const flush = async () => {
    const writes = [...pending.values()];
    pending = new Map();
    for (let i = 0; i < writes.length; i += COMMIT_SIZE) {
      const op = kv.atomic();
      for (const [key, value] of writes.slice(i, i + COMMIT_SIZE)) op.set(key, value);
      await op.commit();
    }
  };
  let batch: TimelineEntry[] = [];
  const indexBatch = async () => {
    const loaded = await rooms.events(batch.map((entry) => entry.eventId));
    for (const entry of batch) {
      const stored = loaded.get(entry.eventId);
      if (!stored || stored.meta.redactedBy !== null || stored.meta.rejected !== null) continue;
      const writes = [
        ...relationMutations(stored.event, entry.pos),
        ...searchMutations(stored.event, entry.pos),
      ];
      for (const [key, value] of writes) pending.set(JSON.stringify(key), [key, value]);
    }
    batch = [];
    if (pending.size >= COMMIT_SIZE) await flush();
  };
  for await (const entry of kv.list<TimelineEntry>({ prefix: ["room_timeline"] })) {
    seen++;
    // State events carry no indexed relations; only the three searchable state types matter.
    const { type, stateKey } = entry.value;
    if (stateKey !== undefined && type !== "m.room.name" && type !== "m.room.topic") continue;
    batch.push(entry.value);
    if (batch.length >= BATCH) await indexBatch();
  }
  if (batch.length > 0) await indexBatch();
  await flush();
  await markIndexedToStreamEnd(kv);
  await kv.set(INDEX_VERSION_KEY, INDEX_VERSION);
  return seen;
}

/** Records that every stored event is in the search index. */
async function markIndexedToStreamEnd(kv: Deno.Kv): Promise<void> {
  const stream = (await kv.get<Deno.KvU64>(STREAM_META_KEY)).value?.value ?? 0n;
  await kv.atomic().max(SEARCH_MARKER_KEY, stream).commit();
}

/**
 * Indexes the searchable events above `["meta", "search_indexed"]` (those whose postings were
 * still in memory when the process stopped).
 *
 * @returns the number of events indexed
 */
export async function catchUpSearchIndex(kv: Deno.Kv, rooms: RoomStore): Promise<number> {
  const marker = (await kv.get<Deno.KvU64>(SEARCH_MARKER_KEY)).value;
  if (marker === null) {
    // Written before the marker existed, when postings rode in the events' own commits.
    await markIndexedToStreamEnd(kv);
    return 0;
  }
  const from = Number(marker.value);
  const entries: TimelineEntry[] = [];
  for await (const head of kv.list<RoomHead>({ prefix: ["room_head"] })) {
    if (head.value.lastPos <= from) continue;
    const roomId = head.key[1] as string;
    const iter = kv.list<TimelineEntry>({
      start: ["room_timeline", roomId, from + 1],
      end: ["room_timeline", roomId, Number.MAX_SAFE_INTEGER],
    });
    for await (const entry of iter) {
      const { type, stateKey } = entry.value;
      if (stateKey === undefined ? type !== "m.room.message" : stateKey !== "") continue;
      if (stateKey !== undefined && type !== "m.room.name" && type !== "m.room.topic") continue;
      entries.push(entry.value);
    }
  }
  entries.sort((a, b) => a.pos - b.pos);
  const events: IndexedEvent[] = [];
  for (let i = 0; i < entries.length; i += BATCH) {
    const slice = entries.slice(i, i + BATCH);
    const loaded = await rooms.events(slice.map((entry) => entry.eventId));
    for (const entry of slice) {
      const stored = loaded.get(entry.eventId);
      if (!stored || stored.meta.redactedBy !== null || stored.meta.rejected !== null) continue;
      const indexed = indexedEvent(stored.event, entry.pos);
      if (indexed) events.push(indexed);
    }
  }
  let written = 0;
  while (written < events.length) {
    const rest = events.slice(written);
    const { m, taken } = takeBlockWrite(rest);
    const op = kv.atomic();
    m.apply(op);
    op.max(SEARCH_MARKER_KEY, BigInt(rest[taken - 1].pos));
    await op.commit();
    written += taken;
  }
  await markIndexedToStreamEnd(kv);
  return events.length;
}
