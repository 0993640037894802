/**
 * Relationships (spec: "Forming relationships between events", "Relations API"):
 * `GET /v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]`.
 *
 * Children come from the relation index (`server/sync/relations.ts`), ordered by stream
 * position. Tokens are the `/messages` tokens (`s<pos>`, `server/sync/token.ts`), so a sync's
 * `next_batch` or a `/messages` `start` is a valid `from`. With `recurse=true` the children of
 * children are followed up to {@link MAX_RECURSION_DEPTH} levels; the type filters then apply
 * to every returned event (its own relation to its parent and its event type).
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { forbidden, invalidParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { canSeeEvent, filterVisibleEvents } from "../rooms/visibility.ts";
import { childrenOf } from "../sync/relations.ts";
import { formatEvents } from "../sync/rooms_adapter.ts";
import { parsePaginationToken, positionToken } from "../sync/token.ts";

const V1 = "/_matrix/client/v1";

/** Default and largest page sizes. */
export const DEFAULT_RELATIONS_LIMIT = 20;
export const MAX_RELATIONS_LIMIT = 200;
/** Levels of relations `recurse=true` follows (the spec asks for at least 3). */
export const MAX_RECURSION_DEPTH = 3;

/** One child found in the index, with the relation that links it to its own parent. */
interface FoundChild {
  eventId: string;
  relType: string;
  pos: number;
  roomId: string;
}

/** Parses a `limit` query parameter (a positive integer, capped at `max`). */
export function limitQuery(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw invalidParam("'limit' must be a positive integer");
  return Math.min(n, max);
}

/**
 * Throws 403 unless the user is or was in the room, or the room is world-readable (history
 * visibility decides per event afterwards).
 */
export async function requireRoomHistory(
  hs: Homeserver,
  roomId: string,
  userId: string,
): Promise<void> {
  const membership = await hs.rooms.membership(roomId, userId);
  if (membership) return;
  const hv = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
  if (hv?.event.content.history_visibility !== "world_readable") {
    throw forbidden("You are not in this room");
  }
}

/** The direct (and with `depth` > 1, indirect) children of an event, deduplicated. */
async function collectChildren(
  hs: Homeserver,
  parentId: string,
  depth: number,
): Promise<{ children: FoundChild[]; depthReached: number }> {
  const seen = new Set<string>([parentId]);
  const out: FoundChild[] = [];
  let level = [parentId];
  let depthReached = 0;
  for (let d = 1; d <= depth && level.length > 0; d++) {
    const next: string[] = [];
    for (const id of level) {
      for (const child of await childrenOf(hs, id)) {
        if (seen.has(child.eventId)) continue;
        seen.add(child.eventId);
        out.push({
          eventId: child.eventId,
          relType: child.relType,
          pos: child.pos,
          roomId: child.record.roomId,
        });
        next.push(child.eventId);
      }
    }
    if (next.length > 0) depthReached = d;
    level = next;
  }
  return { children: out, depthReached };
}

/** Routes of `/relations`. */
export function relationsRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  const handler = async (c: Context<AppEnv>) => {
    const { userId, deviceId } = c.var.auth;
    const roomId = c.req.param("roomId")!;
    const eventId = c.req.param("eventId")!;
    const relType = c.req.param("relType");
    const eventType = c.req.param("eventType");
    const dir = c.req.query("dir") ?? "b";
    if (dir !== "b" && dir !== "f") throw invalidParam("'dir' must be 'b' or 'f'");
    const limit = limitQuery(c.req.query("limit"), DEFAULT_RELATIONS_LIMIT, MAX_RELATIONS_LIMIT);
    const recurseParam = c.req.query("recurse");
    if (recurseParam !== undefined && recurseParam !== "true" && recurseParam !== "false") {
      throw invalidParam("'recurse' must be 'true' or 'false'");
    }
    const recurse = recurseParam === "true";
    const fromParam = c.req.query("from");
    const toParam = c.req.query("to");
    const from = fromParam ? parsePaginationToken(fromParam, "from") : null;
    const to = toParam ? parsePaginationToken(toParam, "to") : null;

    await requireRoomHistory(hs, roomId, userId);
    const parent = await hs.rooms.event(eventId);
    if (
      !parent || parent.event.roomId !== roomId || parent.meta.pos === null ||
      !(await canSeeEvent(hs.rooms, userId, parent))
    ) {
      throw notFound("Event not found, or you may not see it");
    }

    const visible = hs.stream.visiblePosition;
    // The position window: backwards `to < pos <= from`, forwards `from < pos <= to`.
    const [low, high] = dir === "b"
      ? [to ?? 0, Math.min(from ?? visible, visible)]
      : [from ?? 0, Math.min(to ?? visible, visible)];
    const { children, depthReached } = await collectChildren(
      hs,
      eventId,
      recurse ? MAX_RECURSION_DEPTH : 1,
    );
    const candidates = children
      .filter((child) =>
        child.roomId === roomId && child.pos > low && child.pos <= high &&
        (relType === undefined || child.relType === relType)
      )
      .sort((a, b) => dir === "b" ? b.pos - a.pos : a.pos - b.pos);

    const membership = await hs.rooms.membership(roomId, userId);
    const chunk: { pos: number; stored: NonNullable<typeof parent> }[] = [];
    let more = false;
    for (let i = 0; i < candidates.length && !more; i += 50) {
      const slice = candidates.slice(i, i + 50);
      const loaded = await hs.rooms.events(slice.map((child) => child.eventId));
      const ordered = slice.map((child) => loaded.get(child.eventId))
        .filter((stored) => stored !== undefined)
        .filter((stored) => eventType === undefined || stored.event.type === eventType);
      const allowed = await filterVisibleEvents(hs.rooms, userId, ordered, { membership });
      for (const stored of allowed) {
        if (chunk.length === limit) {
          more = true;
          break;
        }
        chunk.push({ pos: stored.meta.pos!, stored });
      }
    }
    const formatted = await formatEvents(hs, chunk.map((entry) => entry.stored), {
      userId,
      deviceId,
    });
    const body: Record<string, unknown> = { chunk: formatted };
    const last = chunk.at(-1);
    if (more && last) body.next_batch = positionToken(dir === "b" ? last.pos - 1 : last.pos);
    if (fromParam) body.prev_batch = fromParam;
    if (recurse) body.recursion_depth = depthReached;
    return c.json(body);
  };

  app.get(`${V1}/rooms/:roomId/relations/:eventId`, auth, handler);
  app.get(`${V1}/rooms/:roomId/relations/:eventId/:relType`, auth, handler);
  app.get(`${V1}/rooms/:roomId/relations/:eventId/:relType/:eventType`, auth, handler);
  return app;
}
