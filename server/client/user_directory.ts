/**
 * User directory (spec: "User Directory"): `POST /v3/user_directory/search` over the users who
 * share a room with the requester or are joined to a public room, matching the search term
 * against display names and user IDs (case-insensitive, every word of the term must match the
 * start of a word, or any part of the user ID). The requester appears too once they are in a
 * room.
 *
 * The directory scans the stored profiles of the visible users; a commune-sized server keeps
 * this well under a millisecond per thousand users. Users of other servers (members of rooms
 * shared with the requester, or of public rooms here) are shown with the display name and
 * avatar of their current member event, preferably in a room the requester shares.
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { badJson } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { requiredString } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getProfile } from "../store/profiles.ts";
import { isGuestUser } from "./guest_routes.ts";
import { usersVisibleInDirectory } from "../sync/room_access.ts";

/** Default and largest number of results. */
export const DEFAULT_DIRECTORY_LIMIT = 10;
const MAX_DIRECTORY_LIMIT = 100;

function words(text: string): string[] {
  return text.toLocaleLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .split(/[^\p{L}\p{N}_]+/u).filter((word) => word !== "");
}

/** A match rank (higher is better), or 0 when the user does not match. */
export function directoryRank(
  term: string,
  user: { userId: string; displayName: string | null },
): number {
  const needle = term.trim().toLocaleLowerCase();
  if (needle === "") return 0;
  const id = user.userId.toLocaleLowerCase();
  const nameWords = words(user.displayName ?? "");
  const idWords = words(id.slice(1));
  const termWords = words(needle);
  if (id === needle || id.slice(1) === needle) return 4;
  if (user.displayName?.toLocaleLowerCase() === needle) return 3;
  const prefixOf = (list: string[]) =>
    termWords.length > 0 && termWords.every((w) => list.some((word) => word.startsWith(w)));
  if (prefixOf(nameWords)) return 2;
  if (prefixOf(idWords) || id.includes(needle)) return 1;
  return 0;
}

/**
 * The profile fields of another server's user as their member event in one of our rooms shows
 * them, preferring a room the requester is in.
 */
async function memberEventProfile(
  hs: Homeserver,
  userId: string,
  requesterRooms: ReadonlySet<string>,
): Promise<Record<string, unknown> | null> {
  const rooms = await hs.rooms.joinedRooms(userId);
  const roomId = rooms.find((id) => requesterRooms.has(id)) ?? rooms[0];
  if (roomId === undefined) return null;
  const member = await hs.rooms.currentStateEvent(roomId, "m.room.member", userId);
  return member ? member.event.content : null;
}

/** Routes of the user directory. */
export function userDirectoryRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/_matrix/client/v3/user_directory/search", requireAuth(hs), async (c) => {
    const body = await readBody(hs, c);
    const term = requiredString(body, "search_term", { maxBytes: 1024 });
    let limit = DEFAULT_DIRECTORY_LIMIT;
    if (body.limit !== undefined) {
      if (!Number.isInteger(body.limit) || (body.limit as number) < 0) {
        throw badJson("'limit' must be a non-negative integer");
      }
      limit = Math.min(body.limit as number, MAX_DIRECTORY_LIMIT);
    }
    const candidates = await usersVisibleInDirectory(hs, c.var.auth.userId);
    const requesterRooms = new Set(await hs.rooms.joinedRooms(c.var.auth.userId));
    // The requester shares their rooms with themselves: a user finds their own entry, as in
    // Synapse (clients check a new display name this way).
    if (requesterRooms.size > 0) candidates.add(c.var.auth.userId);
    const matches: { rank: number; result: Record<string, string> }[] = [];
    for (const userId of candidates) {
      const local = serverNameOf(userId) === hs.config.serverName;
      const profile = local
        ? await getProfile(hs, userId)
        : await memberEventProfile(hs, userId, requesterRooms);
      const displayName = typeof profile?.displayname === "string" ? profile.displayname : null;
      const rank = directoryRank(term, { userId, displayName });
      if (rank === 0) continue;
      // Guest accounts are not listed (they are temporary and have no name of their choosing).
      if (local && await isGuestUser(hs, userId)) continue;
      const result: Record<string, string> = { user_id: userId };
      if (displayName !== null) result.display_name = displayName;
      if (typeof profile?.avatar_url === "string") result.avatar_url = profile.avatar_url;
      matches.push({ rank, result });
    }
    matches.sort((a, b) =>
      b.rank - a.rank ||
      Number("display_name" in b.result) - Number("display_name" in a.result) ||
      a.result.user_id.localeCompare(b.result.user_id)
    );
    return c.json({
      results: matches.slice(0, limit).map((match) => match.result),
      limited: matches.length > limit,
    });
  });

  return app;
}
