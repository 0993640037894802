/**
 * Countersigning an event another server built (server-server API "Inviting to a room": the
 * invited server adds its signature to the invite and returns it unchanged otherwise), and the
 * check the inviting server makes of what comes back.
 *
 * @module
 */

import { canonicalJson } from "../crypto/canonical_json.ts";
import { type SigningKey, signJson } from "../crypto/signing.ts";
import { redactPdu } from "./redaction.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { JsonObject, JsonValue, PduJson } from "./types.ts";

/**
 * Adds `origin`'s signature to a complete, already hashed PDU, keeping every signature it
 * has. Like any event signature it covers the redacted event; nothing else changes, so the
 * event ID and content hash stay what they were. For room versions 1-2 the PDU must carry
 * its `event_id`.
 *
 * @throws {import("../crypto/canonical_json.ts").CanonicalJsonError} when the PDU is not
 *   canonical JSON for the room version
 */
export async function addPduSignature(
  pdu: Readonly<Record<string, unknown>>,
  options: { rules: RoomVersionRules; origin: string; signingKey: SigningKey },
): Promise<PduJson> {
  const { rules } = options;
  const redacted = redactPdu(pdu as PduJson, rules);
  const signed = await signJson(redacted, options.origin, options.signingKey, {
    strict: rules.strictCanonicalJson,
  });
  return { ...pdu as PduJson, signatures: signed.signatures as unknown as JsonValue };
}

/**
 * Whether two PDUs are the same event apart from their signatures and `unsigned` (what a
 * countersigning server may change).
 */
export function samePduApartFromSignatures(a: PduJson, b: PduJson): boolean {
  const strip = (pdu: PduJson): JsonObject => {
    const { signatures: _s, unsigned: _u, ...rest } = pdu;
    return rest;
  };
  try {
    return canonicalJson(strip(a)) === canonicalJson(strip(b));
  } catch {
    return false;
  }
}
