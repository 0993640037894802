/**
 * Room summaries (spec v1.15: Client-Server API, "Room Summaries"):
 * `GET /_matrix/client/v1/room_summary/{roomIdOrAlias}`, what a client shows before joining.
 *
 * A room this server holds is summarised from its current state (`localSummary`, as for the
 * space hierarchy); another is asked of the `via` servers (or the alias's servers) with the
 * federation `/hierarchy` (`remoteHierarchy`, cached a minute). The caller sees the summary
 * when the hierarchy would show them the room (member, invited, open, or restricted to a room
 * they are in). Without an access token, as the spec allows, only rooms open to everyone
 * (join rule `public`, `knock`, `knock_restricted`, or world-readable history) are answered.
 * Anything else is 404, so the answer does not tell a hidden room from a missing one.
 *
 * @module
 */

import { Hono, type MiddlewareHandler } from "hono";
import { isValidServerName, serverNameOf } from "../../federation/identifiers.ts";
import { notFound } from "../errors.ts";
import {
  knowsRoom,
  localSummary,
  remoteHierarchy,
  type RoomSummary,
  userMaySee,
} from "../federation/hierarchy.ts";
import type { Homeserver } from "../homeserver.ts";
import { accessTokenOf, type AppEnv, requireAuth } from "../request_context.ts";
import { resolveJoinTarget } from "../rooms/membership.ts";

/** Join rules under which anyone, signed in or not, may read the summary. */
const OPEN_JOIN_RULES = new Set(["public", "knock", "knock_restricted"]);
/** Most `via` servers taken from the query. */
const MAX_VIA = 10;

function openToEveryone(summary: RoomSummary): boolean {
  return summary.world_readable || OPEN_JOIN_RULES.has(summary.join_rule ?? "");
}

/** The summary of a room, local or asked of other servers; null when nobody knows it. */
async function findSummary(
  hs: Homeserver,
  roomId: string,
  via: readonly string[],
): Promise<RoomSummary | null> {
  if (await knowsRoom(hs, roomId)) return await localSummary(hs, roomId);
  if (!hs.config.federation.enabled) return null;
  const servers = [...via];
  const roomServer = serverNameOf(roomId);
  if (roomServer !== undefined && !servers.includes(roomServer)) servers.push(roomServer);
  const others = servers.filter((server) => server !== hs.config.serverName);
  if (others.length === 0) return null;
  const answer = await remoteHierarchy(hs, roomId, { via: others, suggestedOnly: false });
  return answer?.room.room_id === roomId ? answer.room : null;
}

/** Routes of the room summary module. */
export function roomSummaryRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  // The token is optional here; one that is sent must be valid.
  const optionalAuth: MiddlewareHandler<AppEnv> = (c, next) =>
    accessTokenOf(c.req.raw) === null ? next() : auth(c, next);

  app.get("/_matrix/client/v1/room_summary/:roomIdOrAlias", optionalAuth, async (c) => {
    const userId = (c.var.auth as { userId: string } | undefined)?.userId;
    const target = await resolveJoinTarget(hs, c.req.param("roomIdOrAlias"));
    const via = [...(c.req.queries("via") ?? []).slice(0, MAX_VIA), ...target.servers]
      .filter(isValidServerName);
    const summary = await findSummary(hs, target.roomId, via);
    const visible = summary !== null &&
      (userId === undefined ? openToEveryone(summary) : await userMaySee(hs, summary, userId));
    if (!visible) throw notFound("Room not found, or you may not see it");
    const { children_state: _children, ...body } = summary;
    const out: Record<string, unknown> = { ...body };
    if (userId !== undefined) {
      const membership = (await hs.rooms.membership(summary.room_id, userId))?.membership;
      if (membership !== undefined) out.membership = membership;
    }
    return c.json(out);
  });

  return app;
}
