/**
 * User directory (spec: "User Directory"): `POST /v3/user_directory/search`, matching the search
 * term against display names and user IDs (case-insensitive, accents ignored; every word of the
 * term must match the start of a word, or any part of the user ID).
 *
 * Who is found: with `[user_directory] search_all_users` (the default) every local account that
 * is neither a guest nor deactivated, as a commune's staff directory, from the in-memory index of
 * `user_directory_index.ts`; otherwise, as Synapse does by default, only local users who share a
 * room with the requester or are joined to a public room (the requester appears once they are in
 * a room). Either way users of other servers who share a room with the requester or are in a
 * public room here are found, shown with the display name and avatar of their current member
 * event, preferably in a room the requester shares; and a search term that is the full ID of
 * another server's user returns that user, with the profile their server gives (`remoteProfile`,
 * cached), or the bare ID when the server cannot be reached.
 *
 * @module
 */

import { Hono } from "hono";
import { isValidUserId, serverNameOf } from "../../federation/identifiers.ts";
import { badJson, MatrixError } from "../errors.ts";
import { remoteProfile } from "../federation/query_routes.ts";
import type { Homeserver } from "../homeserver.ts";
import { requiredString } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getProfile, localpartOf, profileKeys, type ProfileRecord } from "../store/profiles.ts";
import { isGuestUser } from "./guest_routes.ts";
import { usersVisibleInDirectory } from "../sync/room_access.ts";
import {
  directoryWords,
  indexedUser,
  localUsers,
  watchLocalUsers,
} from "./user_directory_index.ts";

/** Default and largest number of results. */
export const DEFAULT_DIRECTORY_LIMIT = 10;
const MAX_DIRECTORY_LIMIT = 100;

/** A search term prepared once for matching against every user. */
interface PreparedTerm {
  /** Lower case, trimmed. */
  needle: string;
  words: string[];
}

function prepareTerm(term: string): PreparedTerm {
  const needle = term.trim().toLocaleLowerCase();
  return { needle, words: directoryWords(needle) };
}

function rankPrepared(
  term: PreparedTerm,
  user: { userId: string; displayName: string | null; nameWords: readonly string[] },
  idWords: () => readonly string[],
): number {
  const { needle } = term;
  if (needle === "") return 0;
  const id = user.userId.toLocaleLowerCase();
  if (id === needle || id.slice(1) === needle) return 4;
  if (user.displayName?.toLocaleLowerCase() === needle) return 3;
  const prefixOf = (list: readonly string[]) =>
    term.words.length > 0 && term.words.every((w) => list.some((word) => word.startsWith(w)));
  if (prefixOf(user.nameWords)) return 2;
  if (id.includes(needle) || prefixOf(idWords())) return 1;
  return 0;
}

/** A match rank (higher is better), or 0 when the user does not match. */
export function directoryRank(
  term: string,
  user: { userId: string; displayName: string | null },
): number {
  const nameWords = directoryWords(user.displayName ?? "");
  return rankPrepared(
    prepareTerm(term),
    { ...user, nameWords },
    () => directoryWords(user.userId.slice(1)),
  );
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

/** One result with its rank. */
interface Match {
  rank: number;
  result: Record<string, string>;
}

function resultOf(userId: string, profile: Record<string, unknown> | null): Record<string, string> {
  const result: Record<string, string> = { user_id: userId };
  if (typeof profile?.displayname === "string") result.display_name = profile.displayname;
  if (typeof profile?.avatar_url === "string") result.avatar_url = profile.avatar_url;
  return result;
}

function byRank(a: Match, b: Match): number {
  return b.rank - a.rank ||
    Number("display_name" in b.result) - Number("display_name" in a.result) ||
    a.result.user_id.localeCompare(b.result.user_id);
}

/** The stored profiles of local users (KV reads at most ten keys at once). */
async function profilesOf(hs: Homeserver, userIds: readonly string[]) {
  const out: (ProfileRecord | null)[] = [];
  for (let i = 0; i < userIds.length; i += 10) {
    const keys = userIds.slice(i, i + 10).map((userId) => profileKeys.profile(userId));
    for (const entry of await hs.kv.getMany<ProfileRecord[]>(keys)) out.push(entry.value);
  }
  return out;
}

/**
 * Local users from the index, ranked; the best `limit + 1` are re-read from the KV so that a
 * name changed since the index was built is shown and ranked as it is now.
 */
async function localMatches(
  hs: Homeserver,
  term: PreparedTerm,
  limit: number,
): Promise<{ matches: Match[]; beyond: number }> {
  const ranked: { rank: number; userId: string }[] = [];
  for (const user of (await localUsers(hs)).values()) {
    const rank = rankPrepared(term, user, () => user.idWords);
    if (rank > 0) ranked.push({ rank, userId: user.userId });
  }
  ranked.sort((a, b) => b.rank - a.rank || a.userId.localeCompare(b.userId));
  const head = ranked.slice(0, limit + 1);
  const profiles = await profilesOf(hs, head.map((match) => match.userId));
  const out: Match[] = [];
  head.forEach(({ userId }, i) => {
    const profile = profiles[i] ?? { displayname: localpartOf(userId) };
    const user = indexedUser(userId, profile);
    const rank = rankPrepared(term, user, () => user.idWords);
    if (rank > 0) out.push({ rank, result: resultOf(userId, profile) });
  });
  return { matches: out, beyond: Math.max(0, ranked.length - head.length) };
}

/** How long a search waits for another server's profile before answering with the bare ID. */
const REMOTE_PROFILE_WAIT_MS = 3000;

/**
 * The user a full user ID of another server names, with the profile their server gives; the
 * bare ID when it cannot be reached in time (the answer still fills the profile cache); null
 * when it says there is no such user.
 */
async function remoteUserMatch(hs: Homeserver, userId: string): Promise<Match | null> {
  const bare: Match = { rank: 5, result: { user_id: userId } };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), REMOTE_PROFILE_WAIT_MS);
  });
  try {
    const profile = await Promise.race([remoteProfile(hs, userId), late]);
    return profile === "late" ? bare : { rank: 5, result: resultOf(userId, profile) };
  } catch (err) {
    if (err instanceof MatrixError && err.code === "M_NOT_FOUND") return null;
    if (err instanceof MatrixError) return bare;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Routes of the user directory. */
export function userDirectoryRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const searchAll = hs.config.userDirectory.searchAllUsers;
  if (searchAll) watchLocalUsers(hs);

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
    const prepared = prepareTerm(term);
    const requester = c.var.auth.userId;
    const candidates = await usersVisibleInDirectory(hs, requester);
    const requesterRooms = new Set(await hs.rooms.joinedRooms(requester));
    // The requester shares their rooms with themselves: a user finds their own entry, as in
    // Synapse (clients check a new display name this way).
    if (requesterRooms.size > 0) candidates.add(requester);
    const indexed = searchAll ? await localMatches(hs, prepared, limit) : null;
    const matches: Match[] = indexed?.matches ?? [];
    for (const userId of candidates) {
      const local = serverNameOf(userId) === hs.config.serverName;
      if (local && searchAll) continue; // the index has them
      const profile = local
        ? await getProfile(hs, userId)
        : await memberEventProfile(hs, userId, requesterRooms);
      const displayName = typeof profile?.displayname === "string" ? profile.displayname : null;
      const rank = rankPrepared(
        prepared,
        { userId, displayName, nameWords: directoryWords(displayName ?? "") },
        () => directoryWords(userId.slice(1)),
      );
      if (rank === 0) continue;
      // Guest accounts are not listed (they are temporary and have no name of their choosing).
      if (local && await isGuestUser(hs, userId)) continue;
      matches.push({ rank, result: resultOf(userId, profile) });
    }
    const named = term.trim();
    if (
      isValidUserId(named) && serverNameOf(named) !== hs.config.serverName &&
      !matches.some((match) => match.result.user_id === named)
    ) {
      const remote = await remoteUserMatch(hs, named);
      if (remote) matches.push(remote);
    }
    matches.sort(byRank);
    return c.json({
      results: matches.slice(0, limit).map((match) => match.result),
      // Local users beyond the re-read head count too.
      limited: matches.length > limit || (indexed?.beyond ?? 0) > 0,
    });
  });

  return app;
}
