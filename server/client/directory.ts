/**
 * The room directory (spec: Client-Server API, "Room aliases", "Listing rooms"):
 * `PUT/GET/DELETE /directory/room/{roomAlias}`, `GET /rooms/{roomId}/aliases`,
 * `GET/PUT /directory/list/room/{roomId}` and `GET/POST /publicRooms` (this server's rooms
 * only).
 *
 * @module
 */

import { Hono } from "hono";
import {
  badJson,
  forbidden,
  invalidParam,
  jsonResponse,
  MatrixError,
  notFound,
} from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalObject, optionalString } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { createAlias, deleteAlias, localAlias, setPublished } from "../rooms/aliases.ts";
import { requireRoom, roomIdParam } from "../rooms/membership.ts";
import { powerView } from "../rooms/power.ts";
import type { StateReader } from "../rooms/event_pipeline.ts";
import { roomKeys } from "../rooms/schema.ts";

const V3 = "/_matrix/client/v3";

/** One public room as `/publicRooms` lists it. */
export interface PublicRoomChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  join_rule?: string;
  name?: string;
  topic?: string;
  avatar_url?: string;
  canonical_alias?: string;
  room_type?: string;
}

/** Routes of the directory module. */
export function directoryRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.put(`${V3}/directory/room/:roomAlias`, auth, async (c) => {
    const alias = localAlias(hs, c.req.param("roomAlias"));
    const body = await readBody(hs, c);
    const roomId = roomIdParam(optionalString(body, "room_id") ?? "");
    await requireRoom(hs, roomId);
    const userId = c.var.auth.userId;
    // As in Synapse: only members may point an alias at a room (else anyone could squat names
    // on private rooms they cannot see); server admins are exempt.
    if (!(await isJoined(hs, roomId, userId)) && !(await isServerAdmin(hs, userId))) {
      throw forbidden("You must be joined to the room to create an alias for it");
    }
    if (!(await createAlias(hs, alias, roomId, userId))) {
      throw new MatrixError("M_UNKNOWN", `Room alias ${alias} already exists`, { status: 409 });
    }
    return jsonResponse({});
  });

  app.get(`${V3}/directory/room/:roomAlias`, async (c) => {
    const alias = c.req.param("roomAlias");
    const record = await hs.rooms.alias(alias);
    if (!record) throw notFound(`Room alias ${alias} not found`);
    return jsonResponse({ room_id: record.roomId, servers: [hs.config.serverName] });
  });

  app.delete(`${V3}/directory/room/:roomAlias`, auth, async (c) => {
    const alias = localAlias(hs, c.req.param("roomAlias"));
    const record = await hs.rooms.alias(alias);
    if (!record) throw notFound(`Room alias ${alias} not found`);
    const userId = c.var.auth.userId;
    if (record.creator !== userId && !(await isServerAdmin(hs, userId))) {
      // A power level outlives membership: someone who left must not keep deleting aliases.
      if (!(await isJoined(hs, record.roomId, userId))) {
        throw forbidden("Only the alias's creator or a moderator joined to the room may delete it");
      }
      const level = await roomPower(hs, record.roomId);
      if (level.of(userId) < level.required("m.room.canonical_alias")) {
        throw forbidden("Only the alias's creator or a room moderator may delete it");
      }
    }
    await deleteAlias(hs, alias);
    return jsonResponse({});
  });

  app.get(`${V3}/rooms/:roomId/aliases`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    await requireRoom(hs, roomId);
    const membership = await hs.rooms.membership(roomId, c.var.auth.userId);
    if (membership?.membership !== "join") {
      const hv = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
      if (hv?.event.content.history_visibility !== "world_readable") {
        throw forbidden("You are not in this room");
      }
    }
    return jsonResponse({ aliases: await hs.rooms.aliasesOf(roomId) });
  });

  app.get(`${V3}/directory/list/room/:roomId`, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    if (!(await hs.rooms.room(roomId))) throw notFound(`Room ${roomId} not found`);
    const published = await hs.rooms.isPublished(roomId);
    return jsonResponse({ visibility: published ? "public" : "private" });
  });

  app.put(`${V3}/directory/list/room/:roomId`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const body = await readBody(hs, c);
    const visibility = optionalString(body, "visibility") ?? "public";
    if (visibility !== "public" && visibility !== "private") {
      throw invalidParam("'visibility' must be 'public' or 'private'");
    }
    if (!(await hs.rooms.room(roomId))) throw notFound(`Room ${roomId} not found`);
    const userId = c.var.auth.userId;
    if (!(await isServerAdmin(hs, userId))) {
      const level = await roomPower(hs, roomId);
      if (
        !(await isJoined(hs, roomId, userId)) ||
        level.of(userId) < level.required("m.room.canonical_alias")
      ) {
        throw forbidden("Publishing a room needs the power to set its canonical alias");
      }
    }
    await setPublished(hs, roomId, visibility === "public");
    return jsonResponse({});
  });

  app.get(`${V3}/publicRooms`, async (c) => {
    const limit = c.req.query("limit");
    return jsonResponse(
      await publicRooms(hs, {
        limit: limit === undefined ? undefined : parseLimit(limit),
        since: c.req.query("since"),
        server: c.req.query("server"),
      }),
    );
  });

  app.post(`${V3}/publicRooms`, auth, async (c) => {
    const body = await readBody(hs, c, { allowEmpty: true });
    const filter = optionalObject(body, "filter");
    const term = filter ? optionalString(filter, "generic_search_term") : undefined;
    const limit = body.limit;
    if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit))) {
      throw badJson("'limit' must be an integer");
    }
    return jsonResponse(
      await publicRooms(hs, {
        limit: limit as number | undefined,
        since: optionalString(body, "since"),
        server: c.req.query("server"),
        term,
      }),
    );
  });

  return app;
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value)) throw invalidParam("'limit' must be a non-negative integer");
  return Number(value);
}

async function isJoined(hs: Homeserver, roomId: string, userId: string): Promise<boolean> {
  return (await hs.rooms.membership(roomId, userId))?.membership === "join";
}

async function isServerAdmin(hs: Homeserver, userId: string): Promise<boolean> {
  return (await getUser(hs.kv, userId))?.admin === true;
}

async function roomPower(hs: Homeserver, roomId: string) {
  const rules = await hs.rooms.rulesOf(roomId);
  if (!rules) throw notFound(`Room ${roomId} not found`);
  const reader: StateReader = (type, key) => hs.rooms.currentStateEvent(roomId, type, key);
  const power = await powerView(reader, rules);
  return {
    of: (userId: string) => power.levelOf(userId),
    required: (type: string) => power.levels.events.get(type) ?? power.levels.levels.state_default,
  };
}

/** The public room list (this server's published rooms), paginated by offset tokens. */
async function publicRooms(
  hs: Homeserver,
  options: { limit?: number; since?: string; server?: string; term?: string },
): Promise<Record<string, unknown>> {
  if (options.server !== undefined && options.server !== hs.config.serverName) {
    throw new MatrixError("M_UNKNOWN", `Listing rooms of ${options.server} needs federation`);
  }
  const chunks: PublicRoomChunk[] = [];
  for await (const entry of hs.kv.list({ prefix: roomKeys.publicRooms() })) {
    const roomId = entry.key[1] as string;
    chunks.push(await describeRoom(hs, roomId));
  }
  const term = options.term?.toLowerCase().trim();
  const matching = term
    ? chunks.filter((room) =>
      [room.name, room.topic, room.canonical_alias, room.room_id].some((text) =>
        text?.toLowerCase().includes(term)
      )
    )
    : chunks;
  matching.sort((a, b) =>
    b.num_joined_members - a.num_joined_members || (a.room_id < b.room_id ? -1 : 1)
  );
  let offset = 0;
  if (options.since !== undefined) {
    const match = /^p(\d+)$/.exec(options.since);
    if (!match) throw invalidParam("'since' is not a token from a previous response");
    offset = Number(match[1]);
  }
  const limit = Math.min(Math.max(options.limit ?? 100, 0), 500);
  const page = matching.slice(offset, offset + limit);
  const out: Record<string, unknown> = {
    chunk: page,
    total_room_count_estimate: matching.length,
  };
  if (offset + limit < matching.length) out.next_batch = `p${offset + limit}`;
  if (offset > 0) out.prev_batch = `p${Math.max(0, offset - limit)}`;
  return out;
}

async function describeRoom(hs: Homeserver, roomId: string): Promise<PublicRoomChunk> {
  const state = await hs.rooms.currentStateMap(roomId);
  const events = await hs.rooms.stateEventsIn(state, [
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.join_rules",
    "m.room.history_visibility",
    "m.room.guest_access",
    "m.room.create",
  ]);
  const content = (type: string) => events.find((e) => e.event.type === type)?.event.content;
  const str = (value: unknown) => typeof value === "string" ? value : undefined;
  const chunk: PublicRoomChunk = {
    room_id: roomId,
    num_joined_members: (await hs.rooms.members(roomId, "join")).length,
    world_readable: content("m.room.history_visibility")?.history_visibility === "world_readable",
    guest_can_join: content("m.room.guest_access")?.guest_access === "can_join",
  };
  const fields: [keyof PublicRoomChunk, unknown][] = [
    ["name", content("m.room.name")?.name],
    ["topic", content("m.room.topic")?.topic],
    ["avatar_url", content("m.room.avatar")?.url],
    ["canonical_alias", content("m.room.canonical_alias")?.alias],
    ["join_rule", content("m.room.join_rules")?.join_rule],
    ["room_type", content("m.room.create")?.type],
  ];
  for (const [key, value] of fields) {
    const text = str(value);
    if (text !== undefined && text !== "") (chunk as unknown as Record<string, string>)[key] = text;
  }
  return chunk;
}
