/**
 * Purging a room's history up to a stream position, as Synapse's purge history does for
 * retention and for the admin API: the messages (non-state events) before the position go from
 * KV with everything that indexes them, and media they named that nothing else names any more.
 *
 * What stays keeps the room usable and its graph sound for federation: every state event (they
 * are the auth events of what follows and the entries of the state groups, so state resolution
 * and the auth chains served to other servers stay complete; Synapse keeps them too), the
 * room's newest event, its forward extremities and its current state. An event that cited a
 * purged event in its prev_events now has a gap below it, as after a purge in Synapse: backfill
 * and `/get_missing_events` stop there. Rejected and soft-failed events have no timeline place
 * and are not reached.
 *
 * Every deletion runs in batched commits within KV's limits, so a purge that stops half-way can
 * run again.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { MediaRepository } from "../media/repository.ts";
import { MIN_TIMELINE_POSITION, type StoredEvent } from "../rooms/room_store.ts";
import { type EventRecord, roomKeys, type TimelineEntry } from "../rooms/schema.ts";
import { searchRemovals } from "../search/index.ts";
import { indexerOf } from "../search/indexer.ts";
import { commitBatches, deleteCost, deleteRange, getManyChunked } from "../store/kv_batch.ts";
import { relationKeys, relationOf } from "../sync/relations.ts";
import { recentTimelines } from "../sync/recent_timeline.ts";

/** What a history purge did. */
export interface PurgeHistoryResult {
  /** Events removed. */
  events: number;
  /** Local media deleted because no remaining event or profile names them. */
  media: number;
}

/** Events loaded per batch. */
const BATCH = 200;

/** Deletes keys in commits within KV's limits. */
export async function deleteKeys(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<void> {
  for (const batch of commitBatches(keys, (key) => deleteCost(key))) {
    const op = kv.atomic();
    for (const key of batch) op.delete(key);
    await op.commit();
  }
}

/** Every `mxc://` URI in a JSON value (content of any shape: url, info.thumbnail_url, file.url). */
export function mxcUrisIn(value: unknown, out = new Set<string>(), depth = 0): Set<string> {
  if (depth > 32) return out;
  if (typeof value === "string") {
    if (value.startsWith("mxc://")) out.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) mxcUrisIn(item, out, depth + 1);
  } else if (typeof value === "object" && value !== null) {
    for (const item of Object.values(value)) mxcUrisIn(item, out, depth + 1);
  }
  return out;
}

/**
 * The stream position of the first timeline event of the room received at or after `ts`
 * (Synapse uses the received time too): a purge "before ts" purges below it. Null when every
 * event is older (then everything but what must stay may go: the room's last position + 1).
 */
export async function positionAtTime(
  hs: Homeserver,
  roomId: string,
  ts: number,
): Promise<number | null> {
  let page: TimelineEntry[] = [];
  const flush = async (): Promise<number | null> => {
    const found = await hs.rooms.events(page.map((e) => e.eventId));
    for (const entry of page) {
      const stored = found.get(entry.eventId);
      if (stored && stored.meta.receivedTs >= ts) return entry.pos;
    }
    page = [];
    return null;
  };
  for await (
    const entry of hs.kv.list<TimelineEntry>({
      start: roomKeys.timeline(roomId, MIN_TIMELINE_POSITION),
      end: roomKeys.timeline(roomId, Number.MAX_SAFE_INTEGER),
    })
  ) {
    page.push(entry.value);
    if (page.length >= BATCH) {
      const pos = await flush();
      if (pos !== null) return pos;
    }
  }
  return page.length > 0 ? await flush() : null;
}

/** The event IDs a purge must keep: the room's current state and its forward extremities. */
async function keptEvents(hs: Homeserver, roomId: string): Promise<Set<string>> {
  const keep = new Set<string>();
  for await (
    const entry of hs.kv.list<{ eventId: string }>({ prefix: roomKeys.currentStateOf(roomId) })
  ) {
    keep.add(entry.value.eventId);
  }
  for (const id of (await hs.rooms.head(roomId))?.extremities ?? []) keep.add(id);
  return keep;
}

/** The keys that store and index one purged event. */
function keysOf(stored: StoredEvent, record: EventRecord, pos: number): Deno.KvKey[] {
  const { event } = stored;
  const keys: Deno.KvKey[] = [
    roomKeys.event(event.eventId),
    roomKeys.referenced(event.eventId),
    roomKeys.timeline(event.roomId, pos),
    roomKeys.depth(event.roomId, stored.meta.depth, event.eventId),
    relationKeys.threadRoot(event.roomId, event.eventId),
  ];
  for (let i = 0; i < record.parts; i++) keys.push(roomKeys.eventPart(event.eventId, i));
  const relation = relationOf(event.content as Record<string, unknown>);
  if (relation) {
    keys.push(relationKeys.child(relation.eventId, relation.relType, pos, event.eventId));
  }
  return keys;
}

/**
 * Takes the events out of the search index: their postings must be in KV first, and the blocks
 * holding them are rewritten one event at a time under the room's lock, so neither two events
 * of one block nor a redaction in the room overwrite each other's rewrite.
 */
async function removePostings(
  hs: Homeserver,
  roomId: string,
  events: readonly { stored: StoredEvent; pos: number }[],
): Promise<void> {
  if (events.length === 0) return;
  await indexerOf(hs.kv)?.flushThrough(Math.max(...events.map((e) => e.pos)));
  await hs.pipeline.exclusive(roomId, async () => {
    for (const { stored, pos } of events) {
      const input = { ...stored.event, content: stored.event.content as Record<string, unknown> };
      const { set, remove } = await searchRemovals(hs.kv, input, pos);
      if (set.length === 0 && remove.length === 0) continue;
      const op = hs.kv.atomic();
      for (const [key, block] of set) op.set(key, block);
      for (const key of remove) op.delete(key);
      await op.commit();
    }
  });
}

/** `["room_purged", roomId]`: how far a room's history was purged here. */
export interface PurgeMark {
  /** The newest `origin_server_ts` of a purged message. */
  beforeTs: number;
}

/** The key of a room's purge mark. */
export function purgeMarkKey(roomId: string): Deno.KvKey {
  return ["room_purged", roomId];
}

/** Raises the room's purge mark to `ts` (never lowers it). */
async function markPurged(kv: Deno.Kv, roomId: string, ts: number): Promise<void> {
  const current = await kv.get<PurgeMark>(purgeMarkKey(roomId));
  if (current.value && current.value.beforeTs >= ts) return;
  await kv.set(purgeMarkKey(roomId), { beforeTs: ts } satisfies PurgeMark);
}

/**
 * Events fetched by backfill that a purge of this room already removed: messages (not state)
 * sent at or before the room's purge mark. Other servers still hold them; without this a
 * client paging back would bring purged history back.
 */
export async function withoutPurged<T extends { stateKey?: string; originServerTs: number }>(
  kv: Deno.Kv,
  roomId: string,
  events: readonly T[],
): Promise<T[]> {
  const mark = (await kv.get<PurgeMark>(purgeMarkKey(roomId))).value;
  if (!mark) return [...events];
  return events.filter((e) => e.stateKey !== undefined || e.originServerTs > mark.beforeTs);
}

/** Purges running per server and room: one room's purges (job and admin) take turns. */
const RUNNING = new WeakMap<Homeserver, Map<string, Promise<unknown>>>();

/**
 * Purges the room's messages at stream positions below `beforePos` (see the module text for
 * what stays). With `deleteLocalEvents` false, events of local senders stay too (Synapse's
 * `delete_local_events`). Purges of one room run one after the other.
 */
export async function purgeHistory(
  hs: Homeserver,
  roomId: string,
  options: { beforePos: number; deleteLocalEvents: boolean },
): Promise<PurgeHistoryResult> {
  let runs = RUNNING.get(hs);
  if (!runs) RUNNING.set(hs, runs = new Map());
  const previous = runs.get(roomId) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => purgeOnce(hs, roomId, options));
  runs.set(roomId, run);
  try {
    return await run;
  } finally {
    if (runs.get(roomId) === run) runs.delete(roomId);
  }
}

async function purgeOnce(
  hs: Homeserver,
  roomId: string,
  options: { beforePos: number; deleteLocalEvents: boolean },
): Promise<PurgeHistoryResult> {
  const kv = hs.kv;
  const head = await hs.rooms.head(roomId);
  if (!head) return { events: 0, media: 0 };
  const keep = await keptEvents(hs, roomId);
  // Never the room's newest event: the room keeps a timeline to build on and show.
  const end = Math.min(options.beforePos, head.lastPos);
  const purged: string[] = [];
  const media = new Set<string>();
  let redactions = false;
  let newestPurgedTs: number | null = null;

  let page: TimelineEntry[] = [];
  const flush = async () => {
    const candidates = page.filter((e) => e.stateKey === undefined && !keep.has(e.eventId));
    page = [];
    if (candidates.length === 0) return;
    const ids = candidates.map((e) => e.eventId);
    const records = await getManyChunked<EventRecord>(kv, ids.map((id) => roomKeys.event(id)));
    const events = await hs.rooms.events(ids);
    const keys: Deno.KvKey[] = [];
    const taken: { stored: StoredEvent; pos: number }[] = [];
    candidates.forEach((entry, i) => {
      const record = records[i].value;
      const stored = events.get(entry.eventId);
      if (!record || !stored || stored.event.roomId !== roomId) {
        keys.push(roomKeys.timeline(roomId, entry.pos));
        return;
      }
      if (
        !options.deleteLocalEvents && serverNameOf(stored.event.sender) === hs.config.serverName
      ) {
        return;
      }
      if (stored.event.type === "m.room.redaction") redactions = true;
      newestPurgedTs = Math.max(newestPurgedTs ?? 0, stored.event.originServerTs);
      mxcUrisIn(stored.event.content, media);
      keys.push(...keysOf(stored, record, entry.pos));
      taken.push({ stored, pos: entry.pos });
      purged.push(entry.eventId);
    });
    await removePostings(hs, roomId, taken);
    // Children of a purged event lose their index entries with it.
    for (const { stored } of taken) {
      await deleteRange(kv, { prefix: relationKeys.ofParent(stored.event.eventId) });
    }
    await deleteKeys(kv, keys);
  };
  for await (
    const entry of kv.list<TimelineEntry>({
      start: roomKeys.timeline(roomId, MIN_TIMELINE_POSITION),
      end: roomKeys.timeline(roomId, end),
    })
  ) {
    page.push(entry.value);
    if (page.length >= BATCH) await flush();
  }
  await flush();

  if (redactions) {
    const gone = new Set(purged);
    const pending: Deno.KvKey[] = [];
    for await (const entry of kv.list({ prefix: ["pending_redaction"] })) {
      if (gone.has(entry.key[2] as string)) pending.push(entry.key);
    }
    await deleteKeys(kv, pending);
  }
  if (newestPurgedTs !== null) await markPurged(hs.kv, roomId, newestPurgedTs);
  hs.rooms.forgetRoom(roomId, purged);
  recentTimelines(hs).forget(roomId);
  const deletedMedia = await deleteUnreferencedMedia(hs, media);
  return { events: purged.length, media: deletedMedia };
}

/**
 * Deletes the local media of `uris` that no stored event and no profile names any more. One
 * scan of the stored events and profiles answers for all of them: purges are rare and run in
 * the background.
 */
export async function deleteUnreferencedMedia(
  hs: Homeserver,
  uris: Iterable<string>,
): Promise<number> {
  const prefix = `mxc://${hs.config.serverName}/`;
  const candidates = new Set([...uris].filter((uri) => uri.startsWith(prefix)));
  if (candidates.size === 0) return 0;
  const stillNamed = (text: string) => {
    for (const uri of candidates) if (text.includes(uri)) candidates.delete(uri);
  };
  for await (const entry of hs.kv.list<EventRecord>({ prefix: ["event"] })) {
    if (entry.value.pdu !== null) stillNamed(entry.value.pdu);
    if (candidates.size === 0) return 0;
  }
  for await (const entry of hs.kv.list<string>({ prefix: ["event_part"] })) {
    if (typeof entry.value === "string") stillNamed(entry.value);
  }
  for await (const entry of hs.kv.list({ prefix: ["profile"] })) {
    stillNamed(JSON.stringify(entry.value));
  }
  const repo = MediaRepository.of(hs);
  let deleted = 0;
  for (const uri of candidates) {
    const mediaId = uri.slice(prefix.length);
    if (await repo.delete(hs.config.serverName, mediaId)) deleted++;
  }
  return deleted;
}
