/**
 * `GET /_matrix/client/v3/sync` answered before hono sees the request. A message to a room of
 * 500 members wakes 500 long-polls at once, each of which comes straight back with its next
 * long-poll: hono's routing, context object and middleware chain were about a twentieth of
 * the CPU each of those round trips took. The fast path does what that chain did for this
 * route, in the same order: the access token checks (`authenticate`), the handler, the Matrix
 * error response of a failure, the CORS headers, and the request's metrics and log record.
 *
 * Everything else (the legacy `r0` path, `HEAD`, other methods, which get 405) still goes
 * through hono.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Homeserver } from "../homeserver.ts";
import { logRequest, type RequestRecord } from "../ops/log.ts";
import { type AppEnv, authenticate } from "../request_context.ts";
import { fastSync, SYNC_PATH } from "./sync.ts";

/** The path of a request URL (`http://host/path?query`): where it starts and ends. */
function pathBounds(url: string): { start: number; end: number } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return { start: url.length, end: url.length };
  let end = url.indexOf("?", start);
  if (end < 0) end = url.length;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return { start, end };
}

/** Whether `request` is a `GET` of exactly the sync path. */
function isSyncRequest(request: Request): boolean {
  if (request.method !== "GET") return false;
  const url = request.url;
  const { start, end } = pathBounds(url);
  return end - start === SYNC_PATH.length && url.startsWith(SYNC_PATH, start);
}

/**
 * Makes `app.fetch` answer `GET /v3/sync` itself (see the module doc); `headers` are added to
 * every answer (CORS), `onError` turns a failure into its response.
 */
export function withFastSync(
  hs: Homeserver,
  app: Hono<AppEnv>,
  options: { headers: Readonly<Record<string, string>>; onError: (err: Error) => Response },
): void {
  const honoFetch = app.fetch;
  const headerEntries = Object.entries(options.headers);
  const jsonHeaders = { "content-type": "application/json", ...options.headers };
  const observe = hs.metrics !== null || (hs.log.requests && hs.log.enabled("info"));

  async function answer(request: Request, remoteAddr: Deno.Addr | undefined): Promise<Response> {
    const started = observe ? performance.now() : 0;
    let response: Response;
    try {
      const ip = remoteAddr && "hostname" in remoteAddr ? remoteAddr.hostname : "unknown";
      const caller = await authenticate(hs, request, { path: SYNC_PATH, ip });
      const body = await fastSync(hs, request, caller.owner);
      response = new Response(JSON.stringify(body), { headers: jsonHeaders });
    } catch (err) {
      response = options.onError(err as Error);
      for (const [name, value] of headerEntries) response.headers.set(name, value);
    }
    if (observe) {
      const record: RequestRecord = {
        method: "GET",
        route: SYNC_PATH,
        path: SYNC_PATH,
        status: response.status,
        seconds: (performance.now() - started) / 1000,
      };
      hs.metrics?.observeRequest(record);
      logRequest(hs.log, record);
    }
    return response;
  }

  app.fetch = (request, env, executionCtx) => {
    if (isSyncRequest(request)) {
      const bindings = env as AppEnv["Bindings"] | undefined;
      return answer(request, bindings?.remoteAddr);
    }
    return honoFetch(request, env, executionCtx);
  };
}
