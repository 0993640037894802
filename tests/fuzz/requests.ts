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
  cloneValue,
  deepJson,
  edgeNumber,
  edgeString,
  FIELD_POOL,
  type FuzzValue,
  longString,
  type Plausible,
  plausibleString,
  plausibleValue,
  PROTOTYPE_KEYS,
  QUERY_POOL,
  randomValue,
  RawJson,
  setField,
  toJsonText,
  wrongKindId,
} from "./values.ts";

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

/** Picks a value inside an object or array to replace, returning the container and key. */
function pickSlot(
  rng: Rng,
  root: FuzzValue,
): { holder: Record<string, FuzzValue>; key: string } | null {
  const slots: { holder: Record<string, FuzzValue>; key: string }[] = [];
  const walk = (value: FuzzValue, depth: number) => {
    if (depth > 6 || value === null || typeof value !== "object" || value instanceof RawJson) {
      return;
    }
    const holder = value as Record<string, FuzzValue>;
    for (const key of Object.keys(holder)) {
      slots.push({ holder, key });
      walk(holder[key], depth + 1);
    }
  };
  walk(root, 0);
  return slots.length > 0 ? rng.pick(slots) : null;
}

type JsonType = "null" | "boolean" | "number" | "string" | "array" | "object";

function jsonTypeOf(value: FuzzValue): JsonType {
  if (value === null) return "null";
  if (value instanceof RawJson) return "number";
  if (Array.isArray(value)) return "array";
  return typeof value as JsonType;
}

/** A value of the given JSON type, at its edges. */
function valueOfType(rng: Rng, type: JsonType, ctx: GenContext): FuzzValue {
  switch (type) {
    case "null":
      return null;
    case "boolean":
      return rng.chance(0.5);
    case "number":
      return edgeNumber(rng);
    case "string":
      return edgeString(rng, ctx.plausible);
    case "array":
      return Array.from({ length: rng.int(0, 3) }, () => randomValue(rng, ctx.plausible, 1));
    case "object": {
      const out: Record<string, FuzzValue> = {};
      for (let i = rng.int(0, 3); i > 0; i--) {
        // Keys JavaScript gives meaning to: `{"toString": 1}` cannot even become a string.
        const key = rng.chance(0.2) ? rng.pick(PROTOTYPE_KEYS) : rng.pick(FIELD_POOL);
        setField(out, key, randomValue(rng, ctx.plausible, 1));
      }
      return out;
    }
  }
}

/** A new value for a field: of another JSON type (half the time), or of its own at the edges. */
function replacement(
  rng: Rng,
  old: FuzzValue,
  key: string,
  ctx: GenContext,
): { value: FuzzValue; note: string } {
  const type = jsonTypeOf(old);
  if (type === "string" && rng.chance(0.3)) {
    // Another real value of the kind the name asks for (another room, user, session...).
    return { value: plausibleString(rng, key, ctx.plausible), note: "real" };
  }
  if (rng.chance(0.5)) {
    const others = (["null", "boolean", "number", "string", "array", "object"] as const)
      .filter((t) => t !== type);
    const wrong = rng.pick(others);
    return { value: valueOfType(rng, wrong, ctx), note: `${type}->${wrong}` };
  }
  return { value: valueOfType(rng, type, ctx), note: `edge ${type}` };
}

/** A variant of an identifier-like string: `@a:b` becomes `@a7:b`, `x` becomes `x7`. */
function variant(text: string, i: number): string {
  const match = /^([@!$#+]?)([^:]*)(:[\s\S]*)?$/.exec(text);
  return match ? `${match[1]}${match[2]}${i}${match[3] ?? ""}` : `${text}${i}`;
}

/**
 * The same list or map, much longer: batched reads and writes must respect storage limits
 * (Deno KV reads at most 10 ranges at once and commits at most 1000 mutations), whatever the
 * number of users, devices or keys a request names. Null for a value that is neither.
 */
function widen(rng: Rng, value: FuzzValue): FuzzValue | null {
  // Up to a little more than the default body limit: both sides of it are worth a request.
  const itemBytes = toJsonText(value).length + 16;
  const n = Math.min(rng.pick([11, 101, 1001, 20_000]), Math.ceil(1_200_000 / itemBytes));
  if (Array.isArray(value)) {
    const base: FuzzValue[] = value.length > 0 ? value : ["x"];
    return Array.from({ length: n }, (_, i) => {
      const item = base[i % base.length];
      return typeof item === "string" ? variant(item, i) : item;
    });
  }
  if (value === null || typeof value !== "object" || value instanceof RawJson) return null;
  const entries = Object.entries(value);
  if (entries.length === 0) return null;
  const out: Record<string, FuzzValue> = {};
  for (let i = 0; i < n; i++) {
    const [k, v] = entries[i % entries.length];
    setField(out, i < entries.length ? k : variant(k, i), v);
  }
  return out;
}

/** Breaks one to three fields of a valid body. */
function mutateBody(rng: Rng, base: FuzzValue, ctx: GenContext, notes: string[]): FuzzValue {
  const body = cloneValue(base);
  for (let round = rng.int(1, 3); round > 0; round--) {
    const slot = pickSlot(rng, body);
    const action = slot
      ? rng.weighted(
        [[5, "replace"], [1, "delete"], [2, "add"], [1, "deep"], [1, "surrogate"], [
          2,
          "wide",
        ]] as const,
      )
      : "add";
    if (action === "add" || !slot) {
      const target =
        slot && typeof slot.holder[slot.key] === "object" && slot.holder[slot.key] !== null &&
          !(slot.holder[slot.key] instanceof RawJson) && !Array.isArray(slot.holder[slot.key])
          ? slot.holder[slot.key] as Record<string, FuzzValue>
          : body as Record<string, FuzzValue>;
      if (target === null || typeof target !== "object" || Array.isArray(target)) continue;
      const key = rng.chance(0.8) ? rng.pick(FIELD_POOL) : edgeString(rng, ctx.plausible);
      setField(
        target,
        key,
        rng.chance(0.4) ? plausibleValue(rng, key, ctx.plausible) : randomValue(rng, ctx.plausible),
      );
      notes.push(`body add ${JSON.stringify(key.slice(0, 40))}`);
      continue;
    }
    const { holder, key } = slot;
    if (action === "delete") {
      delete holder[key];
      notes.push(`body delete ${key}`);
    } else if (action === "deep") {
      holder[key] = deepJson(rng);
      notes.push(`body deep ${key}`);
    } else if (action === "wide" && widen(rng, holder[key]) !== null) {
      // The last change: its entries share values, which a later change would multiply.
      const wide = widen(rng, holder[key])!;
      holder[key] = wide;
      const size = Array.isArray(wide) ? wide.length : Object.keys(wide as object).length;
      notes.push(`body wide ${key} (${size} entries)`);
      break;
    } else if (action === "surrogate") {
      holder[key] = rng.pick(["\ud800", "a\udfffb", "\ud83d"]);
      notes.push(`body lone-surrogate ${key}`);
    } else {
      const { value, note } = replacement(rng, holder[key], key, ctx);
      holder[key] = value;
      notes.push(`body ${note} ${key}`);
    }
  }
  return body;
}

/** A body made from field names (learned ones first) with plausible or random values. */
function composedBody(rng: Rng, route: Route, ctx: GenContext): FuzzValue {
  const names = [...(ctx.learned.get(route.key) ?? []), ...FIELD_POOL];
  const out: Record<string, FuzzValue> = {};
  for (let i = rng.int(1, 5); i > 0; i--) {
    const key = rng.chance(0.5) && ctx.learned.get(route.key)?.length
      ? rng.pick(ctx.learned.get(route.key)!)
      : rng.pick(names);
    setField(
      out,
      key,
      rng.chance(0.5) ? plausibleValue(rng, key, ctx.plausible) : randomValue(rng, ctx.plausible),
    );
  }
  return out;
}

/** A body broken as a whole: not JSON, not an object, too deep, too big, bad UTF-8. */
function brokenBody(rng: Rng, ctx: GenContext, notes: string[]): Uint8Array {
  const kind = rng.weighted(
    [
      [3, "deep"],
      [2, "not-json"],
      [2, "not-object"],
      [1, "empty"],
      [1, "bad-utf8"],
      [1, "surrogate-key"],
      [1, "long-string"],
      [1, "huge-number"],
      [0.3, "too-large"],
    ] as const,
  );
  notes.push(`body ${kind}`);
  switch (kind) {
    case "deep":
      return encoder.encode(deepJson(rng).text);
    case "not-json":
      return encoder.encode(
        rng.pick(["{", "not json", "{'a':1}", '{"a":1,}', "\u0000", "[1,2", "{}{}"]),
      );
    case "not-object":
      return encoder.encode(rng.pick(["[]", '"text"', "1", "null", "true", "[{}]"]));
    case "empty":
      return new Uint8Array(0);
    case "bad-utf8":
      return new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]);
    case "surrogate-key":
      return encoder.encode('{"\\ud800":1,"type":"\\udc00","content":{"body":"\\ud800"}}');
    case "long-string":
      return encoder.encode(toJsonText({ [rng.pick(FIELD_POOL)]: longString(rng) }));
    case "huge-number":
      return encoder.encode(
        `{"${rng.pick(FIELD_POOL)}":${rng.pick(["1e400", "-1e400", "1".repeat(400)])}}`,
      );
    case "too-large":
      return encoder.encode(`{"a":"${"x".repeat(ctx.maxBody + 10)}"}`);
  }
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
    return encodeComponent(plausibleString(rng, param.name, ctx.plausible));
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
