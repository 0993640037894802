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
import { syncFilterFromParam } from "./filter.ts";

/** Longest long-poll a client may ask for. */
export const MAX_SYNC_TIMEOUT_MS = 5 * 60_000;

function booleanParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw invalidParam(`'${name}' must be true or false`);
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

/** Routes of the sync API. */
export function syncRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/_matrix/client/v3/sync", requireAuth(hs), async (c) => {
    const { userId, deviceId } = c.var.auth;
    const sinceParam = c.req.query("since");
    const since = sinceParam ? parseSyncToken(sinceParam) : null;
    const filter = await syncFilterFromParam(hs, userId, c.req.query("filter"));
    const fullState = booleanParam(c.req.query("full_state"), "full_state");
    const timeoutParam = c.req.query("timeout");
    let timeoutMs = 0;
    if (timeoutParam !== undefined && timeoutParam !== "") {
      timeoutMs = Number(timeoutParam);
      if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
        throw invalidParam("'timeout' must be a non-negative number of milliseconds");
      }
      timeoutMs = Math.min(timeoutMs, MAX_SYNC_TIMEOUT_MS);
    }
    const setPresence = c.req.query("set_presence") ?? "online";
    if (!PRESENCE_STATES.includes(setPresence as PresenceState)) {
      throw invalidParam("'set_presence' must be online, unavailable or offline");
    }
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
        signal: c.req.raw.signal,
      });
      if (!woke) return c.json(await emptyResponse(hs, { userId, deviceId }, since));
    }
    while (true) {
      const typingSerial = typingTracker(hs).serial;
      const upto = await visiblePosition(hs);
      const result = await computeSync(hs, { userId, deviceId }, {
        since,
        filter,
        fullState,
        rooms,
        upto,
        typingSerial,
      });
      const remaining = deadline - Date.now();
      if (!result.empty || since === null || fullState || remaining <= 0) {
        return c.json(result.body);
      }
      // A client that goes away (or a server that shuts down, which aborts open requests)
      // ends the wait at once instead of holding the request until its timeout.
      const woke = await waitForSyncChange(hs, {
        userId,
        since: upto,
        typingSerial,
        timeoutMs: remaining,
        signal: c.req.raw.signal,
      });
      if (!woke) {
        // Timed out (or aborted): answer with the empty response, whose token still moves
        // forward over changes that concerned other users.
        return c.json(result.body);
      }
    }
  });

  return app;
}
