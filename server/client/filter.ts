/**
 * Filtering (spec: "Filtering"): `POST /v3/user/{userId}/filter` and
 * `GET /v3/user/{userId}/filter/{filterId}`, plus {@link syncFilterFromParam}, which turns the
 * `filter` query parameter of `/sync` (a stored ID or inline JSON) into a typed filter.
 *
 * @module
 */

import { Hono } from "hono";
import { forbidden, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { parseJsonText } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { loadFilter, saveFilter } from "../store/filters.ts";
import {
  parseRoomEventFilter,
  parseSyncFilter,
  type RoomEventFilter,
  type SyncFilter,
} from "../sync/filter.ts";

/** The filter that lets everything through. */
export const EMPTY_SYNC_FILTER: SyncFilter = parseSyncFilter({});

function parseInlineJson(text: string, name: string): unknown {
  try {
    return parseJsonText(text, `'${name}'`);
  } catch (err) {
    if (err instanceof MatrixError && err.code === "M_NOT_JSON") {
      throw new MatrixError("M_NOT_JSON", `'${name}' is neither a filter ID nor valid JSON`);
    }
    throw err;
  }
}

/**
 * The filter of a `/sync` request: absent gives {@link EMPTY_SYNC_FILTER}; a value starting
 * with `{` is inline JSON; anything else is the ID of one of the user's stored filters.
 *
 * @throws {MatrixError} M_NOT_JSON / M_BAD_JSON for bad inline filters, 404 M_NOT_FOUND for an
 *   unknown filter ID
 */
export async function syncFilterFromParam(
  hs: Homeserver,
  userId: string,
  param: string | undefined,
): Promise<SyncFilter> {
  if (param === undefined || param === "") return EMPTY_SYNC_FILTER;
  if (param.trimStart().startsWith("{")) return parseSyncFilter(parseInlineJson(param, "filter"));
  const stored = await loadFilter(hs.kv, userId, param);
  if (stored === null) throw notFound(`Unknown filter '${param}'`);
  return parseSyncFilter(stored);
}

/** The `filter` query parameter of `/messages` and `/context`: an inline `RoomEventFilter`. */
export function roomEventFilterFromParam(param: string | undefined): RoomEventFilter {
  if (param === undefined || param === "") return parseRoomEventFilter({});
  return parseRoomEventFilter(parseInlineJson(param, "filter"));
}

function ownUser(c: { var: AppEnv["Variables"] }, userId: string): void {
  if (c.var.auth.userId !== userId) {
    throw forbidden("You can only create and read your own filters");
  }
}

/** Routes of the filter API. */
export function filterRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const base = "/_matrix/client/v3/user/:userId/filter";

  app.post(base, requireAuth(hs), async (c) => {
    const userId = c.req.param("userId");
    ownUser(c, userId);
    const body = await readBody(hs, c);
    parseSyncFilter(body);
    const filterId = await saveFilter(hs.kv, userId, body);
    return c.json({ filter_id: filterId });
  });

  app.get(`${base}/:filterId`, requireAuth(hs), async (c) => {
    const userId = c.req.param("userId");
    ownUser(c, userId);
    const stored = await loadFilter(hs.kv, userId, c.req.param("filterId"));
    if (stored === null) throw notFound("Unknown filter");
    return c.json(stored);
  });

  return app;
}
