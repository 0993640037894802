/**
 * Room administration over Synapse's admin API shapes (server admins only):
 *
 * - `GET /_synapse/admin/v1/rooms`: the list (`from`, `limit`, `order_by`, `dir`,
 *   `search_term`, `public_rooms`, `empty_rooms`), each room with gemeng's `events` and
 *   `size_bytes` (see `room_info.ts`); `order_by=size_bytes` is a gemeng addition
 * - `GET /_synapse/admin/v1/rooms/{roomId}`, `.../members`, `.../state` (`type`)
 * - `PUT` / `GET /_synapse/admin/v1/rooms/{roomId}/block`
 * - `DELETE /_synapse/admin/v2/rooms/{roomId}` and its statuses
 *   (`GET /_synapse/admin/v2/rooms/{roomId}/delete_status`,
 *   `GET /_synapse/admin/v2/rooms/delete_status/{deleteId}`)
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { isValidUserId, serverNameOf } from "../../federation/identifiers.ts";
import { clientEvents } from "../client/client_event.ts";
import { badJson, invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalBoolean, optionalString } from "../http_util.ts";
import { type AppEnv, readBody } from "../request_context.ts";
import { roomBlock, setRoomBlocked } from "../rooms/room_block.ts";
import type { RoomRecord } from "../rooms/schema.ts";
import { adminOnly, dirQuery, textQuery } from "./admin_common.ts";
import { choiceQuery, compareValues, filterQuery, pageQuery } from "./admin_lists.ts";
import { auditAdminAction } from "./audit.ts";
import { allRooms, roomDetails, type RoomListEntry, roomSizes, roomSummary } from "./room_info.ts";
import { DEFAULT_MESSAGE, DEFAULT_ROOM_NAME, roomDeletions } from "./room_delete.ts";

/** The orders of the room list, with Synapse's deprecated aliases. */
const ORDERS = [
  "name",
  "alphabetical",
  "size",
  "canonical_alias",
  "joined_members",
  "joined_local_members",
  "version",
  "creator",
  "encryption",
  "federatable",
  "public",
  "join_rules",
  "guest_access",
  "history_visibility",
  "state_events",
  "size_bytes",
] as const;
type Order = (typeof ORDERS)[number];

/** Orders that run largest first in the forward direction, as Synapse's do. */
const LARGEST_FIRST = new Set<Order>([
  "joined_members",
  "joined_local_members",
  "version",
  "state_events",
  "federatable",
  "public",
  "size_bytes",
]);

type ListedRoom = RoomListEntry & { events?: number; size_bytes?: number };

function sortKey(room: ListedRoom, order: Order): unknown {
  if (order === "version") return Number(room.version) || 0;
  return room[order as keyof ListedRoom];
}

/** Whether a room matches Synapse's `search_term` (name, alias localpart, room ID). */
function matches(room: RoomListEntry, term: string): boolean {
  const lower = term.toLowerCase();
  if (room.name?.toLowerCase().includes(lower)) return true;
  const aliasLocal = room.canonical_alias?.slice(1).split(":")[0] ?? "";
  return aliasLocal.toLowerCase().includes(lower) || room.room_id.includes(term);
}

/** Longest `room_name` and `message` of a delete request, in bytes. */
const MAX_NAME_BYTES = 255;
const MAX_MESSAGE_BYTES = 4096;

/** Routes of room administration. */
export function roomsAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const v1 = "/_synapse/admin/v1/rooms";
  const v2 = "/_synapse/admin/v2/rooms";

  async function knownRoom(roomId: string): Promise<RoomRecord> {
    const room = await hs.rooms.room(roomId);
    if (!room) throw notFound("Room not found");
    return room;
  }

  app.get(v1, ...admin, async (c) => {
    const page = pageQuery(c, 100);
    let order = choiceQuery(c, "order_by", ORDERS, "name");
    if (order === "alphabetical") order = "name";
    if (order === "size") order = "joined_members";
    const dir = dirQuery(c, "f");
    const term = textQuery(c, "search_term", 255);
    const publicOnly = filterQuery(c, "public_rooms");
    const emptyOnly = filterQuery(c, "empty_rooms");

    let rooms: ListedRoom[] = [];
    for (const record of await allRooms(hs)) {
      const { topic: _t, avatar: _a, localJoined: _l, ...entry } = await roomSummary(hs, record);
      if (term !== undefined && term !== "" && !matches(entry, term)) continue;
      if (publicOnly !== undefined && entry.public !== publicOnly) continue;
      if (emptyOnly !== undefined && (entry.joined_members === 0) !== emptyOnly) continue;
      rooms.push(entry);
    }
    const withSize = async (room: ListedRoom) => {
      const size = await roomSizes(hs).of(room.room_id);
      room.events = size.events;
      room.size_bytes = size.bytes;
    };
    if (order === "size_bytes") { for (const room of rooms) await withSize(room); }
    const sign = (LARGEST_FIRST.has(order) ? -1 : 1) * (dir === "b" ? -1 : 1);
    rooms = rooms.sort((a, b) =>
      sign * compareValues(sortKey(a, order), sortKey(b, order)) ||
      compareValues(a.room_id, b.room_id)
    );
    const slice = rooms.slice(page.from, page.from + page.limit);
    if (order !== "size_bytes") { for (const room of slice) await withSize(room); }
    const body: Record<string, unknown> = {
      rooms: slice,
      offset: page.from,
      total_rooms: rooms.length,
    };
    const end = page.from + slice.length;
    if (end < rooms.length) body.next_batch = body.next_token = end;
    if (page.from > 0) body.prev_batch = Math.max(0, page.from - page.limit);
    return c.json(body);
  });

  app.get(`${v1}/:roomId`, ...admin, async (c) => {
    const room = await knownRoom(c.req.param("roomId"));
    return c.json(await roomDetails(hs, room));
  });

  app.get(`${v1}/:roomId/members`, ...admin, async (c) => {
    const room = await knownRoom(c.req.param("roomId"));
    const members = await hs.rooms.members(room.roomId, "join");
    return c.json({ members, total: members.length });
  });

  app.get(`${v1}/:roomId/state`, ...admin, async (c) => {
    const room = await knownRoom(c.req.param("roomId"));
    const type = textQuery(c, "type", 255);
    const events = await hs.rooms.currentStateEvents(room.roomId, type === "" ? undefined : type);
    return c.json({ state: await clientEvents(hs.rooms, events, { userId: c.var.auth.userId }) });
  });

  app.get(`${v1}/:roomId/block`, ...admin, async (c) => {
    const block = await roomBlock(hs.kv, c.req.param("roomId"));
    return c.json(block ? { block: true, user_id: block.userId } : { block: false });
  });

  app.put(`${v1}/:roomId/block`, ...admin, async (c) => {
    const body = await readBody(hs, c);
    if (typeof body.block !== "boolean") throw badJson("'block' must be true or false");
    const roomId = c.req.param("roomId");
    await setRoomBlocked(hs.kv, roomId, body.block ? { userId: c.var.auth.userId } : null);
    await auditAdminAction(hs, c, body.block ? "room.block" : "room.unblock", { target: roomId });
    return c.json({ block: body.block });
  });

  /** Starts a deletion from a checked request body (v1 and v2 take the same). */
  const startDeletion = async (c: Context<AppEnv>) => {
    const roomId = c.req.param("roomId")!;
    // Synapse asks for at least `{}`.
    const body = await readBody(hs, c);
    const newRoomUserId = optionalString(body, "new_room_user_id") ?? null;
    if (
      newRoomUserId !== null &&
      (!isValidUserId(newRoomUserId) || serverNameOf(newRoomUserId) !== hs.config.serverName)
    ) {
      throw invalidParam("'new_room_user_id' must be a user ID of this server");
    }
    const request = {
      roomId,
      requester: c.var.auth.userId,
      newRoomUserId,
      roomName: optionalString(body, "room_name", { maxBytes: MAX_NAME_BYTES }) ??
        DEFAULT_ROOM_NAME,
      message: optionalString(body, "message", { maxBytes: MAX_MESSAGE_BYTES }) ??
        DEFAULT_MESSAGE,
      block: optionalBoolean(body, "block") ?? false,
      purge: optionalBoolean(body, "purge") ?? true,
      forcePurge: optionalBoolean(body, "force_purge") ?? false,
    };
    if (!request.block && !(await hs.rooms.room(roomId))) {
      throw invalidParam(`Unknown room ${roomId} (only blocking is possible for it)`);
    }
    const deletions = roomDeletions(hs);
    if (deletions.busy(roomId)) {
      throw new MatrixError("M_UNKNOWN", "A deletion of this room is already running");
    }
    const { deleteId, done } = deletions.start(request);
    await auditAdminAction(hs, c, "room.delete", {
      target: roomId,
      details: {
        delete_id: deleteId,
        block: request.block,
        purge: request.purge,
        force_purge: request.forcePurge,
        new_room_user_id: request.newRoomUserId,
      },
    });
    return { deleteId, done };
  };

  app.delete(`${v2}/:roomId`, ...admin, async (c) => {
    return c.json({ delete_id: (await startDeletion(c)).deleteId });
  });

  // Synapse's older, synchronous form: the answer comes when the deletion is over.
  app.delete(`${v1}/:roomId`, ...admin, async (c) => {
    const task = await (await startDeletion(c)).done;
    if (task.status === "failed") {
      throw new MatrixError("M_UNKNOWN", `The deletion failed: ${task.error}`);
    }
    return c.json(task.shutdown_room);
  });

  app.get(`${v2}/:roomId/delete_status`, ...admin, (c) => {
    const results = roomDeletions(hs).ofRoom(c.req.param("roomId"));
    if (results.length === 0) throw notFound("No deletion of this room is known");
    return c.json({ results });
  });

  app.get(`${v2}/delete_status/:deleteId`, ...admin, (c) => {
    const task = roomDeletions(hs).get(c.req.param("deleteId"));
    if (!task) throw notFound("No such deletion");
    return c.json(task);
  });

  return app;
}
