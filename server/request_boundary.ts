/**
 * The one middleware every hono-routed request passes first: the CORS preflight answer and
 * headers, the path parameter checks of the matched routes (path_params.ts), and the request's
 * log record and metrics. They were three layers of middleware (and one extra route entry per
 * route with parameters, registered before the route modules): each layer is an async frame in
 * hono's compose per request, which showed as ~5% of the send path's busy time. One layer does
 * the same work in the same order: the parameter checks still run before any route module's
 * middleware or handler, the first bad parameter still answers 400 M_INVALID_PARAM, and the log
 * still sees the route and final status of every request (preflights and failures included).
 *
 * @module
 */

import type { Hono, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { RouterRoute } from "hono/types";
import { invalidParam } from "./errors.ts";
import { type ParamCheck, paramChecks, paramNamesOf } from "./path_params.ts";
import type { RequestObserver } from "./ops/routes.ts";
import type { AppEnv } from "./request_context.ts";

/** What {@link requestBoundary} needs from the app. */
export interface BoundaryOptions {
  /** Added to every answer; the whole answer of an `OPTIONS` preflight. */
  headers: Readonly<Record<string, string>>;
  /** The Matrix error response of a failure (the app's error handler). */
  onError: (err: Error) => Response;
  /** Records a finished request (null: nobody wants it). */
  observe: RequestObserver | null;
  /** Which paths have their parameters checked (the APIs; the web app's are file names). */
  checkedPaths: RegExp;
}

/** The boundary middleware and the step that arms it once every route is mounted. */
export interface RequestBoundary {
  middleware: MiddlewareHandler<AppEnv>;
  /** Builds the parameter checks from `app.routes`; call after the last route is added. */
  armParamChecks(app: Hono<AppEnv>): void;
}

/**
 * The route entries whose parameters are checked, keyed by the entry object the router
 * returns: one entry per method and path (the first registered), as one checker per route ran
 * before.
 *
 * @throws {Error} at start-up when a route's parameter has no rule
 */
function paramCheckTable(
  routes: readonly RouterRoute[],
  checkedPaths: RegExp,
): Map<RouterRoute, ParamCheck[]> {
  const table = new Map<RouterRoute, ParamCheck[]>();
  const seen = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || !checkedPaths.test(route.path)) continue;
    if (paramNamesOf(route.path).length === 0) continue;
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    table.set(route, paramChecks(route.path));
  }
  return table;
}

/** Creates the boundary middleware (see the module doc); mount it first, with `app.use("*")`. */
export function requestBoundary(options: BoundaryOptions): RequestBoundary {
  const headerEntries = Object.entries(options.headers);
  const { onError, observe } = options;
  let table: Map<RouterRoute, ParamCheck[]> | null = null;

  /** The first bad parameter of the matched routes, as its error (routeIndex left on it). */
  function paramProblem(c: Parameters<MiddlewareHandler<AppEnv>>[0]): Error | null {
    const routes = matchedRoutes(c);
    for (let i = 0; i < routes.length; i++) {
      const checks = table!.get(routes[i]);
      if (checks === undefined) continue;
      // `param()` reads the params of the route at `routeIndex`, decoded as handlers see them.
      c.req.routeIndex = i;
      for (const { name, rule } of checks) {
        const problem = rule(c.req.param(name) ?? "");
        if (problem !== null) return invalidParam(problem);
      }
    }
    c.req.routeIndex = 0;
    return null;
  }

  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const start = observe ? performance.now() : 0;
    if (c.req.method === "OPTIONS") {
      // The spec forbids running endpoint logic for OPTIONS: answer the preflight only.
      c.res = new Response(null, { status: 204, headers: options.headers });
    } else {
      const problem = paramProblem(c);
      if (problem) c.res = onError(problem);
      else await next();
      const headers = c.res.headers;
      for (let i = 0; i < headerEntries.length; i++) {
        headers.set(headerEntries[i][0], headerEntries[i][1]);
      }
    }
    observe?.(c, start);
  };

  return {
    middleware,
    armParamChecks(app) {
      table = paramCheckTable(app.routes, options.checkedPaths);
    },
  };
}
