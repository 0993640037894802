/**
 * Request body reading with a size limit enforced while streaming, and small validators that
 * turn an untrusted JSON object into typed fields with the spec's error codes.
 *
 * @module
 */

import { badJson, notJson, tooLarge } from "./errors.ts";

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
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw notJson("Request body is not valid UTF-8");
  }
  if (text.trim() === "" && options.allowEmpty) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw notJson("Request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw notJson("Request body must be a JSON object");
  }
  return value as JsonObject;
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
