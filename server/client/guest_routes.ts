/**
 * What a guest account may call (spec: "Guest Access", "Client behaviour"): one allow-list of
 * method and path, checked by `requireAuth` where the access token is resolved, so no handler
 * needs a guest check of its own. Every other endpoint answers a guest 403
 * `M_GUEST_ACCESS_FORBIDDEN`. Kept apart from server/client/guests.ts so that the request
 * context imports only this and the account store.
 *
 * @module
 */

import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { getUser } from "../store/accounts.ts";

/**
 * The endpoints a guest may call, as `METHOD path` relative to `/_matrix/client/`: `{}` is
 * one path segment, a final `*` any rest, even none (`/state/{type}/` has an empty state
 * key). First the spec's list, then what Synapse also lets guests do that reads nothing they
 * could not read anyway (capabilities, joined rooms, the public room list, key changes,
 * relations, hierarchy, joining by alias, the r0-era send without a transaction ID, TURN).
 */
export const GUEST_ENDPOINTS: readonly string[] = [
  // Reading rooms and media.
  "GET v3/rooms/{}/state",
  "GET v3/rooms/{}/state/{}",
  "GET v3/rooms/{}/state/{}/*",
  "GET v3/rooms/{}/context/{}",
  "GET v3/rooms/{}/event/{}",
  "GET v3/rooms/{}/messages",
  "GET v3/rooms/{}/members",
  "GET v3/rooms/{}/initialSync",
  "GET v3/sync",
  "GET v3/events",
  "GET v1/media/download/{}/{}",
  "GET v1/media/download/{}/{}/{}",
  "GET v1/media/thumbnail/{}/{}",
  // Taking part in rooms.
  "POST v3/rooms/{}/join",
  "POST v3/rooms/{}/leave",
  "PUT v3/rooms/{}/send/{}/{}",
  "PUT v3/rooms/{}/state/{}",
  "PUT v3/rooms/{}/state/{}/*",
  "PUT v3/sendToDevice/{}/{}",
  // Their own account.
  "PUT v3/profile/{}/displayname",
  "DELETE v3/profile/{}/displayname",
  "GET v3/devices",
  "GET v3/devices/{}",
  "PUT v3/devices/{}",
  "GET v3/account/whoami",
  // End-to-end encryption.
  "POST v3/keys/upload",
  "POST v3/keys/query",
  "POST v3/keys/claim",
  // Also allowed by Synapse.
  "GET v3/capabilities",
  "GET v3/joined_rooms",
  "GET v3/publicRooms",
  "POST v3/publicRooms",
  "POST v3/join/{}",
  "POST v3/rooms/{}/send/{}",
  "GET v3/events/{}",
  "GET v3/keys/changes",
  "POST v3/keys/signatures/upload",
  "GET v1/rooms/{}/relations/{}",
  "GET v1/rooms/{}/relations/{}/*",
  "GET v1/rooms/{}/hierarchy",
  "GET v1/room_summary/{}",
  "GET v3/voip/turnServer",
];

const CLIENT_PREFIX = "/_matrix/client/";

/** The allow-list compiled: one regular expression per method. */
const GUEST_ROUTES: ReadonlyMap<string, RegExp> = compileEndpoints(GUEST_ENDPOINTS);

/** Compiles `METHOD path` patterns (`{}` one segment, final `*` any rest) to one regexp per method. */
export function compileEndpoints(endpoints: readonly string[]): Map<string, RegExp> {
  const byMethod = new Map<string, string[]>();
  for (const entry of endpoints) {
    const [method, path] = entry.split(" ");
    const pattern = path.split("/").map((segment) =>
      segment === "{}" ? "[^/]+" : segment === "*" ? ".*" : segment.replace(/[.]/g, "\\.")
    ).join("/");
    byMethod.set(method, [...byMethod.get(method) ?? [], pattern]);
  }
  return new Map(
    [...byMethod].map(([method, patterns]) => [method, new RegExp(`^(?:${patterns.join("|")})$`)]),
  );
}

/** A guest called an endpoint that guests may not use. */
function guestForbidden(message = "Guest accounts may not use this endpoint"): MatrixError {
  return new MatrixError("M_GUEST_ACCESS_FORBIDDEN", message, { status: 403 });
}

/**
 * Refuses a guest's request unless its method and path are on {@link GUEST_ENDPOINTS}. Two
 * listed endpoints have a narrower rule: `GET /events` only with `room_id` (a room preview,
 * as in Synapse; the global stream is not for guests), and a state event may not be an
 * `m.room.member` event (guests join and leave through `/join` and `/leave`, which check the
 * room's `m.room.guest_access`).
 *
 * @throws {MatrixError} 403 M_GUEST_ACCESS_FORBIDDEN
 */
export function checkGuestRoute(method: string, url: URL, path: string): void {
  if (!path.startsWith(CLIENT_PREFIX)) throw guestForbidden();
  const rest = path.slice(CLIENT_PREFIX.length);
  const verb = method === "HEAD" ? "GET" : method;
  if (!GUEST_ROUTES.get(verb)?.test(rest)) throw guestForbidden();
  if (rest === "v3/events" && !url.searchParams.has("room_id")) {
    throw guestForbidden("Guest accounts must name a room_id to read events");
  }
  const state = /^v3\/rooms\/[^/]+\/state\/([^/]+)/.exec(rest);
  if (verb === "PUT" && state && safeDecode(state[1]) === "m.room.member") {
    throw guestForbidden("Guest accounts change their membership through /join and /leave");
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Users known not to be guests, per KV (an account never becomes a guest later). */
const fullUsers = new WeakMap<Deno.Kv, Set<string>>();
/** Past this many remembered users the set starts again (it only saves reads). */
const MAX_REMEMBERED_USERS = 100_000;

/**
 * Whether a local user is a guest. A user found not to be a guest is remembered, so an
 * ordinary user costs one read per server process; a guest's record is read on each call,
 * so an upgrade is seen at once.
 */
export async function isGuestUser(hs: Homeserver, userId: string): Promise<boolean> {
  let known = fullUsers.get(hs.kv);
  if (!known) fullUsers.set(hs.kv, known = new Set());
  if (known.has(userId)) return false;
  const user = await getUser(hs.kv, userId);
  if (user?.isGuest === true) return true;
  if (user) {
    if (known.size >= MAX_REMEMBERED_USERS) known.clear();
    known.add(userId);
  }
  return false;
}

/**
 * The guest check of an authenticated request (called by `requireAuth`): a guest's request
 * must be on the allow-list.
 *
 * @throws {MatrixError} 403 M_GUEST_ACCESS_FORBIDDEN
 */
export async function checkGuestRequest(
  hs: Homeserver,
  request: { method: string; url: string; path: string; userId: string },
): Promise<void> {
  if (!(await isGuestUser(hs, request.userId))) return;
  checkGuestRoute(request.method, new URL(request.url), request.path);
}
