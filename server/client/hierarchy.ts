/**
 * Space hierarchy (spec: "Spaces", `GET /v1/rooms/{roomId}/hierarchy`): a depth-first walk of
 * `m.space.child` links from a space, listing the rooms the user may see (member, invited, or
 * the room is public, knockable, world-readable, or restricted to a room the user is in).
 * Rooms this server does not know are asked of a server in the link's `via` list
 * (`server/federation/hierarchy.ts`, cached); what this server knows wins over their answer.
 *
 * Pagination is stateless: the walk is deterministic for a given state, so `from` carries how
 * many rooms were already returned (with `max_depth` and `suggested_only`, which may not change
 * between pages) and the next page walks again, skipping them. A walk visits at most
 * {@link MAX_ROOMS_WALKED} rooms and asks other servers at most {@link MAX_REMOTE_ASKED} times,
 * so a huge or looping tree costs a bounded amount; loops are broken by visiting each room once.
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { forbidden, invalidParam } from "../errors.ts";
import {
  childLinks,
  knowsRoom,
  localSummary,
  remoteHierarchy,
  type RoomSummary,
  userMaySee,
} from "../federation/hierarchy.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";

/** Default and largest page. */
export const DEFAULT_HIERARCHY_LIMIT = 50;
const MAX_HIERARCHY_LIMIT = 100;
/** Default and deepest walk (deeper requests are cut to this). */
export const MAX_HIERARCHY_DEPTH = 10;
/** Most rooms one walk visits (all pages together). */
export const MAX_ROOMS_WALKED = 1_000;
/** Most `/hierarchy` requests to other servers in one walk. */
export const MAX_REMOTE_ASKED = 20;

/** Where a page starts and the walk's settings that pages must keep. */
export interface HierarchyPosition {
  skip: number;
  maxDepth: number;
  suggestedOnly: boolean;
}

/** The `from`/`next_batch` token of a position. */
export function hierarchyToken(position: HierarchyPosition): string {
  return `h1_${position.skip}_${position.maxDepth}_${position.suggestedOnly ? 1 : 0}`;
}

/** The position of a `from` token, or null when it is not one of ours. */
export function parseHierarchyToken(token: string): HierarchyPosition | null {
  const m = /^h1_(\d{1,6})_(\d{1,3})_([01])$/.exec(token);
  if (!m) return null;
  const maxDepth = Number(m[2]);
  if (maxDepth > MAX_HIERARCHY_DEPTH) return null;
  return { skip: Number(m[1]), maxDepth, suggestedOnly: m[3] === "1" };
}

function intParam(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min) {
    throw invalidParam(`'${name}' must be an integer of at least ${min}`);
  }
  return Number(value);
}

/** The page position of a request's query (see the module comment). */
export function hierarchyPosition(query: {
  from?: string;
  max_depth?: string;
  suggested_only?: string;
}): HierarchyPosition {
  const suggested = query.suggested_only;
  if (suggested !== undefined && suggested !== "true" && suggested !== "false") {
    throw invalidParam("'suggested_only' must be true or false");
  }
  const depth = intParam(query.max_depth, "max_depth", 0);
  const maxDepth = Math.min(depth ?? MAX_HIERARCHY_DEPTH, MAX_HIERARCHY_DEPTH);
  if (query.from === undefined) return { skip: 0, maxDepth, suggestedOnly: suggested === "true" };
  const position = parseHierarchyToken(query.from);
  if (!position) throw invalidParam("Unknown 'from' token");
  if (
    (depth !== undefined && maxDepth !== position.maxDepth) ||
    (suggested !== undefined && (suggested === "true") !== position.suggestedOnly)
  ) {
    throw invalidParam("suggested_only and max_depth cannot change on paginated requests");
  }
  return position;
}

interface Pending {
  roomId: string;
  depth: number;
  via: string[];
}

/**
 * One page of the hierarchy under `rootId` as `userId` sees it.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN when the root is unknown or hidden from the user
 */
export async function walkHierarchy(
  hs: Homeserver,
  rootId: string,
  options: { userId: string; position: HierarchyPosition; limit: number },
): Promise<{ rooms: RoomSummary[]; nextBatch?: string }> {
  const { position, limit, userId } = options;
  const rootServer = serverNameOf(rootId);
  const stack: Pending[] = [{ roomId: rootId, depth: 0, via: rootServer ? [rootServer] : [] }];
  const seen = new Set<string>();
  const learned = new Map<string, RoomSummary>();
  const inaccessible = new Set<string>();
  const rooms: RoomSummary[] = [];
  let asked = 0;
  let counted = 0;

  const summaryOf = async (item: Pending): Promise<RoomSummary | null> => {
    if (await knowsRoom(hs, item.roomId)) return await localSummary(hs, item.roomId);
    const known = learned.get(item.roomId);
    if (known) return known;
    if (inaccessible.has(item.roomId) || asked >= MAX_REMOTE_ASKED) return null;
    asked++;
    const answer = await remoteHierarchy(hs, item.roomId, {
      via: item.via,
      suggestedOnly: position.suggestedOnly,
    });
    if (!answer) return null;
    for (const child of answer.children) {
      if (!learned.has(child.room_id)) learned.set(child.room_id, child);
    }
    for (const id of answer.inaccessible) inaccessible.add(id);
    return answer.room;
  };

  while (stack.length > 0 && seen.size < MAX_ROOMS_WALKED) {
    const item = stack.pop()!;
    if (seen.has(item.roomId)) continue;
    seen.add(item.roomId);
    const summary = await summaryOf(item);
    const visible = summary !== null && await userMaySee(hs, summary, userId);
    if (!visible) {
      if (item.depth === 0) throw forbidden("You are not allowed to view this room");
      continue;
    }
    if (counted >= position.skip) {
      if (rooms.length === limit) {
        return { rooms, nextBatch: hierarchyToken({ ...position, skip: counted }) };
      }
      rooms.push(summary);
    }
    counted++;
    if (item.depth >= position.maxDepth) continue;
    const links = childLinks(summary.children_state, { suggestedOnly: position.suggestedOnly });
    for (let i = links.length - 1; i >= 0; i--) {
      if (!seen.has(links[i].roomId)) {
        stack.push({ roomId: links[i].roomId, depth: item.depth + 1, via: links[i].via });
      }
    }
  }
  return { rooms };
}

/** Routes of the space hierarchy. */
export function hierarchyRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/_matrix/client/v1/rooms/:roomId/hierarchy", requireAuth(hs), async (c) => {
    const position = hierarchyPosition({
      from: c.req.query("from"),
      max_depth: c.req.query("max_depth"),
      suggested_only: c.req.query("suggested_only"),
    });
    const limit = Math.min(
      intParam(c.req.query("limit"), "limit", 1) ?? DEFAULT_HIERARCHY_LIMIT,
      MAX_HIERARCHY_LIMIT,
    );
    const page = await walkHierarchy(hs, c.req.param("roomId"), {
      userId: c.var.auth.userId,
      position,
      limit,
    });
    const body: Record<string, unknown> = { rooms: page.rooms };
    if (page.nextBatch !== undefined) body.next_batch = page.nextBatch;
    return c.json(body);
  });
  return app;
}
