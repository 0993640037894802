/**
 * Ignoring users (spec: "Ignoring Users"): the users named in a user's `m.ignored_user_list`
 * account data. `/sync`, `/messages` and `/context` leave out the non-state events these users
 * send, and `/sync` leaves out their invites; state events are still sent so that the room
 * looks the same to everyone.
 *
 * The list is kept in memory per user with the stream position it was read at, and read again
 * only when the account data stream may have changed for the user since then
 * ({@link streamChanged}), so a sync costs no read while the list stays the same.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import { getAccountData } from "../store/account_data.ts";
import { streamChanged } from "./positions.ts";

/** The account data type that lists ignored users. */
export const IGNORED_USER_LIST = "m.ignored_user_list";
/** Users whose lists are kept in memory. */
const CACHED_USERS = 10_000;
/** Most ignored users taken from one list (account data is bounded in size anyway). */
const MAX_IGNORED = 10_000;

/** The list of a user who ignores nobody (one object, so callers can compare by identity). */
export const NO_IGNORED: ReadonlySet<string> = new Set();

interface Entry {
  /** The visible stream position when the list was read. */
  readAt: number;
  users: ReadonlySet<string>;
}

const caches = new WeakMap<Homeserver, LruCache<string, Entry>>();

function cacheOf(hs: Homeserver): LruCache<string, Entry> {
  let cache = caches.get(hs);
  if (!cache) caches.set(hs, cache = new LruCache(CACHED_USERS));
  return cache;
}

/** The user IDs of an `m.ignored_user_list` content (keys of `ignored_users`). */
export function ignoredUsersOf(content: Record<string, unknown> | null | undefined): Set<string> {
  const listed = content?.ignored_users;
  const out = new Set<string>();
  if (typeof listed !== "object" || listed === null || Array.isArray(listed)) return out;
  for (const userId of Object.keys(listed)) {
    if (out.size >= MAX_IGNORED) break;
    if (userId.startsWith("@")) out.add(userId);
  }
  return out;
}

/** The users `userId` ignores (an empty set for most users). */
export async function ignoredUsers(hs: Homeserver, userId: string): Promise<ReadonlySet<string>> {
  const cache = cacheOf(hs);
  const hit = cache.get(userId);
  if (hit && !streamChanged(hs, "account_data", { since: hit.readAt, userId })) return hit.users;
  // The position is taken before the read: a write after it makes the next call read again.
  const readAt = hs.stream.visiblePosition;
  const record = await getAccountData(hs, userId, { roomId: "", type: IGNORED_USER_LIST });
  const found = ignoredUsersOf(record?.content);
  const users = found.size === 0 ? NO_IGNORED : found;
  cache.set(userId, { readAt, users });
  return users;
}

/** Whether an event is hidden from a user who ignores `ignored` (state events never are). */
export function hiddenByIgnore(
  ignored: ReadonlySet<string>,
  event: { sender: string; stateKey?: string | null; state_key?: unknown },
): boolean {
  if (ignored.size === 0 || !ignored.has(event.sender)) return false;
  const isState = (event.stateKey !== undefined && event.stateKey !== null) ||
    event.state_key !== undefined;
  return !isState;
}
