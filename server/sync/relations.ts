/**
 * Event relationships (spec: "Forming relationships between events", "Event replacements",
 * "Threading", "Reference relations", "Event annotations"): the relation index and the
 * bundled aggregations (`unsigned.m.relations`) that `/sync`, `/messages`, `/context`,
 * `/event` and `/relations` attach to parent events.
 *
 * Keys:
 * - `["relation", parentId, relType, pos, childId]` -> {@link RelationRecord}: the children of
 *   an event by relation type in stream order
 * - `["thread_root", roomId, rootId]` -> {latestPos}: the thread roots of a room (for
 *   `/threads`)
 *
 * {@link relationMutations} lists the writes for one new event; they belong in the event's own
 * commit (the event pipeline calls it).
 *
 * @module
 */

import { utf8ByteLength } from "../../federation/identifiers.ts";
import { MAX_KEY_BYTES } from "../../federation/event_format.ts";
import { isEventIdShaped } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import type { ClientEvent } from "./room_source.ts";
import { formatEvents } from "./rooms_adapter.ts";

/** One indexed child event. */
export interface RelationRecord {
  roomId: string;
  type: string;
  sender: string;
  /** `m.annotation` key (e.g. the emoji). */
  key?: string;
}

/** Most children read to build one event's aggregations. */
const MAX_CHILDREN_READ = 1000;
/** Memory for the children lists sync keeps (most events have none: ~100 bytes each). */
const CHILDREN_CACHE_BYTES = 4 * 1024 * 1024;

/** Key builders of the relation index. */
export const relationKeys = {
  child: (parentId: string, relType: string, pos: number, childId: string): Deno.KvKey => [
    "relation",
    parentId,
    relType,
    pos,
    childId,
  ],
  ofParent: (parentId: string, relType?: string): Deno.KvKey =>
    relType === undefined ? ["relation", parentId] : ["relation", parentId, relType],
  threadRoot: (roomId: string, rootId: string): Deno.KvKey => ["thread_root", roomId, rootId],
  threadRootsOf: (roomId: string): Deno.KvKey => ["thread_root", roomId],
} as const;

/**
 * The relation of an event's content (`m.relates_to` with `rel_type` and `event_id`). A
 * relation whose parent is not an event ID, or whose type is longer than an event type may be,
 * is no relation: it is never indexed (the index keys hold both).
 */
export function relationOf(
  content: Record<string, unknown>,
): { relType: string; eventId: string; key?: string } | null {
  const relation = content["m.relates_to"];
  if (typeof relation !== "object" || relation === null) return null;
  const { rel_type: relType, event_id: eventId, key } = relation as Record<string, unknown>;
  if (typeof relType !== "string" || typeof eventId !== "string") return null;
  if (!isEventIdShaped(eventId) || relType === "" || utf8ByteLength(relType) > MAX_KEY_BYTES) {
    return null;
  }
  return { relType, eventId, key: typeof key === "string" ? key : undefined };
}

/** Rooms remembered in {@link relationHints} before it starts over from a common floor. */
const HINTED_ROOMS = 20_000;

/**
 * Per room, the highest stream position of an event that may have changed a children list
 * (an event with a relation, or a redaction), noted while its commit is built, before it can
 * become visible. A children list read when the visible position was at or above that is still
 * complete. Process-wide, as the pipeline builds commits without a server at hand: an entry
 * can only make another server instance in the same process read again, never miss a child.
 */
const relationHints = { rooms: new Map<string, number>(), floor: 0 };

function noteRelation(roomId: string, pos: number): void {
  const { rooms } = relationHints;
  if (!rooms.has(roomId) && rooms.size >= HINTED_ROOMS) {
    for (const value of rooms.values()) relationHints.floor = Math.max(relationHints.floor, value);
    rooms.clear();
  }
  rooms.set(roomId, Math.max(rooms.get(roomId) ?? 0, pos));
}

function lastRelationChange(roomId: string): number {
  return Math.max(relationHints.floor, relationHints.rooms.get(roomId) ?? 0);
}

/**
 * The index writes for a new event at `pos` (none when it relates to nothing). State events
 * are not indexed, as the spec leaves their relations unaggregated.
 */
export function relationMutations(
  event: {
    eventId: string;
    roomId: string;
    type: string;
    sender: string;
    stateKey?: string;
    content: Record<string, unknown>;
  },
  pos: number,
): [Deno.KvKey, unknown][] {
  // A redaction removes its target's entries (relationRemovals) in the same commit.
  if (event.type === "m.room.redaction") noteRelation(event.roomId, pos);
  if (event.stateKey !== undefined) return [];
  const relation = relationOf(event.content);
  if (!relation) return [];
  noteRelation(event.roomId, pos);
  const record: RelationRecord = { roomId: event.roomId, type: event.type, sender: event.sender };
  if (relation.key !== undefined) record.key = relation.key;
  const writes: [Deno.KvKey, unknown][] = [
    [relationKeys.child(relation.eventId, relation.relType, pos, event.eventId), record],
  ];
  if (relation.relType === "m.thread") {
    writes.push([relationKeys.threadRoot(event.roomId, relation.eventId), { latestPos: pos }]);
  }
  return writes;
}

/**
 * The index entries to delete when the event at `pos` is redacted: redaction strips
 * `m.relates_to`, so the event is no longer a child of its parent (a thread root stays listed).
 */
export function relationRemovals(
  event: Parameters<typeof relationMutations>[0],
  pos: number,
): Deno.KvKey[] {
  return relationMutations(event, pos).map(([key]) => key).filter((key) => key[0] === "relation");
}

/** The children of an event, optionally of one relation type, in stream order. */
export async function childrenOf(
  hs: Homeserver,
  parentId: string,
  options: { relType?: string; limit?: number; reverse?: boolean } = {},
): Promise<{ relType: string; pos: number; eventId: string; record: RelationRecord }[]> {
  const out: { relType: string; pos: number; eventId: string; record: RelationRecord }[] = [];
  const iter = hs.kv.list<RelationRecord>(
    { prefix: relationKeys.ofParent(parentId, options.relType) },
    { limit: options.limit ?? MAX_CHILDREN_READ, reverse: options.reverse },
  );
  for await (const entry of iter) {
    out.push({
      relType: entry.key[2] as string,
      pos: entry.key[3] as number,
      eventId: entry.key[4] as string,
      record: entry.value,
    });
  }
  return out;
}

type Child = Awaited<ReturnType<typeof childrenOf>>[number];

interface ChildrenCache {
  lists: LruCache<string, { readAt: number; children: Child[] }>;
  /** Reads in flight: every member's sync formats a new event at about the same moment. */
  reading: Map<string, { readAt: number; children: Promise<Child[]> }>;
}

const childrenCaches = new WeakMap<Homeserver, ChildrenCache>();

function childrenCacheOf(hs: Homeserver): ChildrenCache {
  let cache = childrenCaches.get(hs);
  if (!cache) {
    cache = {
      lists: new LruCache(Infinity, {
        maxBytes: CHILDREN_CACHE_BYTES,
        idleBytes: CHILDREN_CACHE_BYTES / 4,
        sizeOf: (value, key) => 96 + key.length + 160 * value.children.length,
      }),
      reading: new Map(),
    };
    childrenCaches.set(hs, cache);
  }
  return cache;
}

/**
 * The children of `parentId` in its room. A list read when no relation or redaction in the
 * room was pending above the visible position is reused until the room gets one: children are
 * events of the parent's room, so no other event can change the list.
 */
async function roomChildren(
  hs: Homeserver,
  parent: { eventId: string; roomId?: string },
): Promise<Child[]> {
  const cache = childrenCacheOf(hs);
  if (parent.roomId === undefined) return await childrenOf(hs, parent.eventId);
  const hit = cache.lists.get(parent.eventId);
  if (hit && hit.readAt >= lastRelationChange(parent.roomId)) return hit.children;
  const pending = cache.reading.get(parent.eventId);
  if (pending && pending.readAt >= lastRelationChange(parent.roomId)) return await pending.children;
  const readAt = hs.stream.visiblePosition;
  const reading = {
    readAt,
    children: readChildren(hs, cache, { eventId: parent.eventId, roomId: parent.roomId, readAt }),
  };
  cache.reading.set(parent.eventId, reading);
  try {
    return await reading.children;
  } finally {
    if (cache.reading.get(parent.eventId) === reading) cache.reading.delete(parent.eventId);
  }
}

async function readChildren(
  hs: Homeserver,
  cache: ChildrenCache,
  parent: { eventId: string; roomId: string; readAt: number },
): Promise<Child[]> {
  const readAt = parent.readAt;
  // A relation only counts within the parent's room (an event of another room may name any
  // event ID).
  const children = (await childrenOf(hs, parent.eventId)).filter((c) =>
    c.record.roomId === parent.roomId
  );
  cache.lists.set(parent.eventId, { readAt, children });
  return children;
}

/**
 * Adds `unsigned.m.relations` to events that have children: the latest `m.replace` by the
 * original sender (as the whole edit event), `m.thread` (latest event, count, whether the
 * viewer took part) and `m.reference` (the referencing event IDs). Annotations are not
 * bundled (the spec leaves them to `/relations`). Event content is never replaced.
 */
export async function bundleAggregations(
  hs: Homeserver,
  events: ClientEvent[],
  viewerId: string,
): Promise<void> {
  for (const event of events) {
    if (event.state_key !== undefined || event.type === "m.room.redaction") continue;
    const children = await roomChildren(hs, { eventId: event.event_id, roomId: event.room_id });
    if (children.length === 0) continue;
    const relations: Record<string, unknown> = {};
    // Spec, "Validity of replacement events": same sender, same type and room; an edit is not
    // itself edited, and a redacted original carries no edit.
    const ownRelation = relationOf(event.content ?? {});
    const editable = ownRelation?.relType !== "m.replace" &&
      event.unsigned?.redacted_because === undefined;
    const edits = editable
      ? children.filter((c) =>
        c.relType === "m.replace" && c.record.sender === event.sender &&
        c.record.type === event.type
      )
      : [];
    const thread = children.filter((c) => c.relType === "m.thread");
    const references = children.filter((c) => c.relType === "m.reference");
    const load = async (eventId: string) => {
      const stored = await hs.rooms.event(eventId);
      if (!stored || stored.meta.redactedBy !== null || stored.meta.rejected !== null) return null;
      return (await formatEvents(hs, [stored], { userId: viewerId }))[0];
    };
    if (edits.length > 0) {
      for (let i = edits.length - 1; i >= 0; i--) {
        const edit = await load(edits[i].eventId);
        if (edit) {
          relations["m.replace"] = edit;
          break;
        }
      }
    }
    if (thread.length > 0) {
      const latest = await load(thread[thread.length - 1].eventId);
      relations["m.thread"] = {
        latest_event: latest ?? undefined,
        count: thread.length,
        current_user_participated: event.sender === viewerId ||
          thread.some((c) => c.record.sender === viewerId),
      };
    }
    if (references.length > 0) {
      relations["m.reference"] = { chunk: references.map((c) => ({ event_id: c.eventId })) };
    }
    if (Object.keys(relations).length === 0) continue;
    event.unsigned = { ...event.unsigned, "m.relations": relations };
  }
}
