/**
 * Invite permission (spec v1.18: Client-Server API, "Invite permission"): a local user whose
 * `m.invite_permission_config` account data has `default_action: "block"` receives no
 * invites. Sending one answers 403 `M_INVITE_BLOCKED` (`/invite`, `PUT /state/m.room.member`
 * with membership invite, the `invite` list of `createRoom`, and the federation `invite`
 * endpoint); invites that still reach the user (sent inside a room over federation, or from
 * before the block) are not shown by `/sync` while the block is on.
 *
 * The setting is kept in memory per user with the stream position it was read at and read
 * again only when the user's account data may have changed since, as the ignored-user list
 * is, so `/sync` can ask on every request.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import { getAccountData } from "../store/account_data.ts";
import { streamChanged } from "../sync/positions.ts";

/** The account data type holding a user's invite permission. */
export const INVITE_PERMISSION_CONFIG = "m.invite_permission_config";
/** Users whose setting is kept in memory. */
const CACHED_USERS = 10_000;

interface Entry {
  /** The visible stream position when the setting was read. */
  readAt: number;
  blocked: boolean;
}

const caches = new WeakMap<Homeserver, LruCache<string, Entry>>();

function cacheOf(hs: Homeserver): LruCache<string, Entry> {
  let cache = caches.get(hs);
  if (!cache) caches.set(hs, cache = new LruCache(CACHED_USERS));
  return cache;
}

/**
 * Whether an `m.invite_permission_config` content blocks every invite. A missing, invalid or
 * unknown `default_action` means invites are received as normal (the spec's reading).
 */
export function blocksAllInvites(content: Record<string, unknown> | null | undefined): boolean {
  return content?.default_action === "block";
}

/** Whether invites to the local user `userId` are blocked (false for users of other servers). */
export async function invitesBlocked(hs: Homeserver, userId: string): Promise<boolean> {
  if (serverNameOf(userId) !== hs.config.serverName) return false;
  const cache = cacheOf(hs);
  const hit = cache.get(userId);
  if (hit && !streamChanged(hs, "account_data", { since: hit.readAt, userId })) return hit.blocked;
  // The position is taken before the read: a write after it makes the next call read again.
  const readAt = hs.stream.visiblePosition;
  const record = await getAccountData(hs, userId, { roomId: "", type: INVITE_PERMISSION_CONFIG });
  const blocked = blocksAllInvites(record?.content);
  cache.set(userId, { readAt, blocked });
  return blocked;
}

/** 403 M_INVITE_BLOCKED: the invitee's server refused the invite because they block invites. */
export class InviteBlockedError extends MatrixError {
  /** @param invitee the user who blocks invites */
  constructor(invitee: string, options: { extra?: Record<string, unknown> } = {}) {
    super("M_INVITE_BLOCKED", `Invites to ${invitee} are blocked`, {
      status: 403,
      extra: options.extra,
    });
    this.name = "InviteBlockedError";
  }
}

/**
 * Refuses an invite of a local user who blocks invites.
 *
 * @throws {InviteBlockedError} when `invitee` is a local user who blocks invites
 */
export async function checkInviteAllowed(hs: Homeserver, invitee: string): Promise<void> {
  if (await invitesBlocked(hs, invitee)) throw new InviteBlockedError(invitee);
}
