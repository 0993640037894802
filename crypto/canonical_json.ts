/**
 * Canonical JSON, as the Matrix appendix "Signing JSON > Canonical JSON" defines it: the shortest
 * UTF-8 JSON encoding, with object keys sorted by Unicode code point, no insignificant
 * whitespace, and only `"`, `\` and the ASCII control characters escaped.
 *
 * Room versions 1-5 may carry numbers outside the spec's integer range (and, in the wild,
 * floats), so the number rules are only fully enforced with `strict: true`.
 *
 * @module
 */

/** Options for {@link canonicalJson} and {@link canonicalJsonBytes}. */
export interface CanonicalJsonOptions {
  /**
   * Enforce the spec's number rules: every number must be an integer in
   * `[-(2**53)+1, (2**53)-1]`. Room versions 6 and later require this. Without it, integers of
   * any size are printed in full and other finite numbers are printed as JavaScript prints them.
   */
  strict?: boolean;
}

/** Raised when a value cannot be encoded as canonical JSON. The message names the path. */
export class CanonicalJsonError extends Error {
  /** Matrix error code a request handler can send back as-is. */
  readonly code = "M_BAD_JSON";
  /** Where the offending value sits, e.g. `$.content.body` or `$.prev_events[2]`. */
  readonly path: string;

  /**
   * @param problem what is wrong with the value
   * @param path where the value sits, in `$.a.b[0]` notation
   */
  constructor(problem: string, path: string) {
    super(`${problem} at ${path}`);
    this.name = "CanonicalJsonError";
    this.path = path;
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // (2**53) - 1
// Control characters are the point of this pattern: they are what needs escaping.
// deno-lint-ignore no-control-regex
const ESCAPE_OR_SURROGATE = /["\\\u0000-\u001f\ud800-\udfff]/;
const SURROGATE = /[\ud800-\udfff]/;
const encoder = new TextEncoder();

/**
 * Encodes a JSON-compatible value as a canonical JSON string.
 *
 * Accepts `null`, booleans, finite numbers, strings without lone surrogates, arrays and plain
 * objects (prototype `Object.prototype` or `null`), nested arbitrarily but without cycles.
 *
 * @throws {CanonicalJsonError} on anything else: `undefined` (also as an object member or array
 *   element), functions, symbols, bigints, NaN and infinities, class instances such as `Date` or
 *   `Uint8Array`, sparse arrays, cycles, lone surrogates, and with `strict` any number that is not
 *   an integer within the spec's range.
 */
export function canonicalJson(value: unknown, options?: CanonicalJsonOptions): string {
  const strict = options?.strict === true;
  // The fast encoder covers the values events hold; on anything else (an invalid value, a
  // number outside the safe integers, escaped or surrogate keys, nesting deep enough to be a
  // cycle) the careful encoder runs, applies `strict`, and names the path of a problem.
  const fast = fastEncode(value, 0);
  if (fast !== undefined) return fast;
  const encoder = new Encoder(strict);
  encoder.write(value);
  return encoder.out.join("");
}

/**
 * Nesting beyond which the fast encoder hands over to the careful one (which detects cycles);
 * Matrix events nest a handful of levels.
 */
const FAST_MAX_DEPTH = 64;

/**
 * Canonical JSON by string concatenation, without path bookkeeping or cycle tracking:
 * undefined for whatever it leaves to the careful encoder (see {@link canonicalJson}).
 */
function fastEncode(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      if (!ESCAPE_OR_SURROGATE.test(value)) return `"${value}"`;
      return value.isWellFormed() ? JSON.stringify(value) : undefined;
    case "number":
      if (Number.isInteger(value) && value >= -MAX_SAFE && value <= MAX_SAFE) {
        return value === 0 ? "0" : String(value);
      }
      return undefined;
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (depth >= FAST_MAX_DEPTH) return undefined;
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) return undefined;
          const item = fastEncode(value[i], depth + 1);
          if (item === undefined) return undefined;
          out += i === 0 ? item : "," + item;
        }
        return out + "]";
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return undefined;
      if (Object.getOwnPropertySymbols(value).length > 0) return undefined;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      // Keys needing escapes or holding surrogates (which sort differently) are left to the
      // careful encoder; event keys never have them.
      for (let i = 0; i < keys.length; i++) if (ESCAPE_OR_SURROGATE.test(keys[i])) return undefined;
      keys.sort();
      let out = "{";
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const name = `"${key}"`;
        const item = fastEncode(record[key], depth + 1);
        if (item === undefined) return undefined;
        out += (i === 0 ? name : "," + name) + ":" + item;
      }
      return out + "}";
    }
    default:
      return undefined;
  }
}

/** Like {@link canonicalJson}, but returns the UTF-8 bytes that get hashed or signed. */
export function canonicalJsonBytes(value: unknown, options?: CanonicalJsonOptions): Uint8Array {
  return encoder.encode(canonicalJson(value, options));
}

/**
 * Compares two strings by Unicode code point, the order canonical JSON sorts keys in.
 * JavaScript's default comparison uses UTF-16 code units, which puts astral characters
 * (surrogate pairs, U+D800-U+DFFF) before BMP characters in U+E000-U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800-DFFF) sort above E000-FFFF in code point order: shift them up and the
    // E000-FFFF block down. The first differing unit decides for well-formed strings.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

class Encoder {
  readonly out: string[] = [];
  readonly #strict: boolean;
  readonly #path: (string | number)[] = [];
  readonly #open = new Set<object>();

  constructor(strict: boolean) {
    this.#strict = strict;
  }

  write(value: unknown): void {
    switch (typeof value) {
      case "string":
        this.out.push(this.#string(value));
        return;
      case "number":
        this.out.push(this.#number(value));
        return;
      case "boolean":
        this.out.push(value ? "true" : "false");
        return;
      case "object":
        if (value === null) this.out.push("null");
        else if (Array.isArray(value)) this.#array(value);
        else this.#object(value);
        return;
      default:
        this.#fail(`${typeof value} is not a JSON value`);
    }
  }

  #array(array: unknown[]): void {
    this.#enter(array);
    this.out.push("[");
    for (let i = 0; i < array.length; i++) {
      if (i > 0) this.out.push(",");
      this.#path.push(i);
      if (!(i in array)) this.#fail("sparse array hole is not a JSON value");
      this.write(array[i]);
      this.#path.pop();
    }
    this.out.push("]");
    this.#open.delete(array);
  }

  #object(object: object): void {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      const name = (object.constructor as { name?: string } | undefined)?.name ?? "unknown";
      this.#fail(`${name} instance is not a plain JSON object`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) {
      this.#fail("object has symbol keys");
    }
    this.#enter(object);
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record);
    // Native sort is code-unit order, which equals code-point order unless a key has a
    // surrogate; only then pay for the slower comparator.
    if (keys.some((k) => SURROGATE.test(k))) keys.sort(compareCodePoints);
    else keys.sort();
    this.out.push("{");
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (i > 0) this.out.push(",");
      this.#path.push(key);
      this.out.push(this.#string(key), ":");
      this.write(record[key]);
      this.#path.pop();
    }
    this.out.push("}");
    this.#open.delete(object);
  }

  #enter(container: object): void {
    if (this.#open.has(container)) this.#fail("cyclic reference");
    this.#open.add(container);
  }

  #string(value: string): string {
    if (!ESCAPE_OR_SURROGATE.test(value)) return `"${value}"`;
    if (!value.isWellFormed()) this.#fail("string contains a lone surrogate");
    // For well-formed strings JSON.stringify emits exactly the spec's grammar: `"` and `\`
    // escaped, \b \f \n \r \t shortcuts, \u00xx (lowercase hex) for other controls, and every
    // other character raw.
    return JSON.stringify(value);
  }

  #number(value: number): string {
    if (!Number.isFinite(value)) this.#fail(`${value} is not a JSON number`);
    if (Number.isInteger(value)) {
      if (value >= -MAX_SAFE && value <= MAX_SAFE) return value === 0 ? "0" : String(value);
      if (this.#strict) this.#fail(`integer ${value} is outside [-(2**53)+1, (2**53)-1]`);
      // Print big integers in full rather than with an exponent (String(1e21) is "1e+21").
      return BigInt(value).toString();
    }
    if (this.#strict) this.#fail(`${value} is not an integer`);
    return String(value);
  }

  #fail(problem: string): never {
    throw new CanonicalJsonError(problem, formatPath(this.#path));
  }
}

function formatPath(path: (string | number)[]): string {
  let text = "$";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) text += `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}
