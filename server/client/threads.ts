/**
 * Threads list (spec: "Threading", `GET /v1/rooms/{roomId}/threads`): the thread roots of a
 * room, newest thread activity first, with bundled aggregations.
 *
 * Thread roots come from `["thread_root", roomId, rootId]` -> {latestPos} (written in the
 * commit of every `m.thread` event, `server/sync/relations.ts`). A token `t<pos>` continues
 * with the threads whose latest event is below `pos`; every position holds one event, so the
 * order is total and pages never overlap.
 *
 * @module
 */

import { Hono } from "hono";
import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { filterVisibleEvents } from "../rooms/visibility.ts";
import { childrenOf, relationKeys } from "../sync/relations.ts";
import { formatEvents } from "../sync/rooms_adapter.ts";
import { limitQuery, requireRoomHistory } from "./relations.ts";

/** Default and largest page sizes. */
export const DEFAULT_THREADS_LIMIT = 20;
export const MAX_THREADS_LIMIT = 100;

function parseThreadToken(text: string): number {
  const match = /^t(\d{1,15})$/.exec(text);
  if (!match) throw invalidParam("Unknown pagination token");
  return Number(match[1]);
}

/** The thread roots of a room as (rootId, latest position), newest activity first. */
async function threadRoots(
  hs: Homeserver,
  roomId: string,
): Promise<{ rootId: string; latestPos: number }[]> {
  const out: { rootId: string; latestPos: number }[] = [];
  const iter = hs.kv.list<{ latestPos: number }>({ prefix: relationKeys.threadRootsOf(roomId) });
  for await (const entry of iter) {
    out.push({ rootId: entry.key[2] as string, latestPos: entry.value.latestPos });
  }
  return out.sort((a, b) => b.latestPos - a.latestPos);
}

/** Whether the user sent the root or an event of its thread. */
async function participated(hs: Homeserver, root: StoredEvent, userId: string): Promise<boolean> {
  if (root.event.sender === userId) return true;
  const children = await childrenOf(hs, root.event.eventId, { relType: "m.thread" });
  return children.some((child) => child.record.sender === userId);
}

/** Routes of `/threads`. */
export function threadsRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.get("/_matrix/client/v1/rooms/:roomId/threads", auth, async (c) => {
    const { userId, deviceId } = c.var.auth;
    const roomId = c.req.param("roomId");
    const include = c.req.query("include") ?? "all";
    if (include !== "all" && include !== "participated") {
      throw invalidParam("'include' must be 'all' or 'participated'");
    }
    const limit = limitQuery(c.req.query("limit"), DEFAULT_THREADS_LIMIT, MAX_THREADS_LIMIT);
    const fromParam = c.req.query("from");
    const below = fromParam ? parseThreadToken(fromParam) : Infinity;
    await requireRoomHistory(hs, roomId, userId);

    const candidates = (await threadRoots(hs, roomId)).filter((root) => root.latestPos < below);
    const membership = await hs.rooms.membership(roomId, userId);
    const chunk: { stored: StoredEvent; latestPos: number }[] = [];
    let more = false;
    for (let i = 0; i < candidates.length && !more; i += 20) {
      const slice = candidates.slice(i, i + 20);
      const loaded = await hs.rooms.events(slice.map((root) => root.rootId));
      const inRoom = slice.map((root) => loaded.get(root.rootId))
        .filter((stored) => stored !== undefined && stored.event.roomId === roomId);
      const allowed = new Set(
        await filterVisibleEvents(hs.rooms, userId, inRoom as StoredEvent[], { membership }),
      );
      for (const root of slice) {
        const stored = loaded.get(root.rootId);
        if (!stored || !allowed.has(stored)) continue;
        if (include === "participated" && !(await participated(hs, stored, userId))) continue;
        if (chunk.length === limit) {
          more = true;
          break;
        }
        chunk.push({ stored, latestPos: root.latestPos });
      }
    }
    const formatted = await formatEvents(hs, chunk.map((entry) => entry.stored), {
      userId,
      deviceId,
    });
    const body: Record<string, unknown> = { chunk: formatted };
    const last = chunk.at(-1);
    if (more && last) body.next_batch = `t${last.latestPos}`;
    return c.json(body);
  });

  return app;
}
