/**
 * Types shared by the pure room engine: JSON values, PDUs in wire form, parsed room events
 * and state maps. Nothing here performs I/O.
 *
 * @module
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * A PDU exactly as it travels between servers (the thing that is hashed and signed).
 * For room versions 1-2 it carries `event_id` and reference pairs; for v3+ it has no
 * `event_id` and `prev_events`/`auth_events` are plain event ID strings.
 */
export type PduJson = JsonObject;

/**
 * A validated room event: the fields the engine reads, normalised across room versions,
 * plus the wire form it came from. Produced by `parsePdu` (federation/event_format.ts) or by
 * `buildPdu` (federation/build_event.ts); the engine trusts these fields.
 */
export interface RoomEvent {
  /** `$...`: from `event_id` (v1, v2) or the reference hash (v3+). */
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  /** Present (possibly "") for state events, undefined for message events. */
  readonly stateKey: string | undefined;
  readonly sender: string;
  readonly originServerTs: number;
  readonly depth: number;
  readonly content: JsonObject;
  /** Event IDs of prev_events, in wire order (v1 pairs reduced to their IDs). */
  readonly prevEvents: readonly string[];
  /** Event IDs of auth_events, in wire order (v1 pairs reduced to their IDs). */
  readonly authEvents: readonly string[];
  /** The redacted event ID for m.room.redaction: top-level before v11, in content from v11. */
  readonly redacts: string | undefined;
  /** The wire form (without `event_id` for v3+), as hashed and signed. */
  readonly pdu: PduJson;
}

/** A key into a state map: the (event type, state key) pair, encoded unambiguously. */
export type StateTupleKey = string;

/** A room state: (type, state_key) -> event ID. */
export type StateMap = Map<StateTupleKey, string>;

/** Encodes a (type, state_key) pair as one string key; the type length makes it unambiguous. */
export function stateTupleKey(type: string, stateKey: string): StateTupleKey {
  return `${type.length}|${type}${stateKey}`;
}

/** Splits a key made by {@link stateTupleKey} back into its type and state key. */
export function splitStateTupleKey(key: StateTupleKey): [type: string, stateKey: string] {
  const bar = key.indexOf("|");
  const length = Number(key.slice(0, bar));
  const rest = key.slice(bar + 1);
  return [rest.slice(0, length), rest.slice(length)];
}

/** Looks up a room event by ID; the engine's only window onto stored events. */
export type EventLookup = (eventId: string) => RoomEvent | undefined;

/** Looks up the state event for (type, state_key) in some state the caller chose. */
export type StateLookup = (type: string, stateKey: string) => RoomEvent | undefined;

/** The outcome of a check: accepted, or rejected with a reason a person can read. */
export type Verdict = { ok: true } | { ok: false; reason: string };

/** The accepted verdict, shared to avoid allocating. */
export const ACCEPT: Verdict = Object.freeze({ ok: true }) as Verdict;

/** Makes a rejection verdict. */
export function reject(reason: string): Verdict {
  return { ok: false, reason };
}
