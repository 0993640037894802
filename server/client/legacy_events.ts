/**
 * The deprecated event stream and its neighbours, still called by older clients and bots
 * (spec: "Syncing" - deprecated `GET /events` and `GET /events/{eventId}`; "Room Previews" -
 * `GET /events?room_id=` peeking into `world_readable` rooms), and the r0-era
 * `POST /rooms/{roomId}/send/{eventType}` without a transaction ID.
 *
 * The stream answers `{start, end, chunk}`: `chunk` holds what a `/sync` from `from` would
 * report as room timeline and ephemeral events (each with its `room_id`), the invites the user
 * received, and presence (with the old `content.user_id`). Its tokens are sync tokens, so
 * `end` is also a valid `/messages` `from`. Without `from` the stream starts now. `limit` is
 * per room, and nothing is skipped: a room with more events ends the answer early. The stream
 * computes an incremental sync and never acknowledges the device's to-device messages, so a
 * device may mix it with `/sync`. `dir` is accepted and, as on Synapse, does not turn it.
 *
 * Peeking (`room_id` of a room the user is not joined to) reads the room's visible events in
 * stream order, and waits for the stream to move on while there are none.
 *
 * @module
 */

import { Hono } from "hono";
import { isValidRoomId } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { badJson, forbidden, invalidParam, jsonResponse, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, rateLimit, readBody, requireAuth } from "../request_context.ts";
import { requireRoom, roomIdParam } from "../rooms/membership.ts";
import { presenceTracker } from "../store/presence.ts";
import { visibleEvent } from "../rooms/visibility.ts";
import { parseSyncFilter } from "../sync/filter.ts";
import { waitForSyncChange } from "../sync/positions.ts";
import { formatEvents, roomsAccess } from "../sync/rooms_adapter.ts";
import { computeSync } from "../sync/sync_response.ts";
import { formatSyncToken, parseSyncToken, type SyncToken } from "../sync/token.ts";
import { typingTracker } from "../sync/typing.ts";
import { checkEventType } from "./room_state.ts";
import { MAX_SYNC_TIMEOUT_MS } from "./sync.ts";

const V3 = "/_matrix/client/v3";

/**
 * The long-poll of a stream request that names no `timeout`. Synapse waits 30 s; a shorter
 * wait still keeps a client that leaves the parameter out from spinning, while a request
 * without it never looks like a hung one (the fuzz test allows 10 s).
 */
export const DEFAULT_STREAM_TIMEOUT_MS = 5_000;
/** Events per room one stream answer carries by default, and at most. */
export const DEFAULT_STREAM_LIMIT = 100;
export const MAX_STREAM_LIMIT = 1000;

type Json = Record<string, unknown>;

/** A non-negative integer query parameter, capped; `fallback` when absent. */
export function integerParam(
  value: string | undefined,
  name: string,
  options: { fallback: number; max: number },
): number {
  if (value === undefined || value === "") return options.fallback;
  const n = Number(value);
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(n)) {
    throw invalidParam(`'${name}' must be a non-negative integer`);
  }
  return Math.min(n, options.max);
}

/** The stream token of "now": the visible stream position and the typing serial. */
function currentToken(hs: Homeserver): SyncToken {
  return { pos: hs.stream.visiblePosition, typing: typingTracker(hs).serial };
}

/**
 * Waits until the stream's visible position passes `pos`, the timeout passes or `signal`
 * aborts; true when it passed. Peeking has no membership through which the notifier could
 * wake it, so it listens to the stream itself.
 */
export function waitForStreamAbove(
  hs: Homeserver,
  pos: number,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<boolean> {
  if (hs.stream.visiblePosition > pos) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (woke: boolean) => {
      clearTimeout(timer);
      unsubscribe();
      options.signal?.removeEventListener("abort", abort);
      resolve(woke);
    };
    const abort = () => finish(false);
    const timer = setTimeout(() => finish(false), options.timeoutMs);
    const unsubscribe = hs.stream.onVisible((visible) => {
      if (visible > pos) finish(true);
    });
    options.signal?.addEventListener("abort", abort);
    if (options.signal?.aborted) finish(false);
  });
}

/** The stream events of a sync body: room events and invites with `room_id`, presence. */
async function streamChunk(hs: Homeserver, userId: string, body: Json): Promise<Json[]> {
  const chunk: Json[] = [];
  const rooms = (body.rooms ?? {}) as Record<string, Record<string, Json>>;
  for (const section of ["join", "leave"]) {
    for (const [roomId, room] of Object.entries(rooms[section] ?? {})) {
      const timeline = (room.timeline as { events?: Json[] } | undefined)?.events ?? [];
      const ephemeral = (room.ephemeral as { events?: Json[] } | undefined)?.events ?? [];
      for (const event of [...timeline, ...ephemeral]) chunk.push({ ...event, room_id: roomId });
    }
  }
  const { source } = roomsAccess(hs);
  for (const roomId of Object.keys(rooms.invite ?? {})) {
    // The invite itself, in full (the stripped state of the sync has no event ID).
    const membership = await hs.rooms.membership(roomId, userId);
    const invite = membership ? await source.event(membership.eventId) : null;
    if (invite) chunk.push({ ...invite.event, room_id: roomId });
  }
  for (const event of (body.presence as { events?: Json[] } | undefined)?.events ?? []) {
    const content = (event.content ?? {}) as Json;
    chunk.push({ ...event, content: { ...content, user_id: event.sender } });
  }
  return chunk;
}

/** The joined and left rooms of a sync body whose timeline was cut to the filter's limit. */
function limitedRooms(body: Json): string[] {
  const rooms = (body.rooms ?? {}) as Record<string, Record<string, Json>>;
  const out: string[] = [];
  for (const section of ["join", "leave"]) {
    for (const [roomId, room] of Object.entries(rooms[section] ?? {})) {
      if ((room.timeline as { limited?: boolean } | undefined)?.limited) out.push(roomId);
    }
  }
  return out;
}

/**
 * The user's stream: incremental syncs from `from` until something arrives or time is up. A
 * sync timeline keeps a room's newest events; the stream must not skip any, so when a room
 * has more than `limit` events in the range, the answer ends after its oldest `limit` ones
 * and the next request continues from there.
 */
async function userStream(
  hs: Homeserver,
  device: { userId: string; deviceId: string },
  request: {
    from: SyncToken;
    limit: number;
    timeoutMs: number;
    roomId?: string;
    signal: AbortSignal;
  },
): Promise<Json> {
  const filter = parseSyncFilter({
    account_data: { not_types: ["*"] },
    // A stream of one room carries that room's events only.
    ...(request.roomId ? { presence: { not_types: ["*"] } } : {}),
    room: {
      ...(request.roomId ? { rooms: [request.roomId] } : {}),
      state: { not_types: ["*"] },
      account_data: { not_types: ["*"] },
      timeline: { limit: request.limit },
    },
  });
  const rooms = roomsAccess(hs);
  const deadline = Date.now() + request.timeoutMs;
  const start = formatSyncToken(request.from);
  let since = request.from;
  while (true) {
    const typingSerial = typingTracker(hs).serial;
    const sync = (upto: number) =>
      computeSync(hs, device, {
        // A to-device position of 0 reads the device's inbox without acknowledging anything.
        since: { pos: since.pos, typing: since.typing, toDevice: 0 },
        filter,
        fullState: false,
        rooms,
        upto,
        typingSerial,
      });
    let upto = Math.max(hs.stream.visiblePosition, since.pos);
    let result = await sync(upto);
    let cut = upto;
    for (const roomId of limitedRooms(result.body)) {
      const page = await rooms.source.events(roomId, {
        userId: device.userId,
        after: since.pos,
        upto,
        limit: request.limit,
        newest: false,
      });
      if (page.limited && page.events.length > 0) cut = Math.min(cut, page.events.at(-1)!.pos);
    }
    if (cut < upto) result = await sync(upto = cut);
    const chunk = await streamChunk(hs, device.userId, result.body);
    since = { pos: upto, typing: typingSerial };
    const remaining = deadline - Date.now();
    if (chunk.length > 0 || remaining <= 0) return { start, end: formatSyncToken(since), chunk };
    const woke = await waitForSyncChange(hs, {
      userId: device.userId,
      since: upto,
      typingSerial,
      timeoutMs: remaining,
      signal: request.signal,
    });
    if (!woke) return { start, end: formatSyncToken(since), chunk };
  }
}

/** Peeking into a world-readable room: its visible events after `from`, in stream order. */
async function peekStream(
  hs: Homeserver,
  userId: string,
  request: {
    from: SyncToken;
    limit: number;
    timeoutMs: number;
    roomId: string;
    signal: AbortSignal;
  },
): Promise<Json> {
  const { roomId } = request;
  const hv = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
  if (hv?.event.content.history_visibility !== "world_readable") {
    throw forbidden("You are not in this room and its history is not world-readable");
  }
  const rooms = roomsAccess(hs);
  const deadline = Date.now() + request.timeoutMs;
  let after = request.from.pos;
  const token = (pos: number) => formatSyncToken({ pos, typing: request.from.typing });
  while (true) {
    const upto = Math.max(hs.stream.visiblePosition, after);
    const head = (await rooms.heads([roomId], { visible: upto })).get(roomId);
    if (head && head.lastPos > after) {
      const page = await rooms.source.events(roomId, {
        userId,
        after,
        upto,
        limit: request.limit,
        newest: false,
      });
      if (page.events.length > 0) {
        // A page cut short ends at its last event, so the next request continues there.
        const end = page.limited ? page.events.at(-1)!.pos : upto;
        const chunk = page.events.map(({ event }) => ({ ...event, room_id: roomId }));
        return { start: token(request.from.pos), end: token(end), chunk };
      }
    }
    after = upto;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { start: token(request.from.pos), end: token(after), chunk: [] };
    const woke = await waitForStreamAbove(hs, upto, {
      timeoutMs: remaining,
      signal: request.signal,
    });
    if (!woke) return { start: token(request.from.pos), end: token(after), chunk: [] };
  }
}

/** Routes of the deprecated event stream, `/events/{eventId}` and the txn-less send. */
export function legacyEventRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.get(`${V3}/events`, auth, async (c) => {
    const { userId, deviceId } = c.var.auth;
    const fromParam = c.req.query("from");
    const given = fromParam ? parseSyncToken(fromParam, "from") : null;
    const timeoutMs = integerParam(c.req.query("timeout"), "timeout", {
      fallback: DEFAULT_STREAM_TIMEOUT_MS,
      max: MAX_SYNC_TIMEOUT_MS,
    });
    // A limit of 0 would never move the stream forwards.
    const limit = Math.max(
      1,
      integerParam(c.req.query("limit"), "limit", {
        fallback: DEFAULT_STREAM_LIMIT,
        max: MAX_STREAM_LIMIT,
      }),
    );
    // Synapse accepts `dir` and streams forwards whatever it says; so does this server.
    const dir = c.req.query("dir");
    if (dir !== undefined && dir !== "f" && dir !== "b") throw invalidParam("'dir' must be f or b");
    const roomId = c.req.query("room_id");
    if (roomId !== undefined && !isValidRoomId(roomId)) {
      throw invalidParam("'room_id' is not a valid room ID");
    }
    if (given && given.pos > hs.stream.visiblePosition) {
      throw invalidParam("'from' is in the future");
    }
    // Listening on the stream keeps the user online, as a sync does (before "now" is read,
    // so that a stream started now does not report this change).
    await presenceTracker(hs).synced(userId, "online", Date.now());
    const from = given ?? currentToken(hs);
    const signal = c.req.raw.signal;
    if (roomId === undefined) {
      return c.json(await userStream(hs, { userId, deviceId }, { from, limit, timeoutMs, signal }));
    }
    const membership = await hs.rooms.membership(roomId, userId);
    if (membership?.membership === "join") {
      return c.json(
        await userStream(hs, { userId, deviceId }, { from, limit, timeoutMs, roomId, signal }),
      );
    }
    return c.json(await peekStream(hs, userId, { from, limit, timeoutMs, roomId, signal }));
  });

  app.get(`${V3}/events/:eventId`, auth, async (c) => {
    const { userId, deviceId } = c.var.auth;
    const found = await hs.rooms.event(c.req.param("eventId"));
    const stored = found && found.meta.pos !== null && found.meta.rejected === null
      ? await visibleEvent(hs.rooms, userId, found)
      : null;
    if (!stored) throw notFound("Event not found, or you may not see it");
    const [event] = await formatEvents(hs, [stored], { userId, deviceId });
    return jsonResponse(event);
  });

  // r0-era sending without a transaction ID: every request is a new event (no idempotency).
  app.post(`${V3}/rooms/:roomId/send/:eventType`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const type = checkEventType(c.req.param("eventType"));
    const { userId } = c.var.auth;
    rateLimit(hs, c, "send", { userId });
    const content = await readBody(hs, c);
    if (type === "m.room.redaction") {
      throw badJson("Send redactions with PUT /rooms/{roomId}/redact/{eventId}/{txnId}");
    }
    await requireRoom(hs, roomId);
    const stored = await hs.pipeline.sendEvent(roomId, {
      type,
      sender: userId,
      content: content as JsonObject,
    });
    return jsonResponse({ event_id: stored.event.eventId });
  });

  return app;
}
