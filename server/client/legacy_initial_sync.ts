/**
 * The deprecated snapshots (spec: "Syncing" - deprecated `GET /initialSync`; "Room Previews" -
 * `GET /rooms/{roomId}/initialSync`, which remains the way to peek into a room the user is not
 * in when its history is `world_readable`).
 *
 * `/initialSync` is an initial `/sync` (`server/sync/sync_response.ts`) reshaped into the old
 * list of rooms: each with its current state, its latest `limit` messages as a pagination
 * chunk, its directory visibility and the user's room account data. Its `end` token feeds the
 * old event stream (`legacy_events.ts`). The room snapshot reads the room directly: a member
 * gets the current state, someone who left the state at their departure, a peeker the current
 * state without a `membership`.
 *
 * @module
 */

import { Hono } from "hono";
import { forbidden, invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { roomIdParam } from "../rooms/membership.ts";
import { listAccountData } from "../store/account_data.ts";
import { getPresence, presenceTracker } from "../store/presence.ts";
import { receiptEvent, receiptsOfRoom } from "../store/receipts.ts";
import { parseSyncFilter } from "../sync/filter.ts";
import type { ClientEvent } from "../sync/room_source.ts";
import { roomsAccess } from "../sync/rooms_adapter.ts";
import { computeSync } from "../sync/sync_response.ts";
import { formatSyncToken, positionToken } from "../sync/token.ts";
import { typingTracker } from "../sync/typing.ts";
import { visibleAccountDataContent } from "./account_data.ts";
import { integerParam, MAX_STREAM_LIMIT } from "./legacy_events.ts";

const V3 = "/_matrix/client/v3";

/** Messages per room when the request names no `limit` (as Synapse). */
export const DEFAULT_SNAPSHOT_LIMIT = 10;

type Json = Record<string, unknown>;

function eventsOf(section: unknown): Json[] {
  return ((section as { events?: Json[] } | undefined)?.events ?? []);
}

function withRoom(events: readonly Json[], roomId: string): Json[] {
  return events.map((event) => ({ ...event, room_id: roomId }));
}

/** The state after a sync section: its `state` overlaid with the timeline's state events. */
function stateAfter(room: Json): Json[] {
  const byKey = new Map<string, Json>();
  for (const event of [...eventsOf(room.state), ...eventsOf(room.timeline)]) {
    if (typeof event.state_key !== "string") continue;
    byKey.set(`${event.type}\u0000${event.state_key}`, event);
  }
  return [...byKey.values()];
}

function booleanParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw invalidParam(`'${name}' must be true or false`);
}

function limitOf(value: string | undefined): number {
  return integerParam(value, "limit", { fallback: DEFAULT_SNAPSHOT_LIMIT, max: MAX_STREAM_LIMIT });
}

/** `GET /initialSync`: every room of the user, from an initial sync. */
async function initialSync(
  hs: Homeserver,
  device: { userId: string; deviceId: string },
  options: { limit: number; archived: boolean },
): Promise<Json> {
  // With limit=0 the sync still reads the newest event, whose state the snapshot needs; the
  // chunk is emptied below.
  const filter = parseSyncFilter({
    room: { include_leave: options.archived, timeline: { limit: Math.max(1, options.limit) } },
  });
  const typingSerial = typingTracker(hs).serial;
  const upto = hs.stream.visiblePosition;
  const { body } = await computeSync(hs, device, {
    since: null,
    filter,
    fullState: false,
    rooms: roomsAccess(hs),
    upto,
    typingSerial,
  });
  const end = body.next_batch as string;
  const sections = body.rooms as Record<string, Record<string, Json>>;
  const rooms: Json[] = [];
  const receipts: Json[] = [];
  const { source } = roomsAccess(hs);
  for (const section of ["join", "leave"] as const) {
    for (const [roomId, room] of Object.entries(sections[section] ?? {})) {
      const membership = section === "join"
        ? "join"
        : (await hs.rooms.membership(roomId, device.userId))?.membership ?? "leave";
      const timeline = room.timeline as { events?: Json[]; prev_batch?: string } | undefined;
      const chunk = options.limit === 0 ? [] : withRoom(eventsOf(timeline), roomId);
      const messages: Json = { chunk, start: timeline?.prev_batch ?? end, end };
      rooms.push({
        room_id: roomId,
        membership,
        messages,
        state: withRoom(stateAfter(room), roomId),
        visibility: (await hs.rooms.isPublished(roomId)) ? "public" : "private",
        account_data: eventsOf(room.account_data),
      });
      for (const event of eventsOf(room.ephemeral)) {
        if (event.type === "m.receipt") receipts.push({ ...event, room_id: roomId });
      }
    }
  }
  for (const roomId of Object.keys(sections.invite ?? {})) {
    const record = await hs.rooms.membership(roomId, device.userId);
    const invite = record ? await source.event(record.eventId) : null;
    const entry: Json = { room_id: roomId, membership: "invite" };
    if (invite) {
      entry.invite = { ...invite.event, room_id: roomId };
      entry.inviter = invite.event.sender;
    }
    rooms.push(entry);
  }
  const presence = eventsOf(body.presence).map((event) => ({
    ...event,
    content: { ...(event.content as Json), user_id: event.sender },
  }));
  return { end, rooms, presence, account_data: eventsOf(body.account_data), receipts };
}

/** Just below the room's oldest timeline entry (the lower bound of a backwards read). */
async function belowOldest(hs: Homeserver, roomId: string): Promise<number> {
  const [oldest] = await hs.rooms.timeline(roomId, { dir: "f", limit: 1 });
  return oldest ? Math.min(oldest.pos - 1, 0) : 0;
}

/** The presence of the joined members of a room, in the old shape. */
async function membersPresence(hs: Homeserver, state: Iterable<ClientEvent>): Promise<Json[]> {
  const tracker = presenceTracker(hs);
  const now = Date.now();
  const out: Json[] = [];
  for (const event of state) {
    if (event.type !== "m.room.member" || event.content.membership !== "join") continue;
    const userId = event.state_key!;
    const record = await getPresence(hs, userId);
    if (!record) continue;
    out.push({
      type: "m.presence",
      sender: userId,
      content: { ...tracker.content(userId, record, now), user_id: userId },
    });
  }
  return out;
}

/** `GET /rooms/{roomId}/initialSync`: one room, for a member, a former member or a peeker. */
async function roomInitialSync(
  hs: Homeserver,
  viewer: { userId: string; deviceId: string },
  options: { roomId: string; limit: number },
): Promise<Json> {
  const { roomId, limit } = options;
  const { userId } = viewer;
  const record = await hs.rooms.membership(roomId, userId);
  const membership = record?.membership;
  const departed = membership === "leave" || membership === "ban";
  let peeking = false;
  if (membership !== "join" && !departed) {
    const hv = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
    if (hv?.event.content.history_visibility !== "world_readable") {
      throw forbidden("You are not in this room and its history is not world-readable");
    }
    peeking = true;
  }
  const { source } = roomsAccess(hs);
  const now = { pos: hs.stream.visiblePosition, typing: typingTracker(hs).serial };
  // Someone who left sees the room as it was when they left.
  const upto = departed ? record!.pos : now.pos;
  const [stateMap, page] = await Promise.all([
    departed ? source.stateAt(roomId, upto) : source.currentState(roomId),
    limit === 0 ? { events: [], limited: true } : source.events(roomId, {
      userId,
      deviceId: viewer.deviceId,
      after: await belowOldest(hs, roomId),
      upto,
      limit,
      newest: true,
    }),
  ]);
  const state = [...stateMap.values()];
  const messages: Json = {
    chunk: withRoom(page.events.map((entry) => entry.event), roomId),
    start: positionToken((page.events[0]?.pos ?? upto + 1) - 1),
    end: departed ? positionToken(upto) : formatSyncToken(now),
  };
  const accountData = (await listAccountData(hs, userId))
    .filter((entry) => entry.roomId === roomId)
    .map((entry) => ({
      type: entry.type,
      content: visibleAccountDataContent(userId, entry.type, entry.content),
    }));
  const body: Json = {
    room_id: roomId,
    messages,
    state: withRoom(state, roomId),
    visibility: (await hs.rooms.isPublished(roomId)) ? "public" : "private",
    account_data: accountData,
    presence: departed ? [] : await membersPresence(hs, state),
    receipts: [],
  };
  if (!departed) {
    const receipt = receiptEvent(await receiptsOfRoom(hs, roomId), userId);
    if (receipt) body.receipts = [{ ...receipt, room_id: roomId }];
  }
  if (!peeking) body.membership = membership;
  return body;
}

/** Routes of `/initialSync` and `/rooms/{roomId}/initialSync`. */
export function legacyInitialSyncRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.get(`${V3}/initialSync`, auth, async (c) => {
    const { userId, deviceId } = c.var.auth;
    const limit = limitOf(c.req.query("limit"));
    const archived = booleanParam(c.req.query("archived"), "archived");
    // A client starting up this way is online, and sees itself so in `presence`.
    await presenceTracker(hs).synced(userId, "online", Date.now());
    return c.json(await initialSync(hs, { userId, deviceId }, { limit, archived }));
  });

  app.get(`${V3}/rooms/:roomId/initialSync`, auth, async (c) => {
    const { userId, deviceId } = c.var.auth;
    const roomId = roomIdParam(c.req.param("roomId"));
    const limit = limitOf(c.req.query("limit"));
    return c.json(await roomInitialSync(hs, { userId, deviceId }, { roomId, limit }));
  });

  return app;
}
