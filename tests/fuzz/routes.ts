/**
 * The server's own route table, read from the Hono app that `createApp` builds (via a
 * throw-away in-memory {@link Homeserver}), so every route a module mounts is fuzzed without
 * being listed here: a new spec module, or the federation routes once they exist, join the
 * fuzz run by being mounted.
 *
 * @module
 */

import { resolveConfig } from "../../server/config.ts";
import { Homeserver } from "../../server/homeserver.ts";

/** One path parameter of a route. */
export interface RouteParam {
  /** The name after the colon (`roomId`). */
  name: string;
  /** Hono's custom pattern (`:file{[a-z]+}`), if any, as a regular expression source. */
  pattern: string | null;
}

/** One fuzzable route: a method and a path with `:param` segments. */
export interface Route {
  method: string;
  /** The Hono path, e.g. `/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId`. */
  path: string;
  /** `METHOD path`, the name findings are grouped by. */
  key: string;
  params: RouteParam[];
  /** Path segments: literal text, or the index of a parameter in `params`. */
  segments: (string | number)[];
}

/** Parses a Hono path into segments and parameters. */
export function parseRoute(method: string, path: string): Route {
  const params: RouteParam[] = [];
  const segments: (string | number)[] = [];
  for (const part of path.split("/").slice(1)) {
    const match = /^:([A-Za-z0-9_]+)(?:\{(.+)\})?$/.exec(part);
    if (part === "*") {
      // A wildcard takes any rest of the path: fuzz it like a free-form parameter.
      segments.push(params.length);
      params.push({ name: "rest", pattern: ".*" });
    } else if (match) {
      segments.push(params.length);
      params.push({ name: match[1], pattern: match[2] ?? null });
    } else {
      segments.push(part);
    }
  }
  return { method, path, key: `${method} ${path}`, params, segments };
}

/**
 * Every route of the server, once per method and path (middleware registrations of the same
 * route collapse), sorted so the list, and so a seed's requests, are stable.
 */
export async function loadRoutes(): Promise<Route[]> {
  const kv = await Deno.openKv(":memory:");
  try {
    const hs = await Homeserver.open(resolveConfig({ data_dir: "./unused-fuzz-routes" }), { kv });
    try {
      const seen = new Map<string, Route>();
      for (const { method, path } of hs.app.routes) {
        if (method === "ALL") continue; // middleware, not an endpoint
        const route = parseRoute(method, path);
        if (!seen.has(route.key)) seen.set(route.key, route);
      }
      return [...seen.values()].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    } finally {
      await hs.close();
    }
  } finally {
    kv.close();
  }
}
