/**
 * Validates a PDU's wire shape for its room version (the `pdu_v1`, `pdu_v3`, `pdu_v4`,
 * `pdu_v6`, `pdu_v11` and `pdu_v12` definitions, the event size limits and the identifier
 * grammar) and turns it into a {@link RoomEvent} with its event ID. This is step 1 of the
 * checks on receipt of a PDU: an event that fails here is dropped, not rejected. Signatures,
 * hashes and auth rules are checked elsewhere.
 *
 * @module
 */

import { canonicalJsonBytes } from "../crypto/canonical_json.ts";
import { computeEventId, computeRoomIdV12 } from "./event_id.ts";
import { isValidEventId, isValidRoomId, isValidUserId, utf8ByteLength } from "./identifiers.ts";
import { cloneJson, isJsonObject } from "./redaction.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { JsonObject, JsonValue, PduJson, RoomEvent } from "./types.ts";

/** The outcome of {@link parsePdu}: the parsed event, or why the PDU is not valid. */
export type ParseResult = { ok: true; event: RoomEvent } | { ok: false; reason: string };

/** Options for {@link parsePdu}. */
export interface ParsePduOptions {
  /** The room the PDU is expected to belong to; a PDU for another room is refused. */
  readonly roomId?: string;
}

/** The largest PDU, in bytes of canonical JSON including signatures (client-server "Size limits"). */
export const MAX_PDU_BYTES = 65536;
/** The most `prev_events` a PDU may list. */
export const MAX_PREV_EVENTS = 20;
/** The most `auth_events` a PDU may list. */
export const MAX_AUTH_EVENTS = 10;
/** The largest `type` and `state_key`, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 255;
/** The largest `depth` in room versions 1-5 (2^63 - 1, as far as a JSON number can say it). */
export const MAX_DEPTH_V1 = 2 ** 63 - 1;
/** The largest `depth` from room version 6, where canonical JSON limits integers to 2^53 - 1. */
export const MAX_DEPTH_V6 = Number.MAX_SAFE_INTEGER;

/** A reason the PDU is malformed; thrown inside this module and returned as a ParseResult. */
class PduFormatError extends Error {
  readonly code = "M_BAD_JSON";

  constructor(message: string) {
    super(message);
    this.name = "PduFormatError";
  }
}

/**
 * Parses and validates a PDU received for a room of version `rules`. Returns the RoomEvent
 * (event ID computed; `pdu` is a copy of the wire form, without `event_id` for v3+), or a
 * sentence naming the offending field. The input is not modified.
 */
export function parsePdu(
  json: unknown,
  rules: RoomVersionRules,
  options: ParsePduOptions = {},
): ParseResult {
  try {
    return { ok: true, event: parseOrThrow(json, rules, options) };
  } catch (error) {
    if (error instanceof PduFormatError) return { ok: false, reason: error.message };
    throw error;
  }
}

/**
 * What a server that has just hashed and signed an event already knows of it (see
 * {@link parseBuiltPdu}): its size as canonical JSON and, for room versions 3 and later, its
 * event ID, computed from the very bytes it signed.
 */
export interface BuiltPduFacts {
  /** Bytes of the whole signed event as canonical JSON. */
  readonly canonicalBytes: number;
  /** The event ID (its reference hash); omitted to have it computed. */
  readonly eventId?: string;
}

/**
 * {@link parsePdu} for an event this server has just built, hashed and signed: every check
 * runs, but the canonical encoding of the whole event and the reference hash are not computed
 * again. Only for the builder's own output (`federation/build_event.ts`); received PDUs go
 * through {@link parsePdu}.
 */
export function parseBuiltPdu(
  json: unknown,
  rules: RoomVersionRules,
  options: ParsePduOptions & { built: BuiltPduFacts },
): ParseResult {
  try {
    return { ok: true, event: parseOrThrow(json, rules, options, options.built) };
  } catch (error) {
    if (error instanceof PduFormatError) return { ok: false, reason: error.message };
    throw error;
  }
}

/** True if the event is a state event (it has a `state_key`, possibly empty). */
export function isStateEvent(event: RoomEvent): boolean {
  return event.stateKey !== undefined;
}

function parseOrThrow(
  json: unknown,
  rules: RoomVersionRules,
  options: ParsePduOptions,
  built?: BuiltPduFacts,
): RoomEvent {
  if (!isJsonObject(json)) throw new PduFormatError("The PDU must be a JSON object.");
  const hashIds = rules.eventFormat === "v3";
  let input: Record<string, unknown> = json;
  if (hashIds) {
    // Room versions 3+ send no event_id; one that is present anyway is not part of the event.
    const { event_id: _ignored, ...rest } = json;
    input = rest;
  }
  if (built) checkSize(built.canonicalBytes);
  else checkCanonicalAndSize(input, rules);
  const pdu = cloneJson(input as JsonObject) as PduJson;

  const type = requireString(pdu, "type");
  checkKeyLength(type, "type");
  const sender = requireString(pdu, "sender");
  if (!isValidUserId(sender, { historical: true })) {
    throw new PduFormatError(`The PDU's sender ${quote(sender)} is not a valid user ID.`);
  }
  const originServerTs = requireInteger(pdu, "origin_server_ts");
  const depth = requireInteger(pdu, "depth");
  const maxDepth = rules.strictCanonicalJson ? MAX_DEPTH_V6 : MAX_DEPTH_V1;
  if (depth < 0 || depth > maxDepth) {
    throw new PduFormatError(`The PDU's depth must be between 0 and ${maxDepth}; it is ${depth}.`);
  }
  const content = pdu.content;
  if (!isJsonObject(content)) throw new PduFormatError("The PDU's content must be a JSON object.");
  let stateKey: string | undefined;
  if (Object.hasOwn(pdu, "state_key")) {
    stateKey = requireString(pdu, "state_key");
    checkKeyLength(stateKey, "state_key");
  }
  checkHashes(pdu.hashes);
  checkSignatures(pdu.signatures);
  if (Object.hasOwn(pdu, "unsigned") && !isJsonObject(pdu.unsigned)) {
    throw new PduFormatError("The PDU's unsigned must be a JSON object when present.");
  }
  const prevEvents = parseReferences(pdu, "prev_events", MAX_PREV_EVENTS, rules);
  const authEvents = parseReferences(pdu, "auth_events", MAX_AUTH_EVENTS, rules);
  const redacts = parseRedacts(pdu, type, content, rules);

  const eventId = hashIds
    ? built?.eventId ?? computeEventId(pdu, rules)
    : parseEventIdV1(pdu, rules);
  const roomId = parseRoomId(pdu, type, rules);
  if (options.roomId !== undefined && options.roomId !== roomId) {
    throw new PduFormatError(
      `The PDU belongs to room ${quote(roomId)}, not the expected room ${quote(options.roomId)}.`,
    );
  }
  return {
    eventId,
    roomId,
    type,
    stateKey,
    sender,
    originServerTs,
    depth,
    content,
    prevEvents,
    authEvents,
    redacts,
    pdu,
  };
}

/** Canonical JSON must encode (strictly from v6) and fit in {@link MAX_PDU_BYTES}. */
function checkCanonicalAndSize(input: Record<string, unknown>, rules: RoomVersionRules): void {
  let bytes: Uint8Array;
  try {
    bytes = canonicalJsonBytes(input, { strict: rules.strictCanonicalJson });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new PduFormatError(
      `The PDU is not valid canonical JSON for room version ${rules.id}: ${detail}.`,
    );
  }
  checkSize(bytes.length);
}

function checkSize(bytes: number): void {
  if (bytes > MAX_PDU_BYTES) {
    throw new PduFormatError(
      `The PDU is ${bytes} bytes as canonical JSON; the limit is ${MAX_PDU_BYTES}.`,
    );
  }
}

/** The room ID, from `room_id` or (v12 create events) from the event's own hash. */
function parseRoomId(pdu: PduJson, type: string, rules: RoomVersionRules): string {
  if (rules.roomIdFromCreateEvent) {
    // By type alone, as auth rule 1 does: any m.room.create must come without a room_id.
    if (type === "m.room.create") {
      if (Object.hasOwn(pdu, "room_id")) {
        throw new PduFormatError(
          `m.room.create events in room version ${rules.id} must not have a room_id; ` +
            "the room ID is derived from the event's hash.",
        );
      }
      return computeRoomIdV12(pdu);
    }
    const roomId = requireString(pdu, "room_id");
    if (!isValidRoomId(roomId, { domainless: true })) {
      throw new PduFormatError(
        `The PDU's room_id ${quote(roomId)} is not a room version ${rules.id} room ID ` +
          "(! followed by the create event's URL-safe hash).",
      );
    }
    return roomId;
  }
  const roomId = requireString(pdu, "room_id");
  if (!isValidRoomId(roomId, { domainless: false })) {
    throw new PduFormatError(
      `The PDU's room_id ${quote(roomId)} is not a valid !opaque_id:server_name room ID.`,
    );
  }
  return roomId;
}

/** Room versions 1-2: the `event_id` the PDU carries. */
function parseEventIdV1(pdu: PduJson, rules: RoomVersionRules): string {
  const eventId = requireString(pdu, "event_id");
  if (!isValidEventId(eventId, { format: rules.eventIdFormat })) {
    throw new PduFormatError(
      `The PDU's event_id ${quote(eventId)} is not a valid $opaque_id:server_name event ID.`,
    );
  }
  return eventId;
}

/** `prev_events` / `auth_events`: ID strings (v3+) or `[id, {sha256}]` pairs (v1-v2). */
function parseReferences(
  pdu: PduJson,
  field: "prev_events" | "auth_events",
  limit: number,
  rules: RoomVersionRules,
): string[] {
  const list = pdu[field];
  if (!Array.isArray(list)) throw new PduFormatError(`The PDU's ${field} must be an array.`);
  if (list.length > limit) {
    throw new PduFormatError(
      `The PDU lists ${list.length} ${field}; at most ${limit} are allowed.`,
    );
  }
  return list.map((item, index) => {
    const where = `${field}[${index}]`;
    let id: JsonValue = item;
    if (rules.eventFormat === "v1") {
      if (
        !Array.isArray(item) || item.length !== 2 || typeof item[0] !== "string" ||
        !isJsonObject(item[1]) ||
        (item[1].sha256 !== undefined && typeof item[1].sha256 !== "string")
      ) {
        // The hash object may be empty: Synapse sends `[id, {}]` in v1/v2 rooms, and the
        // hashes are never used to check anything.
        throw new PduFormatError(
          `The PDU's ${where} must be an [event ID, {"sha256": hash}] pair.`,
        );
      }
      id = item[0];
    }
    if (typeof id !== "string") throw new PduFormatError(`The PDU's ${where} must be a string.`);
    if (!isValidEventId(id, { format: rules.eventIdFormat })) {
      throw new PduFormatError(
        `The PDU's ${where} ${quote(id)} is not a valid room version ${rules.id} event ID.`,
      );
    }
    return id;
  });
}

/** The redacted event of an m.room.redaction: top-level before v11, in content from v11. */
function parseRedacts(
  pdu: PduJson,
  type: string,
  content: JsonObject,
  rules: RoomVersionRules,
): string | undefined {
  if (type !== "m.room.redaction") return undefined;
  // Absent is allowed: a redacted redaction event loses top-level `redacts` before v11.
  const [holder, field] = rules.redactsInContent ? [content, "content.redacts"] : [pdu, "redacts"];
  const value = holder.redacts;
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new PduFormatError(`The m.room.redaction event's ${field} must be a string.`);
  }
  return value;
}

function checkHashes(hashes: JsonValue | undefined): void {
  if (!isJsonObject(hashes)) throw new PduFormatError("The PDU's hashes must be a JSON object.");
  if (typeof hashes.sha256 !== "string") {
    throw new PduFormatError("The PDU's hashes.sha256 must be a string.");
  }
}

function checkSignatures(signatures: JsonValue | undefined): void {
  if (!isJsonObject(signatures)) {
    throw new PduFormatError("The PDU's signatures must be a JSON object.");
  }
  for (const [server, keys] of Object.entries(signatures)) {
    if (!isJsonObject(keys)) {
      throw new PduFormatError(`The PDU's signatures for ${quote(server)} must be a JSON object.`);
    }
    for (const [keyId, signature] of Object.entries(keys)) {
      if (typeof signature !== "string") {
        throw new PduFormatError(
          `The PDU's signature by ${quote(server)} with key ${quote(keyId)} must be a string.`,
        );
      }
    }
  }
}

function requireString(pdu: PduJson, field: string): string {
  const value = pdu[field];
  if (value === undefined) throw new PduFormatError(`The PDU has no ${field}.`);
  if (typeof value !== "string") throw new PduFormatError(`The PDU's ${field} must be a string.`);
  return value;
}

function requireInteger(pdu: PduJson, field: string): number {
  const value = pdu[field];
  if (value === undefined) throw new PduFormatError(`The PDU has no ${field}.`);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new PduFormatError(`The PDU's ${field} must be an integer.`);
  }
  return value;
}

function checkKeyLength(value: string, field: string): void {
  if (utf8ByteLength(value) > MAX_KEY_BYTES) {
    throw new PduFormatError(`The PDU's ${field} is longer than ${MAX_KEY_BYTES} bytes.`);
  }
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
}
