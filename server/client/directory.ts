/**
 * The room directory (spec: Client-Server API, "Room aliases", "Listing rooms"):
 * `PUT/GET/DELETE /directory/room/{roomAlias}`, `GET /rooms/{roomId}/aliases`,
 * `GET/PUT /directory/list/room/{roomId}` and `GET/POST /publicRooms`. The listing of this
 * server's published rooms ({@link publicRooms}) also answers other servers
 * (`server/federation/directory_routes.ts`); `/publicRooms?server=other` asks that server over
 * federation ({@link remotePublicRooms}), and a remote alias is resolved with the federation
 * directory query.
 *
 * @module
 */

import { Hono, type MiddlewareHandler } from "hono";
import {
  badJson,
  forbidden,
  invalidParam,
  jsonResponse,
  MatrixError,
  notFound,
} from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type JsonObject, optionalObject, optionalString } from "../http_util.ts";
import { isValidServerName, serverNameOf } from "../../federation/identifiers.ts";
import { queryRemoteAlias } from "../federation/remote_membership.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { createAlias, deleteAlias, localAlias, setPublished } from "../rooms/aliases.ts";
import { requireRoom, roomIdParam } from "../rooms/membership.ts";
import { powerView } from "../rooms/power.ts";
import type { StateReader } from "../rooms/event_pipeline.ts";
import { directoryRoomIds, managesAlias } from "../appservice/directory_lists.ts";

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
    // An application service manages the aliases of its namespace (Synapse does the same).
    const byService = managesAlias(c.var.appservice, alias);
    if (
      !byService && !(await isJoined(hs, roomId, userId)) && !(await isServerAdmin(hs, userId))
    ) {
      throw forbidden("You must be joined to the room to create an alias for it");
    }
    if (!(await createAlias(hs, alias, roomId, userId))) {
      throw new MatrixError("M_UNKNOWN", `Room alias ${alias} already exists`, { status: 409 });
    }
    return jsonResponse({});
  });

  app.get(`${V3}/directory/room/:roomAlias`, async (c) => {
    const alias = c.req.param("roomAlias");
    const server = serverNameOf(alias);
    if (server !== undefined && server !== hs.config.serverName && hs.config.federation.enabled) {
      const remote = await queryRemoteAlias(hs, alias);
      return jsonResponse({ room_id: remote.roomId, servers: remote.servers });
    }
    const record = await hs.rooms.alias(alias);
    if (!record) throw notFound(`Room alias ${alias} not found`);
    return jsonResponse({ room_id: record.roomId, servers: [hs.config.serverName] });
  });

  app.delete(`${V3}/directory/room/:roomAlias`, auth, async (c) => {
    const alias = localAlias(hs, c.req.param("roomAlias"));
    const record = await hs.rooms.alias(alias);
    if (!record) throw notFound(`Room alias ${alias} not found`);
    const userId = c.var.auth.userId;
    const byService = managesAlias(c.var.appservice, alias);
    if (record.creator !== userId && !byService && !(await isServerAdmin(hs, userId))) {
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
    await dropFromCanonicalAlias(hs, record.roomId, { alias, sender: userId });
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

  // Listing another server's rooms costs a federation request: only for users of this server.
  const authForRemote: MiddlewareHandler<AppEnv> = (c, next) =>
    isRemote(hs, c.req.query("server")) ? auth(c, next) : next();

  app.get(`${V3}/publicRooms`, authForRemote, async (c) => {
    const limit = c.req.query("limit");
    const options: PublicRoomsOptions = {
      limit: limit === undefined ? undefined : parseLimit(limit),
      since: c.req.query("since"),
      // Synapse takes these on GET too (the spec names them only in the POST body).
      thirdPartyInstanceId: c.req.query("third_party_instance_id"),
      includeAllNetworks: c.req.query("include_all_networks") === "true",
    };
    const server = c.req.query("server");
    return jsonResponse(
      isRemote(hs, server)
        ? await remotePublicRooms(hs, server!, options)
        : await publicRooms(hs, options),
    );
  });

  app.post(`${V3}/publicRooms`, auth, async (c) => {
    const body = await readBody(hs, c, { allowEmpty: true });
    const options = publicRoomsBody(body);
    const server = c.req.query("server");
    return jsonResponse(
      isRemote(hs, server)
        ? await remotePublicRooms(hs, server!, options)
        : await publicRooms(hs, options),
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

/** What a `/publicRooms` request asks for (client or federation). */
export interface PublicRoomsOptions {
  /** Rooms per page (default 100, at most 500). */
  limit?: number;
  /** A `next_batch` or `prev_batch` of an earlier answer. */
  since?: string;
  /** `filter.generic_search_term`. */
  term?: string;
  /** `filter.room_types`: the room types to list (null: rooms without a type). */
  roomTypes?: (string | null)[];
  /** `third_party_instance_id`: list an application service's network instead. */
  thirdPartyInstanceId?: string;
  /** `include_all_networks`: add every application service's lists. */
  includeAllNetworks?: boolean;
}

/** Most rooms one page holds. */
const MAX_PUBLIC_ROOMS_PAGE = 500;
/** Bytes of a remote server's `/publicRooms` answer read at most. */
const MAX_REMOTE_LIST_BYTES = 4 * 1024 * 1024;
/** Time a remote server has to list its rooms. */
const REMOTE_LIST_TIMEOUT_MS = 20_000;

function isRemote(hs: Homeserver, server: string | undefined): boolean {
  return server !== undefined && server !== "" && server !== hs.config.serverName;
}

/**
 * The options of a `POST /publicRooms` body (client or federation).
 *
 * @throws {MatrixError} M_BAD_JSON for fields of the wrong type
 */
export function publicRoomsBody(body: JsonObject): PublicRoomsOptions {
  const filter = optionalObject(body, "filter");
  const term = filter ? optionalString(filter, "generic_search_term") : undefined;
  const limit = body.limit;
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit))) {
    throw badJson("'limit' must be an integer");
  }
  let roomTypes: (string | null)[] | undefined;
  const types = filter?.room_types;
  if (types !== undefined && types !== null) {
    if (
      !Array.isArray(types) || types.length > 100 ||
      types.some((t) => t !== null && typeof t !== "string")
    ) {
      throw badJson("'filter.room_types' must be a list of room types or null");
    }
    roomTypes = types as (string | null)[];
  }
  return {
    limit: limit as number | undefined,
    since: optionalString(body, "since"),
    term,
    roomTypes,
    thirdPartyInstanceId: optionalString(body, "third_party_instance_id", { maxBytes: 512 }),
    includeAllNetworks: includeAllNetworksOf(body.include_all_networks),
  };
}

/**
 * `include_all_networks`: a boolean, or `"true"`/`"false"` as Synapse sends it in federation
 * `POST /publicRooms` bodies.
 */
function includeAllNetworksOf(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw badJson("'include_all_networks' must be a boolean");
}

/** The public room list of this server (its published rooms), paginated by offset tokens. */
export async function publicRooms(
  hs: Homeserver,
  options: PublicRoomsOptions,
): Promise<Record<string, unknown>> {
  const chunks: PublicRoomChunk[] = [];
  for (const roomId of await directoryRoomIds(hs, options)) {
    chunks.push(await describeRoom(hs, roomId));
  }
  const term = options.term?.toLowerCase().trim();
  const types = options.roomTypes;
  const matching = chunks.filter((room) =>
    (!types || types.includes(room.room_type ?? null)) &&
    (!term ||
      [room.name, room.topic, room.canonical_alias, room.room_id].some((text) =>
        text?.toLowerCase().includes(term)
      ))
  );
  matching.sort((a, b) =>
    b.num_joined_members - a.num_joined_members || (a.room_id < b.room_id ? -1 : 1)
  );
  let offset = 0;
  if (options.since !== undefined) {
    const match = /^p(\d+)$/.exec(options.since);
    if (!match) throw invalidParam("'since' is not a token from a previous response");
    offset = Number(match[1]);
  }
  const limit = Math.min(Math.max(options.limit ?? 100, 0), MAX_PUBLIC_ROOMS_PAGE);
  const page = matching.slice(offset, offset + limit);
  const out: Record<string, unknown> = {
    chunk: page,
    total_room_count_estimate: matching.length,
  };
  if (offset + limit < matching.length) out.next_batch = `p${offset + limit}`;
  if (offset > 0) out.prev_batch = `p${Math.max(0, offset - limit)}`;
  return out;
}

/**
 * Another server's public room list, asked over federation (`GET` without a filter, `POST`
 * with one). Its answer is hostile until checked: only well-formed rooms are passed on.
 *
 * @throws {MatrixError} M_INVALID_PARAM for a bad server name, M_UNKNOWN (502) when the server
 *   cannot be reached or gives no list
 */
export async function remotePublicRooms(
  hs: Homeserver,
  server: string,
  options: PublicRoomsOptions,
): Promise<Record<string, unknown>> {
  if (!isValidServerName(server)) throw invalidParam(`'server' is not a server name: ${server}`);
  if (!hs.config.federation.enabled) {
    throw new MatrixError("M_UNKNOWN", "Federation is not enabled on this server", {
      status: 400,
    });
  }
  const limit = options.limit === undefined
    ? undefined
    : Math.min(Math.max(options.limit, 0), MAX_PUBLIC_ROOMS_PAGE);
  const filter: Record<string, unknown> = {};
  if (options.term !== undefined) filter.generic_search_term = options.term;
  if (options.roomTypes !== undefined) filter.room_types = options.roomTypes;
  const filtered = Object.keys(filter).length > 0;
  const body: Record<string, unknown> = { filter };
  if (limit !== undefined) body.limit = limit;
  if (options.since !== undefined) body.since = options.since;
  let res;
  try {
    res = await hs.federation.client.request(server, {
      method: filtered ? "POST" : "GET",
      path: "/_matrix/federation/v1/publicRooms",
      query: filtered ? undefined : { limit, since: options.since },
      body: filtered ? body : undefined,
      maxBytes: MAX_REMOTE_LIST_BYTES,
      timeoutMs: REMOTE_LIST_TIMEOUT_MS,
    });
  } catch (err) {
    throw new MatrixError(
      "M_UNKNOWN",
      `${server} could not be reached: ${(err as Error).message}`,
      {
        status: 502,
      },
    );
  }
  const answer = res.json as Record<string, unknown> | null;
  if (res.status !== 200 || !Array.isArray(answer?.chunk)) {
    throw new MatrixError("M_UNKNOWN", `${server} did not list its rooms (${res.status})`, {
      status: 502,
    });
  }
  const chunk = answer.chunk.slice(0, MAX_PUBLIC_ROOMS_PAGE).map(checkedChunk)
    .filter((room) => room !== null);
  const out: Record<string, unknown> = { chunk };
  for (const key of ["next_batch", "prev_batch"]) {
    const value = answer[key];
    if (typeof value === "string" && value.length <= 1000) out[key] = value;
  }
  const total = answer.total_room_count_estimate;
  if (typeof total === "number" && Number.isSafeInteger(total) && total >= 0) {
    out.total_room_count_estimate = total;
  }
  return out;
}

/** A remote server's room entry, kept only when well-formed (fields of the wrong type dropped). */
function checkedChunk(value: unknown): PublicRoomChunk | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const room = value as Record<string, unknown>;
  const text = (v: unknown) => typeof v === "string" && v.length <= 2000 ? v : undefined;
  const roomId = text(room.room_id);
  if (!roomId?.startsWith("!")) return null;
  const members = room.num_joined_members;
  const chunk: PublicRoomChunk = {
    room_id: roomId,
    num_joined_members: typeof members === "number" && Number.isSafeInteger(members) &&
        members >= 0
      ? members
      : 0,
    world_readable: room.world_readable === true,
    guest_can_join: room.guest_can_join === true,
  };
  const fields = ["name", "topic", "avatar_url", "canonical_alias", "join_rule", "room_type"];
  for (const key of fields) {
    const v = text(room[key]);
    if (v !== undefined) (chunk as unknown as Record<string, string>)[key] = v;
  }
  return chunk;
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

/**
 * Removes a deleted alias from the room's `m.room.canonical_alias` (`alias` and `alt_aliases`),
 * sent by the user who deleted it, as Synapse does. A user without the power to change that
 * event still deletes the alias; the state then keeps naming it.
 */
async function dropFromCanonicalAlias(
  hs: Homeserver,
  roomId: string,
  change: { alias: string; sender: string },
): Promise<void> {
  const current = await hs.rooms.currentStateEvent(roomId, "m.room.canonical_alias", "");
  if (!current) return;
  const content = { ...current.event.content };
  const alt = Array.isArray(content.alt_aliases) ? content.alt_aliases : undefined;
  const inAlt = alt?.includes(change.alias) ?? false;
  if (content.alias !== change.alias && !inAlt) return;
  if (content.alias === change.alias) delete content.alias;
  if (alt && inAlt) content.alt_aliases = alt.filter((a) => a !== change.alias);
  await hs.pipeline.sendEvent(roomId, {
    type: "m.room.canonical_alias",
    stateKey: "",
    sender: change.sender,
    content,
  }).catch((error) => {
    if (!(error instanceof MatrixError) || error.status !== 403) throw error;
  });
}
