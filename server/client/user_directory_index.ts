/**
 * The in-memory index of local users behind `[user_directory] search_all_users`: every local
 * account that is neither a guest nor deactivated, with its display name and avatar, and the
 * words a search term is matched against, computed once instead of on every search.
 *
 * Reading every user and profile from the KV takes tens of milliseconds for a few thousand
 * users, too slow for each keystroke of a search, so the index is built once and kept:
 * registrations and deactivations update it at once (account hooks), and profile changes,
 * which have no hook, are picked up by a rebuild in the background once the index is older
 * than {@link INDEX_MAX_AGE_MS} (the search that notices answers from the current index).
 * Callers re-read the profiles of the users they return, so a renamed user is shown and ranked
 * with the new name at once; only a name that newly matches waits for the rebuild.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { UserRecord } from "../store/kv_store.ts";
import { accountKeys } from "../store/kv_store.ts";
import { localpartOf, profileKeys, type ProfileRecord } from "../store/profiles.ts";

/** How old the index may get before a search rebuilds it in the background. */
export const INDEX_MAX_AGE_MS = 15_000;

/** Most local users indexed (a bound on memory; far above a commune's staff). */
export const MAX_INDEXED_USERS = 200_000;

/** One local user as the index holds them. */
export interface IndexedUser {
  readonly userId: string;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
  /** The words of the display name, lower case, without accents. */
  readonly nameWords: readonly string[];
  /** The words of the user ID without its sigil. */
  readonly idWords: readonly string[];
}

/** Lower case words without accents (`Émile-Bénédicte` -> `emile`, `benedicte`). */
export function directoryWords(text: string): string[] {
  return text.toLocaleLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .split(/[^\p{L}\p{N}_]+/u).filter((word) => word !== "");
}

/** The index entry of a user with this profile. */
export function indexedUser(userId: string, profile: ProfileRecord | null): IndexedUser {
  const displayName = typeof profile?.displayname === "string" ? profile.displayname : null;
  return {
    userId,
    displayName,
    avatarUrl: typeof profile?.avatar_url === "string" ? profile.avatar_url : null,
    nameWords: directoryWords(displayName ?? ""),
    idWords: directoryWords(userId.slice(1)),
  };
}

interface IndexState {
  users: Map<string, IndexedUser>;
  builtAt: number;
  rebuilding: Promise<void> | null;
  /** Hook changes seen while a rebuild scans (null: deactivated), applied over its result. */
  changed: Map<string, IndexedUser | null>;
}

const indexes = new WeakMap<Homeserver, IndexState>();

async function scan(hs: Homeserver): Promise<Map<string, IndexedUser>> {
  const listed: string[] = [];
  for await (const entry of hs.kv.list<UserRecord>({ prefix: ["user"] }, { batchSize: 1000 })) {
    const user = entry.value;
    if (user.deactivated || user.isGuest === true) continue;
    listed.push(user.userId);
    if (listed.length >= MAX_INDEXED_USERS) break;
  }
  const profiles = new Map<string, ProfileRecord>();
  for await (
    const entry of hs.kv.list<ProfileRecord>({ prefix: profileKeys.all() }, { batchSize: 1000 })
  ) {
    profiles.set(entry.key[1] as string, entry.value);
  }
  const users = new Map<string, IndexedUser>();
  for (const userId of listed) {
    // A user without a stored profile has the default one (display name = localpart).
    const profile = profiles.get(userId) ?? { displayname: localpartOf(userId) };
    users.set(userId, indexedUser(userId, profile));
  }
  return users;
}

function rebuild(hs: Homeserver, state: IndexState): Promise<void> {
  state.rebuilding ??= (async () => {
    const startedAt = Date.now();
    state.changed.clear();
    try {
      const users = await scan(hs);
      for (const [userId, user] of state.changed) {
        if (user) users.set(userId, user);
        else users.delete(userId);
      }
      state.users = users;
      state.builtAt = startedAt;
    } catch (err) {
      console.warn("user directory: rebuilding the index failed", err);
    } finally {
      state.rebuilding = null;
    }
  })();
  return state.rebuilding;
}

/**
 * Keeps the index of `hs` up to date with registrations and deactivations. Called once when the
 * directory routes are made.
 */
export function watchLocalUsers(hs: Homeserver): void {
  hs.addAccountHooks({
    userRegistered: async (userId) => {
      const state = indexes.get(hs);
      if (!state) return; // built on first search, with this user in it
      const [user, profile] = await hs.kv.getMany<[UserRecord, ProfileRecord]>([
        accountKeys.user(userId),
        profileKeys.profile(userId),
      ]);
      if (!user.value || user.value.isGuest === true || user.value.deactivated) return;
      const entry = indexedUser(userId, profile.value ?? { displayname: localpartOf(userId) });
      state.users.set(userId, entry);
      if (state.rebuilding) state.changed.set(userId, entry);
    },
    userDeactivated: (userId) => {
      const state = indexes.get(hs);
      if (!state) return;
      state.users.delete(userId);
      if (state.rebuilding) state.changed.set(userId, null);
    },
  });
  // A background rebuild finishes before the KV closes.
  hs.addCloseHook(async () => {
    await indexes.get(hs)?.rebuilding;
  });
}

/**
 * The indexed local users of `hs`: built on the first call (awaited), then refreshed in the
 * background when older than {@link INDEX_MAX_AGE_MS}.
 */
export async function localUsers(hs: Homeserver): Promise<ReadonlyMap<string, IndexedUser>> {
  let state = indexes.get(hs);
  if (!state) {
    state = { users: new Map(), builtAt: 0, rebuilding: null, changed: new Map() };
    indexes.set(hs, state);
    await rebuild(hs, state);
  } else if (state.builtAt === 0) {
    await rebuild(hs, state); // the first build failed or is still under way
  } else if (Date.now() - state.builtAt > INDEX_MAX_AGE_MS) {
    void rebuild(hs, state);
  }
  return state.users;
}
