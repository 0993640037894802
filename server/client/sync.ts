/**
 * Syncing (spec: "Syncing"): `GET /v3/sync`. Parses the parameters, applies `set_presence`,
 * computes the response between `since` and the visible stream position
 * (`server/sync/sync_response.ts`), and, when an incremental sync has nothing to report, waits
 * for the notifier (no polling): each wake-up recomputes once, and the request returns when
 * something arrived or the timeout passed.
 *
 * A long-poll whose token is already past every change announced for the user (the
 * notifier's {@link quietSince}) waits before computing anything, and when the wait times out
 * answers the empty response with its own token and the device's key counts: an idle client
 * costs a few reads per cycle instead of a whole incremental sync.
 *
 * @module
 */

import { Hono } from "hono";
import { getQueryParam } from "hono/utils/url";
import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { PRESENCE_STATES, type PresenceState, presenceTracker } from "../store/presence.ts";
import { oneTimeKeyCounts, unusedFallbackKeyTypes } from "../e2ee/device_keys.ts";
import { quietSince, visiblePosition, waitForSyncChange } from "../sync/positions.ts";
import { roomsAccess } from "../sync/rooms_adapter.ts";
import { computeSync } from "../sync/sync_response.ts";
import { formatSyncToken, parseSyncToken, type SyncToken } from "../sync/token.ts";
import { typingTracker } from "../sync/typing.ts";
import { LruCache } from "../rooms/lru.ts";
import type { SyncFilter } from "../sync/filter.ts";
import { syncFilterFromParam } from "./filter.ts";

/** Longest long-poll a client may ask for. */
export const MAX_SYNC_TIMEOUT_MS = 5 * 60_000;
/**
 * Syncs computed at once. A message to a large room wakes all its members' long-polls in the
 * same tick; computed all together, their awaits interleave and every response waits for
 * nearly all of them, while in turns of a few the first answers leave at once (and each
 * later one as soon as its own turn is done). Only incremental syncs take turns.
 */
export const SYNC_CONCURRENCY = 8;
/** Parsed filters kept (inline JSON by its text, stored filters by user and ID). */
const CACHED_FILTERS = 1000;
/**
 * Longest inline filter kept parsed, in characters (clients send a few hundred): with the count
 * above it bounds the cache's memory; a longer one is parsed on every request.
 */
const CACHED_FILTER_CHARS = 4096;

/** A first-come, first-served limit on concurrent work. */
class Turns {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

function runNow<T>(work: () => Promise<T>): Promise<T> {
  return work();
}

/**
 * The filter of a request, parsed once per distinct value: a stored filter's ID is the hash
 * of its content, and a filter is never changed once stored, so a user's ID names one filter.
 * The cache is keyed by the parameter as sent (still percent-encoded): a hit decodes nothing.
 */
async function cachedSyncFilter(
  hs: Homeserver,
  cache: LruCache<string, SyncFilter>,
  userId: string,
  param: { raw: string | undefined; decode: () => string | undefined },
): Promise<SyncFilter> {
  const { raw } = param;
  if (raw === undefined || raw === "") return await syncFilterFromParam(hs, userId, param.decode());
  // Inline JSON (`{` as sent or encoded) means the same for every user; an ID is the user's.
  const inline = raw.startsWith("{") || raw.startsWith("%7B") || raw.startsWith("%7b");
  const key = inline ? raw : `${userId}\n${raw}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const filter = await syncFilterFromParam(hs, userId, param.decode());
  if (key.length <= CACHED_FILTER_CHARS) cache.set(key, filter);
  return filter;
}

/** A sync URL's parameters (the first value of each); the filter as sent. */
interface SyncQuery {
  params: Map<string, string>;
  /** The `filter` parameter still percent-encoded (the key of the parsed filters). */
  rawFilter: string | undefined;
}

/**
 * Reads a URL's query in one pass and decodes every parameter but the filter as hono does
 * (`+` is a space, then percent-decoding). Null when a part is not valid percent-encoding:
 * the caller then asks hono, whose lenient decoding applies.
 */
function syncQuery(url: string): SyncQuery | null {
  const params = new Map<string, string>();
  let rawFilter: string | undefined;
  const start = url.indexOf("?");
  if (start < 0) return { params, rawFilter };
  const hash = url.indexOf("#", start);
  for (const part of url.slice(start + 1, hash < 0 ? undefined : hash).split("&")) {
    const eq = part.indexOf("=");
    const name = decodeQueryPart(eq < 0 ? part : part.slice(0, eq));
    if (name === null) return null;
    if (name === "") continue;
    const raw = eq < 0 ? "" : part.slice(eq + 1);
    if (name === "filter") {
      rawFilter ??= raw;
      continue;
    }
    if (params.has(name)) continue;
    const value = decodeQueryPart(raw);
    if (value === null) return null;
    params.set(name, value);
  }
  return { params, rawFilter };
}

function decodeQueryPart(text: string): string | null {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return null;
  }
}

function booleanParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw invalidParam(`'${name}' must be true or false`);
}

/** matrix-js-sdk's name for `use_state_after` (MSC4222), sent to every server. */
const MSC4222_PARAM = "org.matrix.msc4222.use_state_after";

/**
 * The key of the rooms' state sections with `use_state_after` (spec v1.16), or undefined for
 * `state`. matrix-js-sdk (up to at least 43) asks only with the MSC4222 names, whatever
 * `/versions` says, and reads `state_after` only under its MSC4222 key: each name gets its
 * own key, the stable one when a client sends both.
 */
function stateAfterKey(stable: boolean, unstable: boolean): string | undefined {
  if (stable) return "state_after";
  if (unstable) return "org.matrix.msc4222.state_after";
  return undefined;
}

/** The response of a sync that waited and saw nothing: its token stays where it was. */
async function emptyResponse(
  hs: Homeserver,
  device: { userId: string; deviceId: string },
  since: SyncToken,
): Promise<Record<string, unknown>> {
  const [counts, fallback] = await Promise.all([
    oneTimeKeyCounts(hs.kv, device),
    unusedFallbackKeyTypes(hs.kv, device),
  ]);
  return {
    next_batch: formatSyncToken(since),
    account_data: { events: [] },
    presence: { events: [] },
    rooms: { join: {}, invite: {}, knock: {}, leave: {} },
    to_device: { events: [] },
    device_one_time_keys_count: counts,
    device_unused_fallback_key_types: fallback,
    device_lists: { changed: [], left: [] },
  };
}

/** What the sync route keeps between requests (one per server). */
interface SyncState {
  filters: LruCache<string, SyncFilter>;
  turns: Turns;
}

const states = new WeakMap<Homeserver, SyncState>();

function stateOf(hs: Homeserver): SyncState {
  let state = states.get(hs);
  if (!state) {
    states.set(
      hs,
      state = { filters: new LruCache(CACHED_FILTERS), turns: new Turns(SYNC_CONCURRENCY) },
    );
  }
  return state;
}

/** A request's parameters as the sync reads them. */
interface SyncInput {
  query: ReadonlyMap<string, string>;
  /** The filter parameter as sent (undefined: parse `decodeFilter()` without the cache). */
  rawFilter: string | undefined;
  decodeFilter: () => string | undefined;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

/** The body of one `/sync` answer for `device` (the route's whole work but the HTTP parts). */
async function syncBody(
  hs: Homeserver,
  device: { userId: string; deviceId: string },
  input: SyncInput,
): Promise<Record<string, unknown>> {
  const { userId, deviceId } = device;
  const { filters, turns } = stateOf(hs);
  const { query, signal } = input;
  const sinceParam = query.get("since");
  const since = sinceParam ? parseSyncToken(sinceParam) : null;
  const filter = await cachedSyncFilter(hs, filters, userId, {
    raw: input.rawFilter,
    decode: input.decodeFilter,
  });
  const fullState = booleanParam(query.get("full_state"), "full_state");
  const stateAfter = stateAfterKey(
    booleanParam(query.get("use_state_after"), "use_state_after"),
    booleanParam(query.get(MSC4222_PARAM), MSC4222_PARAM),
  );
  const timeoutParam = query.get("timeout");
  let timeoutMs = 0;
  if (timeoutParam !== undefined && timeoutParam !== "") {
    timeoutMs = Number(timeoutParam);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw invalidParam("'timeout' must be a non-negative number of milliseconds");
    }
    timeoutMs = Math.min(timeoutMs, MAX_SYNC_TIMEOUT_MS);
  }
  const setPresence = query.get("set_presence") ?? "online";
  if (!PRESENCE_STATES.includes(setPresence as PresenceState)) {
    throw invalidParam("'set_presence' must be online, unavailable or offline");
  }
  // The tracker answers from memory: no KV read while the presence does not change.
  await presenceTracker(hs).synced(userId, setPresence as PresenceState, Date.now());

  const rooms = roomsAccess(hs);
  const deadline = Date.now() + timeoutMs;
  if (
    since !== null && !fullState && timeoutMs > 0 && since.toDevice === undefined &&
    quietSince(hs, userId, since)
  ) {
    // Nothing concerning the user since the token: wait first. A change the notifier has
    // not announced yet (its writer wakes right after its commit) still wakes this wait, and
    // the token does not move on a timeout, so no change is ever skipped.
    const woke = await waitForSyncChange(hs, {
      userId,
      since: since.pos,
      typingSerial: since.typing,
      timeoutMs,
      signal,
    });
    if (!woke) return await emptyResponse(hs, { userId, deviceId }, since);
  }
  while (true) {
    // The position is read when the turn starts, so a sync that waited for its turn still
    // reports everything visible by then.
    // Initial and full-state syncs (which may take seconds) do not take turns, so they never
    // hold up the incremental syncs of everyone else.
    const gate = since === null || fullState ? runNow : turns.run.bind(turns);
    const { result, upto, typingSerial } = await gate(async () => {
      const typingSerial = typingTracker(hs).serial;
      const upto = await visiblePosition(hs);
      const result = await computeSync(hs, { userId, deviceId }, {
        since,
        filter,
        fullState,
        stateAfter,
        rooms,
        upto,
        typingSerial,
      });
      return { result, upto, typingSerial };
    });
    const remaining = deadline - Date.now();
    if (!result.empty || since === null || fullState || remaining <= 0) return result.body;
    // A client that goes away (or a server that shuts down, which aborts open requests)
    // ends the wait at once instead of holding the request until its timeout.
    const woke = await waitForSyncChange(hs, {
      userId,
      since: upto,
      typingSerial,
      timeoutMs: remaining,
      signal,
    });
    // Timed out (or aborted): answer with the empty response, whose token still moves
    // forward over changes that concerned other users.
    if (!woke) return result.body;
  }
}

/** The path of the sync endpoint, which {@link fastSync} answers. */
export const SYNC_PATH = "/_matrix/client/v3/sync";

/** The sync input of a request, its query decoded as hono's `c.req.query` would. */
function syncInput(request: Request): SyncInput {
  const url = request.url;
  // Every parameter from one pass over the URL: asking hono for each by name scans and
  // decodes the whole query (the filter's JSON with it) again for every absent parameter.
  // The filter stays encoded unless its parse is not cached.
  const read = syncQuery(url);
  return {
    query: read?.params ??
      new Map(Object.entries(getQueryParam(url) as Record<string, string>)),
    // A URL hono had to decode leniently is parsed without the cache.
    rawFilter: read?.rawFilter,
    decodeFilter: () => getQueryParam(url, "filter") as string | undefined,
    signal: request.signal,
  };
}

/**
 * `GET /v3/sync` for the app's fast path (server/app.ts), which answers it without hono's
 * routing, context and middleware chain (a message to a large room wakes a sync per member
 * at once): the caller authenticates the request (`authenticate`) and makes the response.
 */
export function fastSync(
  hs: Homeserver,
  request: Request,
  device: { userId: string; deviceId: string },
): Promise<Record<string, unknown>> {
  return syncBody(hs, device, syncInput(request));
}

/** Routes of the sync API. */
export function syncRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get(SYNC_PATH, requireAuth(hs), async (c) => {
    return c.json(await syncBody(hs, c.var.auth, syncInput(c.req.raw)));
  });

  return app;
}
