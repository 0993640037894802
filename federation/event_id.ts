/**
 * Event IDs per room version: carried in `event_id` (v1, v2), or derived from the reference
 * hash as `$` + unpadded Base64 (v3) or URL-safe unpadded Base64 (v4+). Room version 12
 * derives the room ID from the create event the same way, with the `!` sigil.
 *
 * @module
 */

import { encodeBase64, encodeBase64Url } from "../crypto/base64.ts";
import { referenceHash } from "../crypto/hashes.ts";
import { isValidEventId } from "./identifiers.ts";
import { redactPdu } from "./redaction.ts";
import { ROOM_VERSIONS, type RoomVersionRules } from "./room_versions.ts";
import type { PduJson } from "./types.ts";

/** Raised when an event ID cannot be determined from a PDU. */
export class EventIdError extends Error {
  /** Matrix error code a request handler can send back as-is. */
  readonly code = "M_BAD_JSON";

  /** @param message what is wrong with the PDU */
  constructor(message: string) {
    super(message);
    this.name = "EventIdError";
  }
}

/**
 * The event ID of a PDU under `rules`. Room versions 1-2: the PDU's own `event_id`, which must
 * be a valid `$opaque:server` ID. Room versions 3+: the reference hash of the PDU (any
 * `event_id` it carries is ignored), with strict canonical JSON from version 6.
 *
 * @throws {EventIdError} for a missing or malformed `event_id` in room versions 1-2
 * @throws {import("../crypto/canonical_json.ts").CanonicalJsonError} if the redacted PDU is
 *   not canonical JSON for the room version
 */
export function computeEventId(pdu: PduJson, rules: RoomVersionRules): string {
  if (rules.eventIdFormat === "v1") {
    const eventId = pdu.event_id;
    if (typeof eventId !== "string") {
      throw new EventIdError(`room version ${rules.id} events must carry an event_id string`);
    }
    if (!isValidEventId(eventId, { format: "v1" })) {
      throw new EventIdError(
        `event_id ${JSON.stringify(eventId)} is not a valid $opaque_id:server_name event ID`,
      );
    }
    return eventId;
  }
  return eventIdFromReferenceHash(hashOf(pdu, rules), rules);
}

/** The event ID (room versions 3 and later) that a reference hash gives. */
export function eventIdFromReferenceHash(hash: Uint8Array, rules: RoomVersionRules): string {
  return "$" + (rules.eventIdFormat === "v3" ? encodeBase64(hash) : encodeBase64Url(hash));
}

/**
 * The room ID of a room version 12 room: `!` + URL-safe unpadded Base64 of the reference hash
 * of its `m.room.create` event (that event's ID with `!` for `$`). The create event has no
 * `room_id`; one present here is hashed as given, so the caller must reject it first.
 *
 * @throws {import("../crypto/canonical_json.ts").CanonicalJsonError} if the create event is
 *   not strict canonical JSON
 */
export function computeRoomIdV12(createPdu: PduJson): string {
  return "!" + encodeBase64Url(hashOf(createPdu, V12));
}

const V12 = ROOM_VERSIONS.get("12")!;

/** Reference hash of the PDU without `event_id` (v3+ events never hash one). */
function hashOf(pdu: PduJson, rules: RoomVersionRules): Uint8Array {
  const { event_id: _eventId, ...withoutId } = pdu;
  return referenceHash(redactPdu(withoutId, rules, { share: true }), {
    strict: rules.strictCanonicalJson,
  });
}
