/**
 * Hand-built rooms for engine tests: events with readable fake IDs ("$CREATE", "$A-JOIN"...)
 * whose fields are set directly, so auth rules and state resolution can be tested on small
 * DAGs without hashing or signing.
 */
import type { JsonObject, RoomEvent, StateMap } from "../../federation/types.ts";
import { stateTupleKey } from "../../federation/types.ts";

/** Fields for one hand-built event; IDs default to `$<n>`. */
export interface FakeEventInit {
  id: string;
  type: string;
  sender: string;
  stateKey?: string;
  content?: JsonObject;
  prevEvents?: string[];
  authEvents?: string[];
  depth?: number;
  ts?: number;
  redacts?: string;
  roomId?: string;
}

/** Builds a RoomEvent from the given fields with a plausible wire form. */
export function fakeEvent(init: FakeEventInit): RoomEvent {
  const roomId = init.roomId ?? "!room:example.org";
  const pdu: JsonObject = {
    room_id: roomId,
    type: init.type,
    sender: init.sender,
    origin_server_ts: init.ts ?? 0,
    depth: init.depth ?? 1,
    content: init.content ?? {},
    prev_events: init.prevEvents ?? [],
    auth_events: init.authEvents ?? [],
    hashes: { sha256: "" },
    signatures: {},
  };
  if (init.stateKey !== undefined) pdu.state_key = init.stateKey;
  if (init.redacts !== undefined) pdu.redacts = init.redacts;
  return {
    eventId: init.id,
    roomId,
    type: init.type,
    stateKey: init.stateKey,
    sender: init.sender,
    originServerTs: init.ts ?? 0,
    depth: init.depth ?? 1,
    content: init.content ?? {},
    prevEvents: init.prevEvents ?? [],
    authEvents: init.authEvents ?? [],
    redacts: init.redacts,
    pdu,
  };
}

/** Makes a state map from state events. */
export function stateOf(events: readonly RoomEvent[]): StateMap {
  const state: StateMap = new Map();
  for (const e of events) {
    if (e.stateKey !== undefined) state.set(stateTupleKey(e.type, e.stateKey), e.eventId);
  }
  return state;
}

/** Indexes events by ID, for use as an EventLookup. */
export function indexEvents(events: readonly RoomEvent[]): Map<string, RoomEvent> {
  return new Map(events.map((e) => [e.eventId, e]));
}
