/**
 * Request body reading with a size limit enforced while streaming, and small validators that
 * turn an untrusted JSON object into typed fields with the spec's error codes.
 *
 * @module
 */

import {
  isValidRoomAlias,
  isValidRoomId,
  isValidUserId,
  MAX_IDENTIFIER_BYTES,
  utf8ByteLength,
} from "../federation/identifiers.ts";
import { badJson, invalidParam, notJson, tooLarge } from "./errors.ts";

/** Decodes whole bodies (no streaming state carries over between calls). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A parsed JSON object from a request body. */
export type JsonObject = Record<string, unknown>;

/**
 * Reads the body of `request` as bytes, failing with 413 M_TOO_LARGE as soon as more than
 * `maxBytes` arrive (an honest `Content-Length` is rejected before reading anything).
 */
export async function readBodyBytes(
  request: Request,
  options: { maxBytes: number },
): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > options.maxBytes) {
    throw tooLarge(options.maxBytes);
  }
  if (!request.body) return new Uint8Array(0);
  if (
    declared !== null && /^\d+$/.test(declared) && !request.headers.has("transfer-encoding")
  ) {
    // A declared length within the limit bounds what the server reads: collected natively in
    // one call (a stream reader in JavaScript costs more than the rest of a small request).
    // With a transfer coding the length would not bound the body: counted below instead.
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > options.maxBytes) throw tooLarge(options.maxBytes);
    return bytes;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > options.maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(options.maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Reads the body as a JSON object. An empty body counts as `{}` only when `allowEmpty` is set
 * (some endpoints, like `/logout`, take no body).
 *
 * @throws {MatrixError} M_TOO_LARGE, or M_NOT_JSON when the body is not a JSON object
 */
export async function readJsonObject(
  request: Request,
  options: { maxBytes: number; allowEmpty?: boolean },
): Promise<JsonObject> {
  const bytes = await readBodyBytes(request, options);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw notJson("Request body is not valid UTF-8");
  }
  if (text.trim() === "" && options.allowEmpty) return {};
  const value = parseJsonText(text, "Request body");
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw notJson("Request body must be a JSON object");
  }
  return value as JsonObject;
}

/**
 * The deepest nesting of objects and arrays accepted in a request (a body, or JSON in a query
 * parameter such as a sync filter). Matrix events are at most 64 KiB and no spec structure
 * nests anywhere near this deep; every later step (canonical JSON, redaction, storage) walks
 * values recursively, so refusing depth here keeps them off the end of the stack.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Parses JSON text from a client and checks it as every later step needs it: valid syntax,
 * nesting at most {@link MAX_JSON_DEPTH}, no lone surrogate (`"\ud800"`) in any string or key
 * (such a string has no UTF-8 form and cannot be signed, hashed or sent on), and no number that
 * overflows to infinity (`1e400`).
 *
 * @param what names the input in error messages, e.g. "Request body" or "The filter"
 * @throws {MatrixError} M_NOT_JSON for bad syntax, M_BAD_JSON for depth, lone surrogates or
 *   infinite numbers
 */
export function parseJsonText(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw notJson(`${what} is not valid JSON`);
  }
  checkJsonValue(value, what);
  return value;
}

/**
 * Checks a parsed JSON value without recursion (the check must not itself overflow the stack on
 * the input it exists to refuse).
 *
 * @throws {MatrixError} M_BAD_JSON for nesting beyond {@link MAX_JSON_DEPTH}, a lone surrogate or
 *   a number beyond the double range
 */
export function checkJsonValue(value: unknown, what: string): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: item, depth } = stack.pop()!;
    if (typeof item === "string") {
      if (!item.isWellFormed()) throw badJson(`${what} holds a string with a lone surrogate`);
      continue;
    }
    if (typeof item === "number") {
      // JSON.parse turns 1e400 into Infinity, which no JSON encoder can write back.
      if (!Number.isFinite(item)) throw badJson(`${what} holds a number too large for JSON`);
      continue;
    }
    if (typeof item !== "object" || item === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw badJson(`${what} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(item)) {
      for (const child of item) stack.push({ value: child, depth: depth + 1 });
      continue;
    }
    for (const [key, child] of Object.entries(item)) {
      if (!key.isWellFormed()) throw badJson(`${what} holds a key with a lone surrogate`);
      stack.push({ value: child, depth: depth + 1 });
    }
  }
}

/** The UTF-8 length of a string in bytes. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

/** Options for string fields. */
export interface StringFieldOptions {
  /** Largest allowed UTF-8 length in bytes. */
  maxBytes?: number;
}

/** Reads an optional string field; absent or null gives undefined. */
export function optionalString(
  body: JsonObject,
  key: string,
  options: StringFieldOptions = {},
): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badJson(`'${key}' must be a string`);
  if (options.maxBytes !== undefined && utf8Length(value) > options.maxBytes) {
    throw badJson(`'${key}' must be at most ${options.maxBytes} bytes`);
  }
  return value;
}

/** Reads a required string field. */
export function requiredString(
  body: JsonObject,
  key: string,
  options: StringFieldOptions = {},
): string {
  const value = optionalString(body, key, options);
  if (value === undefined) throw badJson(`'${key}' is required`);
  return value;
}

/** Reads an optional boolean field. */
export function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw badJson(`'${key}' must be true or false`);
  return value;
}

/** Reads an optional JSON object field. */
export function optionalObject(body: JsonObject, key: string): JsonObject | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw badJson(`'${key}' must be a JSON object`);
  }
  return value as JsonObject;
}

/** Reads an optional array of strings. */
export function optionalStringArray(
  body: JsonObject,
  key: string,
  options: StringFieldOptions & { maxItems?: number } = {},
): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw badJson(`'${key}' must be an array of strings`);
  }
  if (options.maxItems !== undefined && value.length > options.maxItems) {
    throw badJson(`'${key}' may have at most ${options.maxItems} entries`);
  }
  if (options.maxBytes !== undefined) {
    for (const item of value) {
      if (utf8Length(item) > options.maxBytes) {
        throw badJson(`entries of '${key}' must be at most ${options.maxBytes} bytes`);
      }
    }
  }
  return value as string[];
}

/**
 * True for a `$`-sigilled string of at most 255 bytes without control characters. Event IDs
 * that clients send are looked up, never parsed: one that is well formed in this sense but
 * names no event is a 404, as on other servers, and the room version's exact grammar is the
 * event pipeline's business.
 */
export function isEventIdShaped(value: string): boolean {
  if (!value.startsWith("$") || value.length < 2) return false;
  const bytes = utf8ByteLength(value);
  // deno-lint-ignore no-control-regex
  return bytes > 0 && bytes <= MAX_IDENTIFIER_BYTES && !/[\u0000-\u001f\u007f]/.test(value);
}

/** The identifier kinds a body field can be checked against (spec appendix grammar). */
export type IdentifierKind = "user ID" | "room ID" | "event ID" | "room alias";

const IDENTIFIER_CHECKS: Record<IdentifierKind, (value: string) => boolean> = {
  // Other servers' users may have historical localparts, so the broad grammar applies.
  "user ID": (value) => isValidUserId(value, { historical: true }),
  "room ID": (value) => isValidRoomId(value),
  "event ID": isEventIdShaped,
  "room alias": isValidRoomAlias,
};

/**
 * Checks a string against an identifier grammar (255 bytes at most).
 *
 * @param label names the value in the error message, e.g. `'user_id'`
 * @throws {MatrixError} 400 M_INVALID_PARAM when it does not match
 */
export function checkIdentifier(value: string, kind: IdentifierKind, label: string): string {
  if (!IDENTIFIER_CHECKS[kind](value)) {
    const shown = value.length <= 64 ? value : `${value.slice(0, 48)}...`;
    throw invalidParam(`${label} ('${shown}') is not a valid ${kind}`);
  }
  return value;
}

/** Reads an optional identifier field; absent or null gives undefined. */
export function optionalIdentifier(
  body: JsonObject,
  key: string,
  kind: IdentifierKind,
): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw badJson(`'${key}' must be a ${kind}`);
  return checkIdentifier(value, kind, `'${key}'`);
}

/** Reads a required identifier field. */
export function requiredIdentifier(body: JsonObject, key: string, kind: IdentifierKind): string {
  const value = optionalIdentifier(body, key, kind);
  if (value === undefined) throw badJson(`'${key}' is required (a ${kind})`);
  return value;
}
