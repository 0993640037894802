/**
 * Hand-built rooms for the state resolution tests. A scenario is a list of events in the
 * order they were created, each naming its prev_events (default: the event listed before it).
 * The builder fills in depth, origin_server_ts (the position in the list, unless given) and
 * auth events (chosen from the state before the event, as a server would), and checks every
 * event against the auth rules so a scenario cannot quietly contain an invalid event.
 */
import { checkAuth } from "../../federation/auth_rules.ts";
import { selectAuthEvents } from "../../federation/auth_events.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import { roomVersion } from "../../federation/room_versions.ts";
import { resolveState, stateAfterEvent } from "../../federation/state_res/mod.ts";
import type {
  JsonObject,
  RoomEvent,
  StateLookup,
  StateMap,
  Verdict,
} from "../../federation/types.ts";
import { splitStateTupleKey, stateTupleKey } from "../../federation/types.ts";
import { fakeEvent } from "../support/room_builder.ts";

export const ALICE = "@alice:example.org";
export const BOB = "@bob:example.org";
export const CHARLIE = "@charlie:example.org";
export const ELLA = "@ella:example.org";
export const ZARA = "@zara:example.org";

/** One event of a scenario. */
export interface EventSpec {
  id: string;
  sender: string;
  type: string;
  stateKey?: string;
  content?: JsonObject;
  /** Defaults to the previous event of the list ([] for the first). */
  prev?: string[];
  /** Defaults to the event's position in the list. */
  ts?: number;
}

/** A built scenario room. */
export interface Dag {
  readonly rules: RoomVersionRules;
  readonly events: Map<string, RoomEvent>;
  /** The state after each event, S'(E). */
  readonly stateAfter: Map<string, StateMap>;
}

/** The rules of a room version, which must exist. */
export function rulesOf(id: string): RoomVersionRules {
  const rules = roomVersion(id);
  if (!rules) throw new Error(`no room version ${id}`);
  return rules;
}

/** The room ID of a scenario room: v12 derives it from the create event's ID. */
export function roomIdFor(rules: RoomVersionRules): string {
  return rules.roomIdFromCreateEvent ? "!CREATE" : "!room:example.org";
}

/** Looks a state up as the auth rules do. */
export function lookupIn(state: StateMap, events: Map<string, RoomEvent>): StateLookup {
  return (type, stateKey) => {
    const id = state.get(stateTupleKey(type, stateKey));
    return id === undefined ? undefined : events.get(id);
  };
}

/**
 * Builds the events of a scenario in order. The state before an event with several
 * prev_events is their resolution (under the room's own algorithm), as on a real server.
 * Throws if an event fails the auth rules against the state before it.
 */
export function buildDag(specs: readonly EventSpec[], rules: RoomVersionRules): Dag {
  const dag: Dag = { rules, events: new Map(), stateAfter: new Map() };
  let previous: string | undefined;
  for (const spec of specs) {
    const prev = spec.prev ?? (previous === undefined ? [] : [previous]);
    const verdict = appendEvent(dag, { ...spec, prev });
    if (!verdict.ok) throw new Error(`scenario event ${spec.id} fails auth: ${verdict.reason}`);
    previous = spec.id;
  }
  return dag;
}

/**
 * Adds one event (its `prev` must be given) if it passes the auth rules against the state
 * before it; otherwise leaves the DAG alone and returns the rejection.
 */
export function appendEvent(dag: Dag, spec: EventSpec & { prev: string[] }): Verdict {
  const { rules } = dag;
  const before = stateBefore(dag, spec.prev);
  const depth = 1 + Math.max(0, ...spec.prev.map((id) => dag.events.get(id)!.depth));
  let content = spec.content ?? {};
  if (rules.privilegedCreators && spec.type === "m.room.power_levels") {
    content = withoutCreator(content);
  }
  const isCreate = spec.type === "m.room.create";
  const subject = { type: spec.type, sender: spec.sender, stateKey: spec.stateKey, content };
  const event = fakeEvent({
    id: spec.id,
    type: spec.type,
    sender: spec.sender,
    stateKey: spec.stateKey,
    content,
    prevEvents: spec.prev,
    authEvents: isCreate ? [] : selectAuthEvents(subject, lookupIn(before, dag.events), rules),
    depth,
    ts: spec.ts ?? dag.events.size,
    roomId: roomIdFor(rules),
  });
  if (isCreate && rules.roomIdFromCreateEvent) delete (event.pdu as JsonObject).room_id;
  if (dag.events.has(event.eventId)) throw new Error(`duplicate event ${event.eventId}`);
  const verdict = checkAuth(event, lookupIn(before, dag.events), rules);
  if (!verdict.ok) return verdict;
  dag.events.set(event.eventId, event);
  dag.stateAfter.set(event.eventId, stateAfterEvent(before, event));
  return verdict;
}

/** v12 creators must not appear in `users`; scenarios written for all versions list alice. */
function withoutCreator(content: JsonObject): JsonObject {
  const users = content.users;
  if (typeof users !== "object" || users === null || Array.isArray(users)) return content;
  const rest: JsonObject = { ...users };
  delete rest[ALICE];
  return { ...content, users: rest };
}

function stateBefore(dag: Dag, prev: readonly string[]): StateMap {
  if (prev.length === 0) return new Map();
  const states = prev.map((id) => {
    const state = dag.stateAfter.get(id);
    if (!state) throw new Error(`unknown prev event ${id}`);
    return state;
  });
  return resolveState(states, (id) => dag.events.get(id), dag.rules);
}

/** The usual start of a scenario room: alice creates it, bob, charlie and zara join. */
export function initialEvents(
  rules: RoomVersionRules,
  powerLevels: JsonObject = { users: { [ALICE]: 100 } },
): EventSpec[] {
  const create: JsonObject = { room_version: rules.id };
  if (rules.createHasCreator) create.creator = ALICE;
  return [
    { id: "$CREATE", sender: ALICE, type: "m.room.create", stateKey: "", content: create },
    member("$IMA", ALICE, ALICE, "join"),
    {
      id: "$IPOWER",
      sender: ALICE,
      type: "m.room.power_levels",
      stateKey: "",
      content: powerLevels,
    },
    joinRules("$IJR", ALICE, "public"),
    member("$IMB", BOB, BOB, "join"),
    member("$IMC", CHARLIE, CHARLIE, "join"),
    member("$IMZ", ZARA, ZARA, "join"),
  ];
}

/** An m.room.member event. */
export function member(
  id: string,
  sender: string,
  target: string,
  membership: string,
  prev?: string[],
): EventSpec {
  return { id, sender, type: "m.room.member", stateKey: target, content: { membership }, prev };
}

/** An m.room.join_rules event. */
export function joinRules(id: string, sender: string, rule: string, prev?: string[]): EventSpec {
  return {
    id,
    sender,
    type: "m.room.join_rules",
    stateKey: "",
    content: { join_rule: rule },
    prev,
  };
}

/** An m.room.power_levels event. */
export function powerLevels(
  id: string,
  sender: string,
  content: JsonObject,
  prev?: string[],
): EventSpec {
  return { id, sender, type: "m.room.power_levels", stateKey: "", content, prev };
}

/** An m.room.topic event. */
export function topic(id: string, sender: string, prev?: string[]): EventSpec {
  return { id, sender, type: "m.room.topic", stateKey: "", content: { topic: id }, prev };
}

/** A message event (not state). */
export function message(id: string, sender: string, prev?: string[]): EventSpec {
  return { id, sender, type: "m.room.message", content: { body: id, msgtype: "m.text" }, prev };
}

/** The state made of exactly these events, keyed by their own (type, state_key). */
export function stateOfIds(dag: Dag, ids: readonly string[]): StateMap {
  const state: StateMap = new Map();
  for (const id of ids) {
    const event = dag.events.get(id);
    if (!event || event.stateKey === undefined) throw new Error(`${id} is not a state event`);
    const key = stateTupleKey(event.type, event.stateKey);
    if (state.has(key)) throw new Error(`${id} and ${state.get(key)} share a key`);
    state.set(key, id);
  }
  return state;
}

/** A state as a sorted, readable list of `type|state_key=event_id` lines, for assertions. */
export function describeState(state: StateMap): string[] {
  return [...state].map(([key, id]) => {
    const [type, stateKey] = splitStateTupleKey(key);
    return `${type}|${stateKey}=${id}`;
  }).sort();
}
