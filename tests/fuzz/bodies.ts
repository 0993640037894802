/**
 * Request bodies for the fuzzer: a valid body with one to three fields broken (another JSON
 * type, an edge value, another real identifier, deleted, added, nested 5000 deep, a lone
 * surrogate, a list or map widened past storage batch limits), a body composed from field
 * names, or a body broken as a whole.
 *
 * @module
 */

import type { Rng } from "./rng.ts";
import type { Route } from "./routes.ts";
import type { GenContext } from "./requests.ts";
import {
  cloneValue,
  deepJson,
  edgeNumber,
  edgeString,
  FIELD_POOL,
  type FuzzValue,
  longString,
  plausibleString,
  plausibleValue,
  PROTOTYPE_KEYS,
  randomValue,
  RawJson,
  setField,
  toJsonText,
} from "./values.ts";

const encoder = new TextEncoder();

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
export function mutateBody(rng: Rng, base: FuzzValue, ctx: GenContext, notes: string[]): FuzzValue {
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
export function composedBody(rng: Rng, route: Route, ctx: GenContext): FuzzValue {
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
export function brokenBody(rng: Rng, ctx: GenContext, notes: string[]): Uint8Array {
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
