/**
 * Message pagination and event context (spec: "Syncing" - "Getting events for a room",
 * "Event Context"): `GET /v3/rooms/{roomId}/messages` and
 * `GET /v3/rooms/{roomId}/context/{eventId}`. Tokens are stream positions (see
 * `server/sync/token.ts`), so a sync's `prev_batch` or `next_batch` is a valid `from`.
 *
 * Backfilled events sit below the first stream position (negative positions), so pages reach
 * down to the room's oldest timeline entry. Paginating backwards past it in a room joined over
 * federation fetches older history from the servers in the room first
 * (`server/federation/backfill.ts`) before answering.
 *
 * `end`: a page with events always has one (the next page may be empty, and then has none
 * backwards: the client stops when `end` is missing, as the spec tells it to); forwards, an
 * empty page keeps its `from` as `end`, since newer events may still come. Events of users the
 * requester ignores are left out, their state events excepted (spec: "Ignoring Users").
 *
 * @module
 */

import { Hono } from "hono";
import { forbidden, invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { projectEventFields, roomEventAllowed, type RoomEventFilter } from "../sync/filter.ts";
import { hiddenByIgnore, ignoredUsers } from "../sync/ignored_users.ts";
import { visibleTimelineEvent } from "../sync/room_access.ts";
import type { ClientEvent, SyncEvent } from "../sync/room_source.ts";
import { formatEvents, roomsAccess } from "../sync/rooms_adapter.ts";
import { parsePaginationToken, positionToken } from "../sync/token.ts";
import { backfillRoom } from "../federation/backfill.ts";
import { roomEventFilterFromParam } from "./filter.ts";

/** Default and largest page sizes. */
export const DEFAULT_MESSAGES_LIMIT = 10;
export const MAX_MESSAGES_LIMIT = 1000;

function limitParam(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw invalidParam("'limit' must be a non-negative integer");
  return Math.min(n, MAX_MESSAGES_LIMIT);
}

/** Throws 403 unless the user is or was in the room (history visibility decides the rest). */
async function requireMembershipHistory(hs: Homeserver, roomId: string, userId: string) {
  const membership = await hs.rooms.membership(roomId, userId);
  if (!membership) {
    if (!(await hs.rooms.room(roomId))) throw forbidden("You are not in this room");
    const hv = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
    if (hv?.event.content.history_visibility !== "world_readable") {
      throw forbidden("You are not in this room");
    }
  }
}

/** Backfill requests one page makes at most before answering with what it has. */
const BACKFILL_ROUNDS = 3;

/**
 * Just below the room's oldest timeline entry: the lower bound of a page reaching the
 * bottom. Not lower, so that the recent-timeline memory never claims a stretch that later
 * backfilled events (always placed below every existing one) would fall into.
 */
async function belowOldest(hs: Homeserver, roomId: string): Promise<number> {
  const [oldest] = await hs.rooms.timeline(roomId, { dir: "f", limit: 1 });
  return oldest ? Math.min(oldest.pos - 1, 0) : 0;
}

/** Member events of the senders of `events` in a state, for lazy-loading. */
function lazyMembers(
  state: Map<string, ClientEvent>,
  events: readonly ClientEvent[],
): ClientEvent[] {
  const senders = new Set(events.map((event) => event.sender));
  const out: ClientEvent[] = [];
  for (const sender of senders) {
    const member = state.get(`m.room.member\u0000${sender}`);
    if (member) out.push(member);
  }
  return out;
}

function strip(event: ClientEvent): Record<string, unknown> {
  return projectEventFields(event, undefined);
}

/** Routes of `/messages` and `/context`. */
export function messagesRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.get("/_matrix/client/v3/rooms/:roomId/messages", auth, async (c) => {
    const userId = c.var.auth.userId;
    const roomId = c.req.param("roomId");
    const dir = c.req.query("dir") ?? "b";
    if (dir !== "b" && dir !== "f") throw invalidParam("'dir' must be 'b' or 'f'");
    const filter: RoomEventFilter = roomEventFilterFromParam(c.req.query("filter"));
    const limit = limitParam(c.req.query("limit"), filter.limit ?? DEFAULT_MESSAGES_LIMIT);
    await requireMembershipHistory(hs, roomId, userId);
    const visible = hs.stream.visiblePosition;
    const fromParam = c.req.query("from");
    const toParam = c.req.query("to");
    const from = fromParam ? Math.min(parsePaginationToken(fromParam, "from"), visible) : null;
    const to = toParam ? parsePaginationToken(toParam, "to") : null;
    const { source } = roomsAccess(hs);
    const ignored = await ignoredUsers(hs, userId);
    const accept = (event: ClientEvent) =>
      roomEventAllowed(filter, { ...event, room_id: roomId }) && !hiddenByIgnore(ignored, event);
    let page: { events: SyncEvent[]; limited: boolean };
    let start: number;
    if (dir === "b") {
      start = from ?? visible;
      const read = async () =>
        limit === 0 ? { events: [], limited: true } : await source.events(roomId, {
          userId,
          after: to ?? await belowOldest(hs, roomId),
          upto: start,
          limit,
          newest: true,
          accept,
        });
      page = await read();
      if (!page.limited && to === null && limit > 0) {
        // The bottom of what this server has: older history may be on other servers.
        for (let round = 0; round < BACKFILL_ROUNDS; round++) {
          const wanted = limit - page.events.length;
          if ((await backfillRoom(hs, roomId, { limit: Math.max(wanted, 10) })) === 0) break;
          page = await read();
          if (page.limited) break;
        }
      }
      page.events.reverse();
    } else {
      start = from ?? await belowOldest(hs, roomId);
      page = limit === 0 ? { events: [], limited: true } : await source.events(roomId, {
        userId,
        after: start,
        upto: Math.min(to ?? visible, visible),
        limit,
        newest: false,
        accept,
      });
    }
    const chunk = page.events.map((entry) => entry.event);
    const body: Record<string, unknown> = {
      start: positionToken(start),
      chunk: chunk.map(strip),
    };
    const lastPos = page.events.at(-1)?.pos;
    if (lastPos !== undefined) {
      body.end = positionToken(dir === "b" ? lastPos - 1 : lastPos);
    } else if (dir === "f") {
      body.end = positionToken(start);
    }
    if (filter.lazyLoadMembers && chunk.length > 0) {
      const state = await source.stateAt(roomId, Math.max(...page.events.map((e) => e.pos)));
      body.state = lazyMembers(state, chunk).map(strip);
    }
    return c.json(body);
  });

  app.get("/_matrix/client/v3/rooms/:roomId/context/:eventId", auth, async (c) => {
    const userId = c.var.auth.userId;
    const roomId = c.req.param("roomId");
    const eventId = c.req.param("eventId");
    const filter = roomEventFilterFromParam(c.req.query("filter"));
    const limit = limitParam(c.req.query("limit"), DEFAULT_MESSAGES_LIMIT);
    await requireMembershipHistory(hs, roomId, userId);
    const stored = await visibleTimelineEvent(hs, { roomId, eventId, userId });
    if (!stored) throw notFound("Event not found or not visible to you");
    const pos = stored.meta.pos!;
    const { source } = roomsAccess(hs);
    const ignored = await ignoredUsers(hs, userId);
    const accept = (event: ClientEvent) =>
      roomEventAllowed(filter, { ...event, room_id: roomId }) && !hiddenByIgnore(ignored, event);
    const half = Math.floor(limit / 2);
    const visible = hs.stream.visiblePosition;
    const [target, before, after] = await Promise.all([
      formatEvents(hs, [stored], { userId }).then(([event]) => ({ event })),
      source.events(roomId, {
        userId,
        after: await belowOldest(hs, roomId),
        upto: pos - 1,
        limit: limit - half,
        newest: true,
        accept,
      }),
      source.events(roomId, {
        userId,
        after: pos,
        upto: visible,
        limit: half,
        newest: false,
        accept,
      }),
    ]);
    const eventsBefore = [...before.events].reverse();
    const stateAt = await source.stateAt(roomId, pos);
    const all = [
      target!.event,
      ...before.events.map((e) => e.event),
      ...after.events.map((e) => e.event),
    ];
    const state = filter.lazyLoadMembers ? lazyMembers(stateAt, all) : [...stateAt.values()];
    return c.json({
      event: strip(target!.event),
      events_before: eventsBefore.map((e) => strip(e.event)),
      events_after: after.events.map((e) => strip(e.event)),
      start: positionToken((eventsBefore.at(-1)?.pos ?? pos) - 1),
      end: positionToken(after.events.at(-1)?.pos ?? pos),
      state: state.map(strip),
    });
  });

  return app;
}
