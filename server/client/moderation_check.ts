/**
 * What account locking and suspension (spec: Client-Server API, "Account moderation") do to
 * every authenticated request, checked by `requireAuth`; the admin endpoints that set them are
 * in `account_moderation.ts`:
 *
 * - a locked account gets 401 `M_USER_LOCKED` with `soft_logout: true` on everything but
 *   `/logout` and `/logout/all`; its tokens are kept, so the sessions resume once unlocked;
 * - a suspended account may read, sync, manage its devices and keys, leave rooms and redact its
 *   own events, but gets 403 `M_USER_SUSPENDED` for the spec's recommended list: joining,
 *   knocking, inviting, sending messages and state, creating rooms, changing its profile,
 *   redacting others' events (and creating room aliases, upgrading rooms).
 *
 * The flags live in `["moderation", userId]` and, per KV, in memory (read once, at the first
 * check), so the check costs no read per request. Only this process changes them (the admin
 * endpoints); a change made by another process is seen after a restart.
 *
 * @module
 */

import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { compileEndpoints } from "./guest_routes.ts";

/** A user's moderation flags as stored. */
export interface ModerationRecord {
  locked: boolean;
  suspended: boolean;
  /** When an admin last changed them, ms since the epoch. */
  updatedTs: number;
}

/** `["moderation", userId]` -> {@link ModerationRecord} (only users with a flag set). */
export const moderationKey = (userId: string): Deno.KvKey => ["moderation", userId];

/**
 * What a suspended account may not do, as `METHOD path` relative to `/_matrix/client/` (the
 * `guest_routes.ts` pattern syntax). Redactions are judged apart: of one's own events they
 * are allowed.
 */
const SUSPENDED_FORBIDDEN: readonly string[] = [
  "POST v3/join/{}",
  "POST v3/rooms/{}/join",
  "POST v3/knock/{}",
  "POST v3/rooms/{}/invite",
  "PUT v3/rooms/{}/send/{}/{}",
  "POST v3/rooms/{}/send/{}",
  "PUT v3/rooms/{}/state/{}",
  "PUT v3/rooms/{}/state/{}/*",
  "POST v3/createRoom",
  "POST v3/rooms/{}/upgrade",
  "PUT v3/directory/room/{}",
  "PUT v3/profile/{}/{}",
  "DELETE v3/profile/{}/{}",
];
const SUSPENDED_ROUTES = compileEndpoints(SUSPENDED_FORBIDDEN);
const CLIENT_PREFIX = "/_matrix/client/";
const LOCK_EXEMPT = new Set([`${CLIENT_PREFIX}v3/logout`, `${CLIENT_PREFIX}v3/logout/all`]);

const flags = new WeakMap<Deno.Kv, Promise<Map<string, ModerationRecord>>>();

/** The moderated users of a KV, read once. */
export function moderated(kv: Deno.Kv): Promise<Map<string, ModerationRecord>> {
  let loaded = flags.get(kv);
  if (!loaded) {
    loaded = (async () => {
      const map = new Map<string, ModerationRecord>();
      for await (const entry of kv.list<ModerationRecord>({ prefix: ["moderation"] })) {
        map.set(entry.key[1] as string, entry.value);
      }
      return map;
    })();
    loaded.catch(() => flags.delete(kv));
    flags.set(kv, loaded);
  }
  return loaded;
}

function suspendedError(): MatrixError {
  return new MatrixError(
    "M_USER_SUSPENDED",
    "Your account is suspended: you may read and leave rooms, but not take part",
    { status: 403 },
  );
}

/**
 * Refuses a request of a locked or suspended account as the spec asks (see the module
 * comment). Resolves at once for everyone else.
 *
 * @throws {MatrixError} 401 M_USER_LOCKED, 403 M_USER_SUSPENDED
 */
export async function checkModeration(
  hs: Homeserver,
  request: { method: string; path: string; userId: string },
): Promise<void> {
  const record = (await moderated(hs.kv)).get(request.userId);
  if (!record) return;
  const { path } = request;
  if (record.locked && !LOCK_EXEMPT.has(path)) {
    throw new MatrixError("M_USER_LOCKED", "This account has been locked", {
      status: 401,
      extra: { soft_logout: true },
    });
  }
  if (!record.suspended || !path.startsWith(CLIENT_PREFIX)) return;
  const rest = path.slice(CLIENT_PREFIX.length);
  const verb = request.method === "HEAD" ? "GET" : request.method;
  if (SUSPENDED_ROUTES.get(verb)?.test(rest)) throw suspendedError();
  const redact = /^v3\/rooms\/[^/]+\/redact\/([^/]+)\//.exec(rest);
  if (verb === "PUT" && redact) {
    let eventId = redact[1];
    try {
      eventId = decodeURIComponent(eventId);
    } catch { /* judged as it is */ }
    const target = await hs.rooms.event(eventId);
    if (target && target.event.sender !== request.userId) throw suspendedError();
  }
}

/** Sets or clears a user's flags, in KV and in memory. */
export async function setModeration(
  hs: Homeserver,
  userId: string,
  change: { locked?: boolean; suspended?: boolean },
): Promise<ModerationRecord> {
  const key = moderationKey(userId);
  const before = await hs.kv.get<ModerationRecord>(key);
  const next: ModerationRecord = {
    locked: change.locked ?? before.value?.locked ?? false,
    suspended: change.suspended ?? before.value?.suspended ?? false,
    updatedTs: Date.now(),
  };
  const op = hs.kv.atomic().check(before);
  if (next.locked || next.suspended) op.set(key, next);
  else op.delete(key);
  if (!(await op.commit()).ok) {
    throw new MatrixError("M_UNKNOWN", "The account changed meanwhile; try again", { status: 409 });
  }
  const map = await moderated(hs.kv);
  if (next.locked || next.suspended) map.set(userId, next);
  else map.delete(userId);
  return next;
}
