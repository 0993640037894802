/**
 * Building a new PDU for any room version: auth events chosen from the state before the event,
 * prev_events from the room's forward extremities, depth, content hash and the origin server's
 * signature. The result goes through `parsePdu`, so a built event obeys every rule a received
 * one does. Authorisation is not checked here: the caller runs `checkAuth` as for any event.
 *
 * @module
 */

import { referenceHash, sha256 } from "../crypto/hashes.ts";
import { encodeBase64 } from "../crypto/base64.ts";
import { canonicalJson } from "../crypto/canonical_json.ts";
import type { SigningKey } from "../crypto/signing.ts";
import { authEventTypes } from "./auth_events.ts";
import {
  type BuiltPduFacts,
  MAX_DEPTH_V1,
  MAX_DEPTH_V6,
  MAX_PREV_EVENTS,
  parseBuiltPdu,
  parsePdu,
} from "./event_format.ts";
import { eventIdFromReferenceHash } from "./event_id.ts";
import { redactPdu } from "./redaction.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { JsonObject, JsonValue, PduJson, RoomEvent, StateLookup } from "./types.ts";

/** What a sender wants to say: the event before the server fills in the room fields. */
export interface EventTemplate {
  readonly type: string;
  /** Present (possibly "") for state events. */
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: JsonObject;
  /** For m.room.redaction: top-level before v11, copied into content from v11. */
  readonly redacts?: string;
}

/** The room context a new event is built in; the caller supplies the clock and key. */
export interface BuildContext {
  readonly rules: RoomVersionRules;
  /** The room; omitted only for a v12 m.room.create event, whose ID derives from it. */
  readonly roomId?: string;
  /** The server name that signs the event. */
  readonly origin: string;
  readonly signingKey: SigningKey;
  /** The room's forward extremities (the events this one follows). */
  readonly prevEvents: readonly RoomEvent[];
  /** The state before the event, to choose its auth events from. */
  readonly state: StateLookup;
  readonly originServerTs: number;
  /** Room versions 1-2 only: the local part of the `$local:origin` event ID. */
  readonly eventIdLocalpart?: string;
}

/** A template that cannot become a valid PDU. */
export class BuildEventError extends Error {
  /** The spec error code a client-facing caller should answer with. */
  readonly code: "M_BAD_JSON" | "M_TOO_LARGE" | "M_INVALID_PARAM";

  constructor(message: string, code: BuildEventError["code"] = "M_BAD_JSON") {
    super(message);
    this.name = "BuildEventError";
    this.code = code;
  }
}

/**
 * Builds, hashes and signs a new event, and returns it parsed like a received PDU.
 *
 * @throws {BuildEventError} when the template breaks the event format (size, grammar, JSON)
 */
export async function buildPdu(template: EventTemplate, context: BuildContext): Promise<RoomEvent> {
  const pdu = buildUnsignedPdu(template, context);
  if (context.rules.eventFormat === "v1") {
    if (!context.eventIdLocalpart) {
      throw new BuildEventError(
        `Room version ${context.rules.id} events need an event ID local part.`,
      );
    }
    pdu.event_id = `$${context.eventIdLocalpart}:${context.origin}`;
  }
  return await signPdu(pdu, context);
}

/**
 * The unsigned event a template becomes in a room: prev_events, auth_events, depth and the
 * room fields, without `event_id`, hashes or signatures (what `make_join`, `make_leave` and
 * `make_knock` answer, for the joining server to complete).
 *
 * @throws {BuildEventError} when no room ID is given for an event that needs one
 */
export function buildUnsignedPdu(
  template: EventTemplate,
  context: Omit<BuildContext, "signingKey" | "eventIdLocalpart">,
): PduJson {
  const { rules } = context;
  const isV12Create = rules.roomIdFromCreateEvent && template.type === "m.room.create";
  if (!isV12Create && context.roomId === undefined) {
    throw new BuildEventError("A room ID is needed for every event but a v12 create event.");
  }
  const prevEvents = chooseForwardExtremities(context.prevEvents);
  const authEvents: RoomEvent[] = [];
  for (
    const [type, stateKey] of authEventTypes({ ...template, stateKey: template.stateKey }, rules)
  ) {
    const found = context.state(type, stateKey);
    if (found !== undefined) authEvents.push(found);
  }
  const maxDepth = rules.strictCanonicalJson ? MAX_DEPTH_V6 : MAX_DEPTH_V1;
  const depth = Math.min(
    prevEvents.reduce((d, e) => Math.max(d, e.depth), 0) + 1,
    maxDepth,
  );

  let content: JsonObject = template.content;
  if (template.redacts !== undefined && rules.redactsInContent) {
    content = { ...content, redacts: template.redacts };
  }
  const pdu: PduJson = {
    type: template.type,
    sender: template.sender,
    content,
    origin_server_ts: context.originServerTs,
    depth,
    prev_events: rules.eventFormat === "v1"
      ? prevEvents.map((e) => reference(e, rules))
      : prevEvents.map((e) => e.eventId),
    auth_events: rules.eventFormat === "v1"
      ? authEvents.map((e) => reference(e, rules))
      : authEvents.map((e) => e.eventId),
  };
  if (!isV12Create) pdu.room_id = context.roomId!;
  if (template.stateKey !== undefined) pdu.state_key = template.stateKey;
  if (template.redacts !== undefined && !rules.redactsInContent) pdu.redacts = template.redacts;
  return pdu;
}

/**
 * Hashes and signs a complete unsigned event (for room versions 1-2 it must carry its
 * `event_id`) as `origin`, and returns it parsed like a received PDU. Signatures already on
 * the event (a resident server's, say) are kept.
 *
 * @throws {BuildEventError} when the event breaks the event format (size, grammar, JSON)
 */
export async function signPdu(
  unsigned: PduJson,
  context: {
    rules: RoomVersionRules;
    origin: string;
    signingKey: SigningKey;
    roomId?: string;
  },
): Promise<RoomEvent> {
  const { rules } = context;
  const strict = { strict: rules.strictCanonicalJson };
  const { signatures: _signatures, unsigned: _unsigned, hashes: _hashes, ...pdu } = unsigned;
  let signed: PduJson;
  let built: BuiltPduFacts | undefined;
  try {
    // Two encodings make the whole event: the content hash covers the event without hashes
    // (and signatures); the signature covers the redacted event with its hashes, and for
    // room versions 3 and later those same bytes are what the reference hash (the event ID)
    // is taken of, so they are encoded once.
    const content = utf8.encode(canonicalJson(pdu, strict));
    const hashes = { sha256: encodeBase64(sha256(content)) };
    pdu.hashes = hashes;
    const redacted = utf8.encode(canonicalJson(redactPdu(pdu, rules, { share: true }), strict));
    const signature = encodeBase64(await context.signingKey.sign(redacted));
    const signatures = { [context.origin]: { [context.signingKey.keyId]: signature } };
    signed = { ...pdu, signatures };
    const hashIds = rules.eventFormat === "v3";
    // An event_id given to a version 3+ event is no part of it (the parser drops it), so
    // neither the size nor the ID below would be the event's: that rare case is parsed fully.
    if (!hashIds || !Object.hasOwn(pdu, "event_id")) {
      // The whole event's size: the content-hash encoding with the hashes and signatures
      // members added (sorting the keys moves them but does not change the length).
      const extra = utf8.encode(canonicalJson({ hashes, signatures }, strict));
      built = {
        canonicalBytes: content.length + extra.length - 1,
        eventId: hashIds ? eventIdFromReferenceHash(sha256(redacted), rules) : undefined,
      };
    }
  } catch (error) {
    throw new BuildEventError(`The event cannot be encoded: ${(error as Error).message}`);
  }
  const options = context.roomId ? { roomId: context.roomId } : {};
  const parsed = built
    ? parseBuiltPdu(signed, rules, { ...options, built })
    : parsePdu(signed, rules, options);
  if (!parsed.ok) {
    const tooLarge = /at most|bytes/.test(parsed.reason);
    throw new BuildEventError(parsed.reason, tooLarge ? "M_TOO_LARGE" : "M_BAD_JSON");
  }
  return parsed.event;
}

/**
 * Picks the prev_events for a new event: all forward extremities when there are at most 20,
 * else the 20 deepest (the others stay extremities and are referenced by a later event).
 */
export function chooseForwardExtremities(extremities: readonly RoomEvent[]): RoomEvent[] {
  if (extremities.length <= MAX_PREV_EVENTS) return [...extremities];
  return [...extremities]
    .sort((a, b) => b.depth - a.depth || (a.eventId < b.eventId ? -1 : 1))
    .slice(0, MAX_PREV_EVENTS);
}

const utf8 = new TextEncoder();

function reference(event: RoomEvent, rules: RoomVersionRules): JsonValue {
  const hash = referenceHash(redactPdu(event.pdu, rules, { share: true }), {
    strict: rules.strictCanonicalJson,
  });
  return [event.eventId, { sha256: encodeBase64(hash) }];
}
