/**
 * Stored filters (`POST /user/{userId}/filter`). A filter's ID is derived from its canonical
 * JSON, so a client that uploads the same filter at every start gets the same ID back and the
 * store does not grow.
 *
 * Key: `["filter", userId, filterId]` -> the filter JSON as uploaded (validated).
 *
 * @module
 */

import { canonicalJson } from "../../crypto/canonical_json.ts";
import { encodeBase64Url } from "../../crypto/base64.ts";
import { sha256 } from "../../crypto/hashes.ts";
import { MatrixError } from "../errors.ts";

/** The largest filter we store, in bytes of canonical JSON (a KV value holds 64 KiB). */
export const MAX_FILTER_BYTES = 32 * 1024;

/** Key builders of the filter store. */
export const filterKeys = {
  filter: (userId: string, filterId: string): Deno.KvKey => ["filter", userId, filterId],
} as const;

/**
 * Stores a (validated) filter and returns its ID.
 *
 * @throws {MatrixError} 413 M_TOO_LARGE for filters above {@link MAX_FILTER_BYTES}
 */
export async function saveFilter(
  kv: Deno.Kv,
  userId: string,
  filter: Record<string, unknown>,
): Promise<string> {
  const text = canonicalJson(filter);
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength > MAX_FILTER_BYTES) {
    throw new MatrixError("M_TOO_LARGE", `A filter may be at most ${MAX_FILTER_BYTES} bytes`, {
      status: 413,
    });
  }
  const filterId = encodeBase64Url(sha256(bytes).subarray(0, 12));
  const key = filterKeys.filter(userId, filterId);
  if ((await kv.get(key)).versionstamp === null) await kv.set(key, JSON.parse(text));
  return filterId;
}

/** Loads a stored filter, or null when the user has no filter with that ID. */
export async function loadFilter(
  kv: Deno.Kv,
  userId: string,
  filterId: string,
): Promise<Record<string, unknown> | null> {
  if (filterId.length > 64) return null;
  return (await kv.get<Record<string, unknown>>(filterKeys.filter(userId, filterId))).value;
}
