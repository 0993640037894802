/**
 * Builds request number N of a run from the seed alone (plus what setup and the probe found):
 * a route from the server's table, who calls it (user, admin, nobody, a bad token), its path
 * parameters (plausible, or one of them broken), query and body (a valid body from setup or the
 * probe with a field broken, a body made from field names, or a body broken as a whole).
 *
 * @module
 */

import { Rng } from "./rng.ts";
import type { Route } from "./routes.ts";
import {
  categoryOf,
  edgeString,
  type FuzzValue,
  longString,
  type Plausible,
  plausibleString,
  QUERY_POOL,
  randomValue,
  toJsonText,
  wrongKindId,
} from "./values.ts";
import { brokenBody, composedBody, mutateBody } from "./bodies.ts";

/** Who sends a request. */
export type Role = "user" | "admin" | "none" | "badToken" | "badHeader";

/** What the generator knows besides the seed. */
export interface GenContext {
  seed: number;
  routes: readonly Route[];
  plausible: Plausible;
  /** Valid bodies and queries seen per route key (setup's requests, the probe's skeletons). */
  corpus: Map<string, { bodies: FuzzValue[]; queries: Record<string, string>[] }>;
  /** Field or query names the probe learned per route key from the server's error messages. */
  learned: Map<string, string[]>;
  /** `max_request_body` of the server, to send a few bodies just past it. */
  maxBody: number;
  /** Routes that end the caller's session when they succeed (the probe finds them). */
  tokenKillers: ReadonlySet<string>;
  /**
   * The user that admin routes act on: deactivating, locking or resetting the fixture's own
   * users would end the sessions the rest of the run needs.
   */
  adminTarget?: string;
}

/** Admin routes, whose `userId` parameter names the user they act on. */
const ADMIN_ROUTE = /^\/_synapse\/admin\/|^\/_matrix\/client\/v1\/admin\//;

/** The user an admin route acts on: the sacrificial one when there is one. */
export function adminTargetFor(
  routePath: string,
  paramName: string,
  adminTarget: string | undefined,
): string | null {
  if (!adminTarget || !ADMIN_ROUTE.test(routePath)) return null;
  return categoryOf(paramName) === "userId" ? adminTarget : null;
}

/** One concrete request (the token is filled in when it is sent). */
export interface FuzzRequest {
  index: number;
  route: Route;
  method: string;
  /** The request target as sent: encoded path and query (may hold raw bytes as latin1). */
  target: string;
  role: Role;
  /** Headers besides Authorization. */
  headers: Record<string, string>;
  body: Uint8Array | null;
  /** What was broken, for the report (e.g. `param roomId: long 3000`). */
  notes: string[];
}

const encoder = new TextEncoder();

/** Encodes a path or query value; lone surrogates become the bytes a sloppy client sends. */
function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // encodeURIComponent refuses lone surrogates: send their (invalid) UTF-8 bytes escaped.
    return value.split("").map((ch) => {
      const code = ch.charCodeAt(0);
      if (code >= 0xd800 && code <= 0xdfff) {
        return `%${(0xe0 | (code >> 12)).toString(16)}%${
          (0x80 | ((code >> 6) & 0x3f)).toString(16)
        }%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
      }
      return encodeURIComponent(ch);
    }).join("");
  }
}

/** Raw %-garbage and bytes that a percent-decoder must survive. */
const RAW_GARBAGE = [
  "%",
  "%zz",
  "%E0%A4%A",
  "%ED%A0%80",
  "%FF%FE",
  "%00",
  "a%2Fb",
  "%2e%2e",
  "%C0%AF",
];

/** A broken path parameter, already encoded for the target. */
function brokenParam(rng: Rng, ctx: GenContext): { text: string; note: string } {
  const kind = rng.weighted(
    [
      [4, "long"],
      [2, "edge"],
      [2, "wrong-kind"],
      [2, "raw-garbage"],
      [1, "empty"],
    ] as const,
  );
  switch (kind) {
    case "long": {
      const value = longString(rng);
      return { text: encodeComponent(value), note: `long ${value.length}` };
    }
    case "edge": {
      const value = edgeString(rng, ctx.plausible);
      return { text: encodeComponent(value), note: `edge ${JSON.stringify(value.slice(0, 40))}` };
    }
    case "wrong-kind": {
      const value = wrongKindId(rng, ctx.plausible);
      return { text: encodeComponent(value), note: `wrong-kind ${value.slice(0, 60)}` };
    }
    case "raw-garbage": {
      const text = rng.pick(RAW_GARBAGE) + (rng.chance(0.5) ? rng.string(3) : "");
      return { text, note: `raw ${text}` };
    }
    case "empty":
      return { text: "", note: "empty" };
  }
}

/** A query value: plausible for its key, or broken. */
function queryValue(rng: Rng, key: string, ctx: GenContext): { text: string; note?: string } {
  if (rng.chance(0.5)) return { text: encodeComponent(plausibleString(rng, key, ctx.plausible)) };
  const value = rng.weighted<() => string>([
    [3, () => rng.pick(["0", "-1", "1e309", "NaN", "Infinity", "99999999999999999999", "1.5"])],
    [2, () => edgeString(rng, ctx.plausible)],
    [1, () => rng.pick(["s1_2_3", "t12-34_5", "garbage", "0_0_0_0_0_0_0_0", "9".repeat(40)])],
    [1, () => toJsonText(randomValue(rng, ctx.plausible))],
    [1, () => rng.pick(['{"room":{"rooms":["\\ud800"]}}', '{"limit":-1}', "{", "[]"])],
  ])();
  return {
    text: encodeComponent(value),
    note: `query ${key}=${JSON.stringify(value.slice(0, 40))}`,
  };
}

/**
 * Long-polls wait as long as `timeout` says (sync caps it at minutes): a large one would look
 * like a hung request, so numeric timeouts are kept small. Non-numeric ones still go through.
 */
function tameTimeouts(key: string, text: string): string {
  if (!/timeout/i.test(key)) return text;
  let n = NaN;
  try {
    n = Number(decodeURIComponent(text));
  } catch { /* %-garbage is not a number */ }
  return Number.isFinite(n) && n > 1000 ? "500" : text;
}

/** Request number `index` of the run. */
export function generateRequest(ctx: GenContext, index: number): FuzzRequest {
  const rng = Rng.forRequest(ctx.seed, index);
  const route = rng.pick(ctx.routes);
  const notes: string[] = [];
  let role = rng.weighted<Role>([[45, "user"], [30, "admin"], [15, "none"], [6, "badToken"], [
    4,
    "badHeader",
  ]]);
  if (
    (role === "user" || role === "admin") && ctx.tokenKillers.has(route.key) && !rng.chance(0.03)
  ) {
    // Each session this route ends costs a new login (a password hash on the server).
    role = "badToken";
    notes.push("live token withheld (the route ends sessions)");
  }

  let method = route.method;
  if (rng.chance(0.02)) {
    method = rng.pick(["GET", "POST", "PUT", "DELETE", "PATCH"].filter((m) => m !== method));
    notes.push(`method ${method}`);
  }

  // Path: plausible parameters, usually with one of them broken.
  const broken = route.params.length > 0 && rng.chance(0.6)
    ? rng.int(0, route.params.length - 1)
    : -1;
  const values = route.params.map((param, i) => {
    if (i === broken || (broken >= 0 && rng.chance(0.05))) {
      const { text, note } = brokenParam(rng, ctx);
      notes.push(`param ${param.name}: ${note}`);
      return text;
    }
    const target = adminTargetFor(route.path, param.name, ctx.adminTarget);
    return encodeComponent(target ?? plausibleString(rng, param.name, ctx.plausible));
  });
  const path = "/" + route.segments.map((s) => typeof s === "number" ? values[s] : s).join("/");

  // Query: a valid one from setup, learned keys, and a few from the pool.
  const corpus = ctx.corpus.get(route.key);
  const query: [string, string][] = [];
  if (corpus?.queries.length && rng.chance(0.6)) {
    for (const [k, v] of Object.entries(rng.pick(corpus.queries))) {
      query.push([k, encodeComponent(v)]);
    }
  }
  const hasBody = method === "POST" || method === "PUT";
  if (!hasBody) {
    for (const key of ctx.learned.get(route.key) ?? []) {
      if (rng.chance(0.8)) {
        query.push([key, encodeComponent(plausibleString(rng, key, ctx.plausible))]);
      }
    }
  }
  for (let i = rng.weighted([[4, 0], [3, 1], [2, 2], [1, 3]]); i > 0; i--) {
    const key = rng.chance(0.9) ? rng.pick(QUERY_POOL) : rng.pick(["", "%zz", "a".repeat(300)]);
    const { text, note } = queryValue(rng, key, ctx);
    if (note) notes.push(note);
    const at = query.findIndex(([k]) => k === key);
    if (at >= 0) query.splice(at, 1);
    query.push([key, text]);
  }
  const queryText = query.map(([k, v]) => `${k}=${tameTimeouts(k, v)}`).join("&");
  const target = queryText ? `${path}?${queryText}` : path;

  // Body.
  let body: Uint8Array | null = null;
  const headers: Record<string, string> = {};
  if (hasBody || rng.chance(0.05)) {
    const bases = [...(corpus?.bodies ?? [])];
    const strategy = rng.weighted(
      [[bases.length ? 5 : 0, "mutate"], [2, "valid"], [3, "compose"], [3, "broken"]] as const,
    );
    if (strategy === "broken") {
      body = brokenBody(rng, ctx, notes);
    } else if (strategy === "valid" && bases.length) {
      body = encoder.encode(toJsonText(rng.pick(bases)));
    } else if (strategy === "mutate") {
      body = encoder.encode(toJsonText(mutateBody(rng, rng.pick(bases), ctx, notes)));
    } else {
      body = encoder.encode(toJsonText(composedBody(rng, route, ctx)));
      notes.push("body composed");
    }
    headers["Content-Type"] = rng.weighted([
      [17, "application/json"],
      [1, "text/plain"],
      [1, "multipart/form-data; boundary=x"],
      [1, "application/json; charset=utf-16"],
    ]);
  }
  return { index, route, method, target, role, headers, body, notes };
}

/** The Authorization header value of a role, given the live tokens. */
export function authorizationFor(
  request: FuzzRequest,
  tokens: { user: string; admin: string },
): string | null {
  switch (request.role) {
    case "user":
      return `Bearer ${tokens.user}`;
    case "admin":
      return `Bearer ${tokens.admin}`;
    case "none":
      return null;
    case "badToken":
      return `Bearer syt_${"x".repeat((request.index % 3) * 200 + 10)}`;
    case "badHeader":
      return [
        "Basic dXNlcjpwdw==",
        "Bearer",
        "Bearer a b",
        "bearer\t",
        "Bearer \u00e9",
      ][request.index % 5];
  }
}
