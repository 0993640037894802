/**
 * Operations endpoints: `GET /health` (and `/health/live`, `/health/ready`) for load balancers
 * and supervisors, `GET /metrics` on the main port behind `[metrics] token`, the separate
 * metrics listener (`[metrics] listen`), and the middleware that feeds every request to the
 * request log and the metrics.
 *
 * @module
 */

import { type Context, Hono, type MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { constantTimeEqual } from "../../crypto/tokens.ts";
import { splitHostPort } from "../config.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { logRequest, type RequestRecord } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** How long the readiness check waits for a KV read. */
const READY_KV_TIMEOUT_MS = 2000;

/** The answer of a readiness check. */
export interface Readiness {
  ready: boolean;
  /** What is not ready (absent when ready). */
  reason?: string;
}

/** Whether the server can take traffic: start-up done, not closing, KV answering. */
export async function readiness(hs: Homeserver): Promise<Readiness> {
  if (!hs.ready) return { ready: false, reason: hs.closing ? "shutting down" : "starting" };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), READY_KV_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([hs.kv.get(["meta", "format_version"]), timeout]);
    if (result === "timeout") return { ready: false, reason: "database not answering" };
    return { ready: true };
  } catch (err) {
    // The answer is public: the error itself goes to the log, not to the caller.
    console.warn("gemeng: readiness check: the database read failed:", (err as Error).message);
    return { ready: false, reason: "database error" };
  } finally {
    clearTimeout(timer);
  }
}

const NO_STORE = { "Cache-Control": "no-store" };

/** `/health`, `/health/live`, `/health/ready` and the token-protected `/metrics`. */
export function opsRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Live: the process answers HTTP. Restart it when this fails.
  app.get("/health/live", (c) => c.json({ status: "ok" }, 200, NO_STORE));
  // Ready (and /health, as Synapse has it): route traffic here.
  const ready = async () => {
    const state = await readiness(hs);
    return Response.json(
      state.ready ? { status: "ok" } : { status: "unavailable", reason: state.reason },
      { status: state.ready ? 200 : 503, headers: NO_STORE },
    );
  };
  app.get("/health", ready);
  app.get("/health/ready", ready);
  const { enabled, token } = hs.config.metrics;
  if (enabled && token !== "" && hs.metrics) {
    const metrics = hs.metrics;
    app.get("/metrics", (c) => {
      const given = /^Bearer (.+)$/.exec(c.req.header("Authorization") ?? "")?.[1] ?? "";
      if (!constantTimeEqual(given, token)) {
        return c.text("unauthorized\n", 401, { "WWW-Authenticate": "Bearer", ...NO_STORE });
      }
      return metricsResponse(metrics);
    });
  }
  return app;
}

async function metricsResponse(metrics: Metrics): Promise<Response> {
  return new Response(await metrics.render(), {
    headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", ...NO_STORE },
  });
}

/**
 * Starts `[metrics] listen`: a listener answering only `/metrics` (and `/health/*`), for a
 * Prometheus on a private network.
 */
export function serveMetrics(
  hs: Homeserver,
  options: { hostname?: string; port?: number; onListen?: (addr: Deno.NetAddr) => void } = {},
): Deno.HttpServer<Deno.NetAddr> | null {
  const { enabled, listen } = hs.config.metrics;
  const metrics = hs.metrics;
  if (!enabled || listen === "" || !metrics) return null;
  const parsed = splitHostPort(listen)!;
  return Deno.serve({
    hostname: options.hostname ?? parsed.host.replace(/^\[|\]$/g, ""),
    port: options.port ?? parsed.port!,
    onListen: options.onListen ?? (() => {}),
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET") return new Response("method not allowed\n", { status: 405 });
    if (path === "/metrics") return await metricsResponse(metrics);
    if (path === "/health/live") return Response.json({ status: "ok" });
    if (path === "/health" || path === "/health/ready") {
      const state = await readiness(hs);
      return Response.json(state, { status: state.ready ? 200 : 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
}

/** The route pattern that answered (`(unmatched)` when none did), for logs and metrics. */
function routeOf(c: Context<AppEnv>): string {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (!route || (route.method === "ALL" && c.res.status === 404)) return "(unmatched)";
  return route.path;
}

/** Path segments whose values a person wrote (a file's name): logged as `*`. */
const PRIVATE_PARAMS = new Set([":fileName"]);

/** The path as logged: the uploader's file name in download paths is left out. */
function loggedPath(route: string, path: string): string {
  if (!route.includes(":fileName")) return path;
  const routeParts = route.split("/");
  return path.split("/").map((part, i) => PRIVATE_PARAMS.has(routeParts[i]) ? "*" : part)
    .join("/");
}

/** Hands one finished request (started at `start`, from `performance.now()`) to the log and metrics. */
export type RequestObserver = (c: Context<AppEnv>, start: number) => void;

/**
 * What records each finished request in the request log and the metrics, or null when neither
 * wants it (then nothing needs timing).
 */
export function requestObserver(hs: Homeserver): RequestObserver | null {
  const metrics = hs.metrics;
  const log = hs.log;
  if (!metrics && !(log.requests && log.enabled("info"))) return null;
  return (c, start) => {
    const route = routeOf(c);
    const record: RequestRecord = {
      method: c.req.method,
      route,
      path: loggedPath(route, c.req.path),
      status: c.res.status,
      seconds: (performance.now() - start) / 1000,
    };
    metrics?.observeRequest(record);
    logRequest(log, record);
  };
}

/** Middleware: times each request and hands it to the request log and the metrics. */
export function observeRequests(hs: Homeserver): MiddlewareHandler<AppEnv> {
  const observe = requestObserver(hs);
  if (!observe) return (_c, next) => next();
  return async (c, next) => {
    const start = performance.now();
    await next();
    observe(c, start);
  };
}
