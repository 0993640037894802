/**
 * Space hierarchies across servers (Server-Server "Spaces", Client-Server "Spaces"): the room
 * summaries the hierarchy is made of, who may see a room in it, the served
 * `GET /_matrix/federation/v1/hierarchy/{roomId}`, and the same request made of another server
 * (cached) when a space names a child room this server does not know. The client walk and its
 * pagination are in `server/client/hierarchy.ts`.
 *
 * Only `m.space.child` events count: their state key is the child's room ID and a non-empty
 * `via` list of server names makes the link valid. Another server's answer is hostile until
 * checked: {@link checkedSummary} keeps well-formed rooms only, with bounded lists.
 *
 * @module
 */

import { Hono } from "hono";
import { isValidRoomId, isValidServerName, serverNameOf } from "../../federation/identifiers.ts";
import { invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { LruCache } from "../rooms/lru.ts";
import { authenticatedOrigin } from "./inbound_auth.ts";

/** Most children of one space considered (links beyond are ignored). */
export const MAX_SPACE_CHILDREN = 200;
/** Most `via` servers tried for one unknown room. */
const MAX_VIA_TRIED = 3;
/** How long another server's hierarchy answer is reused. */
export const REMOTE_HIERARCHY_TTL_MS = 60_000;
const REMOTE_HIERARCHY_ENTRIES = 500;
const REMOTE_HIERARCHY_MAX_BYTES = 4 * 1024 * 1024;
const REMOTE_HIERARCHY_TIMEOUT_MS = 10_000;
const MAX_TEXT_CHARS = 4_000;

/** A stripped `m.space.child` event with its timestamp. */
export interface ChildState {
  type: "m.space.child";
  state_key: string;
  content: Record<string, unknown>;
  sender: string;
  origin_server_ts: number;
}

/** One room of a hierarchy (the spec's room summary with `children_state`). */
export interface RoomSummary {
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
  room_version?: string;
  encryption?: string;
  allowed_room_ids?: string[];
  children_state: ChildState[];
}

/** A valid child link of a space. */
export interface ChildLink {
  roomId: string;
  via: string[];
}

function isOrder(value: unknown): value is string {
  return typeof value === "string" && value.length <= 50 && /^[\x20-\x7e]*$/.test(value);
}

/**
 * The valid child links of a space in the spec's order: children with a valid `order` first,
 * by it, then by the event's timestamp, then by room ID; only suggested ones when asked.
 */
export function childLinks(
  children: readonly ChildState[],
  options: { suggestedOnly?: boolean } = {},
): ChildLink[] {
  const valid = children.filter((child) => {
    const via = child.content.via;
    if (!Array.isArray(via) || via.length === 0) return false;
    if (!via.every((server) => typeof server === "string")) return false;
    if (!isValidRoomId(child.state_key)) return false;
    return !options.suggestedOnly || child.content.suggested === true;
  });
  valid.sort((a, b) => {
    const oa = isOrder(a.content.order) ? a.content.order : undefined;
    const ob = isOrder(b.content.order) ? b.content.order : undefined;
    if (oa !== undefined && ob !== undefined && oa !== ob) return oa < ob ? -1 : 1;
    if (oa !== undefined && ob === undefined) return -1;
    if (ob !== undefined && oa === undefined) return 1;
    if (a.origin_server_ts !== b.origin_server_ts) {
      return a.origin_server_ts - b.origin_server_ts;
    }
    return a.state_key < b.state_key ? -1 : a.state_key > b.state_key ? 1 : 0;
  });
  return valid.slice(0, MAX_SPACE_CHILDREN).map((child) => ({
    roomId: child.state_key,
    via: (child.content.via as string[]).filter(isValidServerName),
  }));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether this server has the room's current state (it is or was in the room). */
export async function knowsRoom(hs: Homeserver, roomId: string): Promise<boolean> {
  return (await hs.rooms.head(roomId)) !== null;
}

/** The summary of a room this server knows, from its current state. */
export async function localSummary(hs: Homeserver, roomId: string): Promise<RoomSummary> {
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
    "m.room.encryption",
    "m.space.child",
  ]);
  const content = (type: string) => events.find((e) => e.event.type === type)?.event.content;
  const room = await hs.rooms.room(roomId);
  const summary: RoomSummary = {
    room_id: roomId,
    num_joined_members: (await hs.rooms.members(roomId, "join")).length,
    world_readable: content("m.room.history_visibility")?.history_visibility === "world_readable",
    guest_can_join: content("m.room.guest_access")?.guest_access === "can_join",
    children_state: [],
  };
  const text: [keyof RoomSummary, unknown][] = [
    ["name", content("m.room.name")?.name],
    ["topic", content("m.room.topic")?.topic],
    ["avatar_url", content("m.room.avatar")?.url],
    ["canonical_alias", content("m.room.canonical_alias")?.alias],
    ["join_rule", content("m.room.join_rules")?.join_rule],
    ["room_type", content("m.room.create")?.type],
    ["room_version", room?.roomVersion],
  ];
  for (const [key, value] of text) {
    if (typeof value === "string" && value !== "") {
      (summary as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (content("m.room.encryption")?.algorithm === "m.megolm.v1.aes-sha2") {
    summary.encryption = "m.megolm.v1.aes-sha2";
  }
  const allow = content("m.room.join_rules")?.allow;
  if (
    Array.isArray(allow) &&
    (summary.join_rule === "restricted" || summary.join_rule === "knock_restricted")
  ) {
    summary.allowed_room_ids = allow.flatMap((rule) =>
      isObject(rule) && rule.type === "m.room_membership" && typeof rule.room_id === "string"
        ? [rule.room_id]
        : []
    );
  }
  for (const stored of events) {
    const event = stored.event;
    if (event.type !== "m.space.child" || event.stateKey === undefined) continue;
    if (!Array.isArray(event.content.via) || event.content.via.length === 0) continue;
    summary.children_state.push({
      type: "m.space.child",
      state_key: event.stateKey,
      content: event.content,
      sender: event.sender,
      origin_server_ts: event.originServerTs,
    });
  }
  return summary;
}

/** A room summary from another server, kept only when well-formed (bad fields dropped). */
export function checkedSummary(value: unknown): RoomSummary | null {
  if (!isObject(value)) return null;
  const roomId = value.room_id;
  if (typeof roomId !== "string" || !isValidRoomId(roomId)) return null;
  const members = value.num_joined_members;
  const summary: RoomSummary = {
    room_id: roomId,
    num_joined_members: Number.isSafeInteger(members) && (members as number) >= 0
      ? members as number
      : 0,
    world_readable: value.world_readable === true,
    guest_can_join: value.guest_can_join === true,
    children_state: [],
  };
  const fields = [
    "join_rule",
    "name",
    "topic",
    "avatar_url",
    "canonical_alias",
    "room_type",
    "room_version",
    "encryption",
  ] as const;
  for (const key of fields) {
    const v = value[key];
    if (typeof v === "string" && v.length <= MAX_TEXT_CHARS) summary[key] = v;
  }
  if (Array.isArray(value.allowed_room_ids)) {
    summary.allowed_room_ids = value.allowed_room_ids.slice(0, 50)
      .filter((id): id is string => typeof id === "string" && isValidRoomId(id));
  }
  if (Array.isArray(value.children_state)) {
    for (const child of value.children_state.slice(0, MAX_SPACE_CHILDREN)) {
      if (!isObject(child) || child.type !== "m.space.child" || !isObject(child.content)) continue;
      if (typeof child.state_key !== "string" || typeof child.sender !== "string") continue;
      if (!Number.isSafeInteger(child.origin_server_ts)) continue;
      summary.children_state.push({
        type: "m.space.child",
        state_key: child.state_key,
        content: child.content,
        sender: child.sender,
        origin_server_ts: child.origin_server_ts as number,
      });
    }
  }
  return summary;
}

const OPEN_JOIN_RULES = new Set(["public", "knock", "knock_restricted"]);

/** Whether anyone may see the room in a hierarchy (public, knockable or world-readable). */
function openToAll(summary: RoomSummary): boolean {
  return summary.world_readable || OPEN_JOIN_RULES.has(summary.join_rule ?? "");
}

function restricted(summary: RoomSummary): boolean {
  return summary.join_rule === "restricted" || summary.join_rule === "knock_restricted";
}

/** Whether a user of this server may see the room in a hierarchy (the spec's conditions). */
export async function userMaySee(
  hs: Homeserver,
  summary: RoomSummary,
  userId: string,
): Promise<boolean> {
  const membership = (await hs.rooms.membership(summary.room_id, userId))?.membership;
  if (membership === "ban") return false;
  if (membership === "join" || membership === "invite") return true;
  if (openToAll(summary)) return true;
  if (!restricted(summary)) return false;
  for (const allowed of summary.allowed_room_ids ?? []) {
    if ((await hs.rooms.membership(allowed, userId))?.membership === "join") return true;
  }
  return false;
}

async function hasMemberFrom(hs: Homeserver, roomId: string, server: string): Promise<boolean> {
  return (await hs.rooms.members(roomId, "join")).some((m) => serverNameOf(m) === server);
}

/**
 * Whether another server may see a room of ours in a hierarchy: open to all, one of its users
 * is in it, or (restricted) one of its users is in an allowed room. The asking server filters
 * further for its user.
 */
export async function serverMaySee(
  hs: Homeserver,
  summary: RoomSummary,
  server: string,
): Promise<boolean> {
  if (openToAll(summary)) return true;
  if (await hasMemberFrom(hs, summary.room_id, server)) return true;
  if (!restricted(summary)) return false;
  for (const allowed of summary.allowed_room_ids ?? []) {
    if (await hasMemberFrom(hs, allowed, server)) return true;
  }
  return false;
}

/** Another server's answer to `/hierarchy`, checked. */
export interface RemoteHierarchy {
  room: RoomSummary;
  children: RoomSummary[];
  inaccessible: string[];
}

interface CachedHierarchy {
  answer: RemoteHierarchy | null;
  expires: number;
}

const remoteCaches = new WeakMap<Homeserver, LruCache<string, CachedHierarchy>>();

/**
 * Asks the `via` servers of a room this server does not know for its hierarchy (the first that
 * answers wins); answers, and failures, are cached for a minute.
 */
export async function remoteHierarchy(
  hs: Homeserver,
  roomId: string,
  options: { via: readonly string[]; suggestedOnly: boolean },
): Promise<RemoteHierarchy | null> {
  if (!hs.config.federation.enabled) return null;
  let cache = remoteCaches.get(hs);
  if (!cache) remoteCaches.set(hs, cache = new LruCache(REMOTE_HIERARCHY_ENTRIES));
  const key = `${options.suggestedOnly ? 1 : 0}${roomId}`;
  const cached = cache.get(key);
  if (cached && cached.expires > Date.now()) return cached.answer;
  const servers = [...new Set(options.via)]
    .filter((server) => server !== hs.config.serverName && isValidServerName(server))
    .slice(0, MAX_VIA_TRIED);
  let answer: RemoteHierarchy | null = null;
  for (const server of servers) {
    answer = await askHierarchy(hs, server, roomId, options.suggestedOnly);
    if (answer) break;
  }
  cache.set(key, { answer, expires: Date.now() + REMOTE_HIERARCHY_TTL_MS });
  return answer;
}

async function askHierarchy(
  hs: Homeserver,
  server: string,
  roomId: string,
  suggestedOnly: boolean,
): Promise<RemoteHierarchy | null> {
  let response;
  try {
    response = await hs.federation.client.request(server, {
      method: "GET",
      path: `/_matrix/federation/v1/hierarchy/${encodeURIComponent(roomId)}`,
      query: { suggested_only: suggestedOnly },
      maxBytes: REMOTE_HIERARCHY_MAX_BYTES,
      timeoutMs: REMOTE_HIERARCHY_TIMEOUT_MS,
    });
  } catch {
    return null;
  }
  if (response.status !== 200 || !isObject(response.json)) return null;
  const room = checkedSummary(response.json.room);
  if (!room || room.room_id !== roomId) return null;
  const children = Array.isArray(response.json.children)
    ? response.json.children.slice(0, MAX_SPACE_CHILDREN).map(checkedSummary)
      .filter((child) => child !== null)
    : [];
  const inaccessible = Array.isArray(response.json.inaccessible_children)
    ? response.json.inaccessible_children.slice(0, MAX_SPACE_CHILDREN)
      .filter((id): id is string => typeof id === "string" && isValidRoomId(id))
    : [];
  return { room, children, inaccessible };
}

/** The federation `GET /hierarchy/{roomId}` endpoint (no pagination: the space and children). */
export function hierarchyFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/_matrix/federation/v1/hierarchy/:roomId", async (c) => {
    const origin = authenticatedOrigin(c);
    const roomId = c.req.param("roomId");
    const suggested = c.req.query("suggested_only");
    if (suggested !== undefined && suggested !== "true" && suggested !== "false") {
      throw invalidParam("'suggested_only' must be true or false");
    }
    if (!(await knowsRoom(hs, roomId))) throw notFound("Room does not exist");
    const room = await localSummary(hs, roomId);
    if (!(await serverMaySee(hs, room, origin))) throw notFound("Room does not exist");
    const children: RoomSummary[] = [];
    const inaccessible: string[] = [];
    for (const link of childLinks(room.children_state, { suggestedOnly: suggested === "true" })) {
      // Rooms this server does not know are left out: the asking server tries their `via`.
      if (!(await knowsRoom(hs, link.roomId))) continue;
      const child = await localSummary(hs, link.roomId);
      if (await serverMaySee(hs, child, origin)) children.push(child);
      else inaccessible.push(link.roomId);
    }
    return c.json({ room, children, inaccessible_children: inaccessible });
  });
  return app;
}
