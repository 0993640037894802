/**
 * Queries this server makes of others (Server-Server API, "Querying for information"): the
 * profile of a user of another server (`GET /_matrix/federation/v1/query/profile`), asked for
 * the client `GET /profile/{userId}` and kept in a small per-server cache.
 *
 * The answer is hostile until checked: at most {@link MAX_REMOTE_PROFILE_BYTES}, a JSON object,
 * `displayname` and `avatar_url` kept only as strings of sane length. A "not found" answer is
 * cached for a shorter time than a profile; an unreachable server is not cached at all, so that
 * it is asked again on the next request.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import type { ProfileRecord } from "../store/profiles.ts";
import { FederationRequestError } from "./client.ts";

/** Largest profile answer read from another server (the spec caps profiles at 64 KiB). */
export const MAX_REMOTE_PROFILE_BYTES = 64 * 1024;
/** How long a remote profile is served from the cache. */
export const REMOTE_PROFILE_TTL_MS = 5 * 60_000;
/** How long a remote "no such user" is served from the cache. */
export const REMOTE_PROFILE_MISSING_TTL_MS = 60_000;
/** Most remote profiles cached per server. */
export const REMOTE_PROFILE_CACHE_ENTRIES = 2_000;
const REMOTE_PROFILE_TIMEOUT_MS = 10_000;
const MAX_FIELD_CHARS = 2_000;

interface CachedProfile {
  /** The profile, or null when the remote server said the user does not exist. */
  profile: ProfileRecord | null;
  expires: number;
}

/** The cache and counters of one server (kept per {@link Homeserver}). */
interface ProfileCache {
  entries: LruCache<string, CachedProfile>;
  /** Requests actually sent (tests read it to see the cache work). */
  requests: number;
}

const caches = new WeakMap<Homeserver, ProfileCache>();

function cacheOf(hs: Homeserver): ProfileCache {
  let cache = caches.get(hs);
  if (!cache) {
    cache = { entries: new LruCache(REMOTE_PROFILE_CACHE_ENTRIES), requests: 0 };
    caches.set(hs, cache);
  }
  return cache;
}

/** How many remote profile requests this server has sent (for tests and diagnostics). */
export function remoteProfileRequests(hs: Homeserver): number {
  return cacheOf(hs).requests;
}

/** Forgets a cached remote profile (after a member event shows it changed, for instance). */
export function forgetRemoteProfile(hs: Homeserver, userId: string): void {
  cacheOf(hs).entries.delete(userId);
}

/**
 * The checked profile of another server's answer: a JSON object whose `displayname` and
 * `avatar_url`, when present, are strings (anything else there is dropped), or null when the
 * answer is not an object.
 */
export function checkedRemoteProfile(answer: unknown): ProfileRecord | null {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) return null;
  const out: ProfileRecord = {};
  for (const [key, value] of Object.entries(answer as Record<string, unknown>)) {
    if (key === "displayname" || key === "avatar_url") {
      if (typeof value === "string" && value.length <= MAX_FIELD_CHARS) out[key] = value;
    } else if (key.length <= 255 && value !== null) {
      out[key] = value;
    }
  }
  return out;
}

function unreachable(userId: string, why: string): MatrixError {
  return new MatrixError(
    "M_UNKNOWN",
    `The profile of ${userId} could not be fetched from its server: ${why}`,
    { status: 502 },
  );
}

/**
 * The profile of a user of another server, from the cache or asked of its server.
 *
 * @throws {MatrixError} 404 M_NOT_FOUND when the server says the user has no profile, 502
 *   M_UNKNOWN when it cannot be reached or answers nonsense
 */
export async function remoteProfile(hs: Homeserver, userId: string): Promise<ProfileRecord> {
  const cache = cacheOf(hs);
  const cached = cache.entries.get(userId);
  if (cached && cached.expires > Date.now()) {
    if (cached.profile === null) throw notFound("Profile not found");
    return cached.profile;
  }
  const server = serverNameOf(userId);
  if (!server) throw notFound("Profile not found");
  cache.requests++;
  let response;
  try {
    response = await hs.federation.client.request(server, {
      method: "GET",
      path: "/_matrix/federation/v1/query/profile",
      query: { user_id: userId },
      maxBytes: MAX_REMOTE_PROFILE_BYTES,
      timeoutMs: REMOTE_PROFILE_TIMEOUT_MS,
    });
  } catch (err) {
    if (err instanceof FederationRequestError) throw unreachable(userId, err.message);
    throw err;
  }
  if (response.status === 404) {
    cache.entries.set(userId, {
      profile: null,
      expires: Date.now() + REMOTE_PROFILE_MISSING_TTL_MS,
    });
    throw notFound("Profile not found");
  }
  const profile = response.status === 200 ? checkedRemoteProfile(response.json) : null;
  if (profile === null) throw unreachable(userId, `it answered ${response.status}`);
  cache.entries.set(userId, { profile, expires: Date.now() + REMOTE_PROFILE_TTL_MS });
  return profile;
}
