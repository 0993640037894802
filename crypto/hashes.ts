/**
 * SHA-256 and the two event hashes of the Server-Server API ("Signing Events"): the content
 * hash, which covers the full unredacted event, and the reference hash, which covers the
 * redacted event and names events in room versions 3 and later.
 *
 * Everything here is synchronous: the room engine computes event IDs inline.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { encodeBase64 } from "./base64.ts";
import { canonicalJsonBytes, type CanonicalJsonOptions } from "./canonical_json.ts";

/** Returns the SHA-256 digest (32 bytes) of `bytes`, computed synchronously. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const digest = createHash("sha256").update(bytes).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/**
 * Computes an event's content hash ("Calculating the content hash for an event"): the event
 * without `unsigned`, `signatures` and `hashes`, as canonical JSON, hashed with SHA-256 and
 * encoded as unpadded Base64. This is the value stored in `hashes.sha256`.
 *
 * @param pdu the full, unredacted event; it is not modified
 * @param options `strict: true` for room versions whose canonical JSON forbids
 *   out-of-range integers (6 and later)
 * @throws {import("./canonical_json.ts").CanonicalJsonError} if the event is not canonical JSON
 */
export function computeContentHash(
  pdu: Record<string, unknown>,
  options?: CanonicalJsonOptions,
): string {
  const { unsigned: _unsigned, signatures: _signatures, hashes: _hashes, ...rest } = pdu;
  return encodeBase64(sha256(canonicalJsonBytes(rest, options)));
}

/**
 * Computes an event's reference hash ("Calculating the reference hash for an event"): SHA-256
 * of the canonical JSON of the redacted event with `signatures` and `unsigned` removed.
 *
 * The caller must redact first (redaction depends on the room version and lives in
 * federation/); the spec removes nothing else here, so any `event_id` the redacted event
 * still carries (room versions 1 and 2, which do not derive event IDs from this hash) is
 * hashed as given. Room versions 3 and later encode the result as `$` + Base64 (v3) or
 * `$` + URL-safe Base64 (v4+).
 *
 * @param redactedPdu the event after the room version's redaction algorithm; not modified
 * @param options `strict: true` for room versions 6 and later
 * @throws {import("./canonical_json.ts").CanonicalJsonError} if the event is not canonical JSON
 */
export function referenceHash(
  redactedPdu: Record<string, unknown>,
  options?: CanonicalJsonOptions,
): Uint8Array {
  const { unsigned: _unsigned, signatures: _signatures, ...rest } = redactedPdu;
  return sha256(canonicalJsonBytes(rest, options));
}
