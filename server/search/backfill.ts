/**
 * One-time indexing of the events stored before the relation and search indexes existed
 * (`server/sync/relations.ts`, `server/search/index.ts`). Runs at start-up, before the server
 * listens, so no event commit races it; `["meta", "index_version"]` records that it ran.
 *
 * @module
 */

import type { TimelineEntry } from "../rooms/schema.ts";
import type { RoomStore } from "../rooms/room_store.ts";
import { relationMutations } from "../sync/relations.ts";
import { searchMutations } from "./index.ts";

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
  if (version >= INDEX_VERSION) return 0;
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
  await kv.set(INDEX_VERSION_KEY, INDEX_VERSION);
  return seen;
}
