/**
 * The checks a server makes of a PDU it receives, before the auth rules (server-server API,
 * "Checks performed on receipt of a PDU", steps 1-3): the format for the room version, the
 * signatures of the servers that must have signed it, and the content hash (an event whose
 * hash does not match is kept in its redacted form). Pure: public keys come from a lookup
 * the caller provides.
 *
 * @module
 */

import { computeContentHash } from "../crypto/hashes.ts";
import { verifyJsonSignature } from "../crypto/signing.ts";
import { parsePdu } from "./event_format.ts";
import { serverNameOf } from "./identifiers.ts";
import { redactPdu } from "./redaction.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { PduJson, RoomEvent } from "./types.ts";

/** A server's public key valid for an object signed at `atTs`, or null when there is none. */
export type KeyLookup = (
  serverName: string,
  keyId: string,
  atTs: number,
) => Promise<Uint8Array | null>;

/** The outcome of {@link checkPdu}. */
export type PduCheck =
  | {
    ok: true;
    event: RoomEvent;
    /** True when the content hash did not match and the event was redacted. */
    redacted: boolean;
  }
  | { ok: false; reason: string };

/**
 * The servers whose signatures a PDU needs: the sender's; for room versions 1-2 the server of
 * the event ID; for a restricted join, the server of `join_authorised_via_users_server`.
 */
export function requiredSigners(event: RoomEvent, rules: RoomVersionRules): string[] {
  const servers = new Set<string>();
  const sender = serverNameOf(event.sender);
  if (sender) servers.add(sender);
  if (rules.eventFormat === "v1") {
    const origin = serverNameOf(event.eventId);
    if (origin) servers.add(origin);
  }
  if (
    rules.restrictedJoins && event.type === "m.room.member" &&
    event.content.membership === "join"
  ) {
    const via = event.content.join_authorised_via_users_server;
    const server = typeof via === "string" ? serverNameOf(via) : undefined;
    if (server) servers.add(server);
  }
  return [...servers];
}

/**
 * Checks one signature per required server over the redacted event (any of the server's
 * keys valid at the event's `origin_server_ts` will do: room versions 5+ enforce key
 * validity, older ones accept any known key).
 */
export async function checkSignatures(
  event: RoomEvent,
  rules: RoomVersionRules,
  keys: KeyLookup,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  // Only encoded for the checks: the kept values need no copies.
  const redacted = redactPdu(event.pdu, rules, { share: true });
  if (rules.eventFormat === "v1") redacted.event_id = event.eventId;
  const signatures = event.pdu.signatures;
  const strict = { strict: rules.strictCanonicalJson };
  for (const server of requiredSigners(event, rules)) {
    const entry = typeof signatures === "object" && signatures !== null &&
        !Array.isArray(signatures)
      ? (signatures as Record<string, unknown>)[server]
      : undefined;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      return { ok: false, reason: `the event has no signature from ${server}` };
    }
    let verified = false;
    for (const keyId of Object.keys(entry).filter((k) => k.startsWith("ed25519:")).slice(0, 8)) {
      const atTs = rules.enforceKeyValidity ? event.originServerTs : 0;
      const key = await keys(server, keyId, atTs);
      if (!key) continue;
      if (await verifyJsonSignature(redacted, server, keyId, key, strict)) {
        verified = true;
        break;
      }
    }
    if (!verified) return { ok: false, reason: `no valid signature from ${server}` };
  }
  return { ok: true };
}

/**
 * Steps 1-3 of the checks on receipt of a PDU: format, signatures, content hash. `roomId`,
 * when given, is the room the PDU must belong to.
 */
export async function checkPdu(
  json: unknown,
  rules: RoomVersionRules,
  options: { keys: KeyLookup; roomId?: string },
): Promise<PduCheck> {
  const parsed = parsePdu(json, rules, options.roomId ? { roomId: options.roomId } : {});
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const event = parsed.event;
  const signed = await checkSignatures(event, rules, options.keys);
  if (!signed.ok) return signed;
  const hashes = event.pdu.hashes;
  const expected = typeof hashes === "object" && hashes !== null && !Array.isArray(hashes)
    ? (hashes as Record<string, unknown>).sha256
    : undefined;
  let actual: string;
  try {
    actual = computeContentHash(event.pdu, { strict: rules.strictCanonicalJson });
  } catch {
    return { ok: false, reason: "the event is not canonical JSON" };
  }
  if (actual === expected) return { ok: true, event, redacted: false };
  // The signatures held, so the event is genuine but its content was changed on the way:
  // keep the redacted form (spec: "the event is redacted before being processed further").
  const redactedPdu: PduJson = redactPdu(event.pdu, rules);
  if (rules.eventFormat === "v1") redactedPdu.event_id = event.eventId;
  const reparsed = parsePdu(redactedPdu, rules, options.roomId ? { roomId: options.roomId } : {});
  if (!reparsed.ok) return { ok: false, reason: reparsed.reason };
  return { ok: true, event: { ...reparsed.event, eventId: event.eventId }, redacted: true };
}
