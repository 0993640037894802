/**
 * Server side search (spec: "Server Side Search", `POST /v3/search`): the `room_events`
 * category over the unencrypted text of the rooms the user is joined to (`content.body` of
 * `m.room.message`, `content.name` of `m.room.name`, `content.topic` of `m.room.topic`), from
 * the index in `server/search/`. Encrypted events are never indexed, so never found.
 *
 * A search fixes the stream position it reads up to; `next_batch` (`b<upto>_<offset>`) keeps
 * that position, so later events do not shift the pages of either order.
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { filterVisibleEvents } from "../rooms/visibility.ts";
import { SEARCH_FIELDS, type SearchField } from "../search/index.ts";
import { findMatches, queryTerms, type SearchHit } from "../search/query.ts";
import {
  parseRoomEventFilter,
  roomAllowed,
  roomEventAllowed,
  type RoomEventFilter,
} from "../sync/filter.ts";
import type { ClientEvent } from "../sync/room_source.ts";
import { formatEvents, roomsAccess } from "../sync/rooms_adapter.ts";
import { positionToken } from "../sync/token.ts";

/** Default and largest page sizes (`filter.limit`). */
export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 100;
/** Most matches ranked per search (`count` is then a lower bound). */
export const MAX_CANDIDATES = 2000;
/** Largest `before_limit` / `after_limit`. */
export const MAX_CONTEXT_LIMIT = 50;

/** A validated `room_events` criteria object. */
interface RoomEventsCriteria {
  searchTerm: string;
  fields: Set<SearchField>;
  filter: RoomEventFilter;
  orderBy: "rank" | "recent";
  context: { before: number; after: number; includeProfile: boolean } | null;
  includeState: boolean;
  groupBy: ("room_id" | "sender")[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function contextLimit(value: unknown, name: string): number {
  if (value === undefined) return 5;
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw badJson(`'${name}' must be a non-negative integer`);
  }
  return Math.min(value as number, MAX_CONTEXT_LIMIT);
}

/** Validates the `room_events` criteria. */
function parseCriteria(value: unknown): RoomEventsCriteria {
  const path = "search_categories.room_events";
  if (!isObject(value)) throw badJson(`'${path}' must be an object`);
  if (typeof value.search_term !== "string") {
    throw badJson(`'${path}.search_term' is required and must be a string`);
  }
  let fields = new Set(Object.keys(SEARCH_FIELDS) as SearchField[]);
  if (value.keys !== undefined) {
    if (!Array.isArray(value.keys)) throw badJson(`'${path}.keys' must be an array`);
    fields = new Set();
    for (const key of value.keys) {
      if (typeof key !== "string" || !(key in SEARCH_FIELDS)) {
        throw badJson(`'${path}.keys' may hold only ${Object.keys(SEARCH_FIELDS).join(", ")}`);
      }
      fields.add(key as SearchField);
    }
  }
  const filter = parseRoomEventFilter(value.filter ?? {}, `${path}.filter`);
  const orderBy = value.order_by ?? "rank";
  if (orderBy !== "rank" && orderBy !== "recent") {
    throw badJson(`'${path}.order_by' must be 'rank' or 'recent'`);
  }
  let context: RoomEventsCriteria["context"] = null;
  if (value.event_context !== undefined) {
    const ec = value.event_context;
    if (!isObject(ec)) throw badJson(`'${path}.event_context' must be an object`);
    if (ec.include_profile !== undefined && typeof ec.include_profile !== "boolean") {
      throw badJson(`'${path}.event_context.include_profile' must be a boolean`);
    }
    context = {
      before: contextLimit(ec.before_limit, `${path}.event_context.before_limit`),
      after: contextLimit(ec.after_limit, `${path}.event_context.after_limit`),
      includeProfile: ec.include_profile === true,
    };
  }
  if (value.include_state !== undefined && typeof value.include_state !== "boolean") {
    throw badJson(`'${path}.include_state' must be a boolean`);
  }
  const groupBy: RoomEventsCriteria["groupBy"] = [];
  if (value.groupings !== undefined) {
    const groupings = value.groupings;
    if (!isObject(groupings)) throw badJson(`'${path}.groupings' must be an object`);
    const list = groupings.group_by ?? [];
    if (!Array.isArray(list)) throw badJson(`'${path}.groupings.group_by' must be an array`);
    for (const group of list) {
      const key = isObject(group) ? group.key : undefined;
      if (key !== "room_id" && key !== "sender") {
        throw badJson(`'${path}.groupings.group_by' keys must be 'room_id' or 'sender'`);
      }
      groupBy.push(key);
    }
  }
  return {
    searchTerm: value.search_term,
    fields,
    filter,
    orderBy,
    context,
    includeState: value.include_state === true,
    groupBy,
  };
}

function parseBatch(text: string): { upto: number; offset: number } {
  const match = /^b(\d{1,15})_(\d{1,9})$/.exec(text);
  if (!match) throw invalidParam("'next_batch' is not a token this server issued");
  return { upto: Number(match[1]), offset: Number(match[2]) };
}

/** The matching events the user may see, in the requested order. */
async function rankedResults(
  hs: Homeserver,
  userId: string,
  criteria: RoomEventsCriteria,
  upto: number,
): Promise<{ hits: { hit: SearchHit; stored: StoredEvent }[]; highlights: Set<string> }> {
  const roomIds = (await hs.rooms.joinedRooms(userId))
    .filter((roomId) => roomAllowed(criteria.filter, roomId));
  const terms = queryTerms(criteria.searchTerm);
  const { hits, highlights } = await findMatches(hs.kv, {
    roomIds,
    terms,
    fields: criteria.fields,
    upto,
  });
  hits.sort(
    criteria.orderBy === "recent"
      ? (a, b) => b.pos - a.pos
      : (a, b) => b.rank - a.rank || b.pos - a.pos,
  );
  const candidates = hits.slice(0, MAX_CANDIDATES);
  const loaded = await hs.rooms.events(candidates.map((hit) => hit.eventId));
  const usable = candidates.filter((hit) => {
    const stored = loaded.get(hit.eventId);
    if (!stored || stored.meta.redactedBy !== null || stored.meta.rejected !== null) return false;
    return roomEventAllowed(criteria.filter, {
      type: stored.event.type,
      sender: stored.event.sender,
      room_id: stored.event.roomId,
      content: stored.event.content,
    });
  });
  // History visibility, one room at a time (the membership is read once per room).
  const visible = new Set<StoredEvent>();
  const byRoom = new Map<string, StoredEvent[]>();
  for (const hit of usable) {
    const stored = loaded.get(hit.eventId)!;
    byRoom.set(hit.roomId, [...(byRoom.get(hit.roomId) ?? []), stored]);
  }
  for (const [roomId, events] of byRoom) {
    const membership = await hs.rooms.membership(roomId, userId);
    for (const stored of await filterVisibleEvents(hs.rooms, userId, events, { membership })) {
      visible.add(stored);
    }
  }
  const out = usable.map((hit) => ({ hit, stored: loaded.get(hit.eventId)! }))
    .filter((entry) => visible.has(entry.stored));
  return { hits: out, highlights };
}

/** The historic profiles (state at `eventId`) of `senders`. */
async function profilesAt(
  hs: Homeserver,
  eventId: string,
  senders: Iterable<string>,
): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  const state = await hs.rooms.stateAfter(eventId);
  if (!state) return out;
  for (const sender of new Set(senders)) {
    const member = await hs.rooms.stateEventIn(state, "m.room.member", sender);
    if (!member) continue;
    const profile: Record<string, unknown> = {};
    const { displayname, avatar_url } = member.event.content;
    if (typeof displayname === "string") profile.displayname = displayname;
    if (typeof avatar_url === "string") profile.avatar_url = avatar_url;
    out[sender] = profile;
  }
  return out;
}

/** Events around a result, as `/context` gives them. */
async function resultContext(
  hs: Homeserver,
  userId: string,
  entry: { hit: SearchHit; stored: StoredEvent },
  options: NonNullable<RoomEventsCriteria["context"]>,
): Promise<Record<string, unknown>> {
  const { source } = roomsAccess(hs);
  const { roomId, pos } = entry.hit;
  const [before, after] = await Promise.all([
    options.before === 0 ? { events: [] } : source.events(roomId, {
      userId,
      after: 0,
      upto: pos - 1,
      limit: options.before,
      newest: true,
    }),
    options.after === 0 ? { events: [] } : source.events(roomId, {
      userId,
      after: pos,
      upto: hs.stream.visiblePosition,
      limit: options.after,
      newest: false,
    }),
  ]);
  const eventsBefore = [...before.events].reverse();
  const context: Record<string, unknown> = {
    events_before: eventsBefore.map((e) => e.event),
    events_after: after.events.map((e) => e.event),
    start: positionToken((eventsBefore.at(-1)?.pos ?? pos) - 1),
    end: positionToken(after.events.at(-1)?.pos ?? pos),
  };
  if (options.includeProfile) {
    const senders = [
      entry.stored.event.sender,
      ...eventsBefore.map((e) => e.event.sender),
      ...after.events.map((e) => e.event.sender),
    ];
    context.profile_info = await profilesAt(hs, entry.stored.event.eventId, senders);
  }
  return context;
}

/** Routes of `/search`. */
export function searchRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/_matrix/client/v3/search", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const body = await readBody(hs, c);
    const categories = body.search_categories;
    if (!isObject(categories)) throw badJson("'search_categories' must be an object");
    const batchParam = c.req.query("next_batch");
    const batch = batchParam ? parseBatch(batchParam) : null;
    if (categories.room_events === undefined) return c.json({ search_categories: {} });
    const criteria = parseCriteria(categories.room_events);

    const upto = Math.min(batch?.upto ?? Infinity, hs.stream.visiblePosition);
    const offset = batch?.offset ?? 0;
    const limit = Math.min(criteria.filter.limit ?? DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
    const { hits, highlights } = await rankedResults(hs, userId, criteria, upto);
    const page = hits.slice(offset, offset + limit);
    const formatted = await formatEvents(hs, page.map((entry) => entry.stored), {
      userId,
      deviceId,
    });
    const results: Record<string, unknown>[] = [];
    for (let i = 0; i < page.length; i++) {
      const result: Record<string, unknown> = { rank: page[i].hit.rank, result: formatted[i] };
      if (criteria.context) {
        result.context = await resultContext(hs, userId, page[i], criteria.context);
      }
      results.push(result);
    }
    const roomEvents: Record<string, unknown> = {
      count: hits.length,
      highlights: [...highlights],
      results,
    };
    const nextOffset = offset + page.length;
    // An empty page (`limit` 0) would hand back the same token: a client paging on it loops.
    if (page.length > 0 && nextOffset < hits.length) {
      roomEvents.next_batch = `b${upto}_${nextOffset}`;
    }
    if (criteria.includeState) {
      const state: Record<string, ClientEvent[]> = {};
      const { source } = roomsAccess(hs);
      for (const roomId of new Set(page.map((entry) => entry.hit.roomId))) {
        state[roomId] = [...(await source.currentState(roomId)).values()];
      }
      roomEvents.state = state;
    }
    if (criteria.groupBy.length > 0) {
      const groups: Record<string, Record<string, unknown>> = {};
      for (const key of criteria.groupBy) {
        const byValue: Record<string, { results: string[]; order: number }> = {};
        page.forEach((entry, i) => {
          const value = key === "room_id" ? entry.hit.roomId : entry.stored.event.sender;
          byValue[value] ??= { results: [], order: i };
          byValue[value].results.push(entry.hit.eventId);
        });
        groups[key] = byValue;
      }
      roomEvents.groups = groups;
    }
    return c.json({ search_categories: { room_events: roomEvents } });
  });

  return app;
}
