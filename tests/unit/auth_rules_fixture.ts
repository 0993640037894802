/**
 * Small hand-built rooms for the auth rule tests: a typical room (create, the creator's join,
 * power levels, join rules) in any room version, to which a test adds one event and checks
 * the verdict.
 */
import { selectAuthEvents } from "../../federation/auth_events.ts";
import { checkAuth, checkAuthEvents } from "../../federation/auth_rules.ts";
import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import type {
  JsonObject,
  RoomEvent,
  StateLookup,
  StateMap,
  Verdict,
} from "../../federation/types.ts";
import { stateTupleKey } from "../../federation/types.ts";
import { fakeEvent, type FakeEventInit } from "../support/room_builder.ts";
import { AssertionError } from "./assert.ts";

/** The creator. */
export const ALICE = "@alice:example.org";
/** Another user on the creator's server. */
export const BOB = "@bob:example.org";
/** A user on another server. */
export const CAROL = "@carol:other.org";
/** Another user on another server. */
export const DAVE = "@dave:other.org";

/** Every room version, "1" to "12". */
export const ALL_VERSIONS: readonly string[] = Array.from({ length: 12 }, (_, i) => `${i + 1}`);

/** The versions where `pick(rules)` holds. */
export function versionsWhere(pick: (rules: RoomVersionRules) => boolean): string[] {
  return ALL_VERSIONS.filter((v) => pick(rulesOf(v)));
}

/** The rules of a version, which must exist. */
export function rulesOf(version: string): RoomVersionRules {
  const rules = roomVersion(version);
  if (!rules) throw new Error(`unknown room version ${version}`);
  return rules;
}

/** A hand-built room: its events and its current state. */
export interface TestRoom {
  readonly rules: RoomVersionRules;
  readonly roomId: string;
  readonly createId: string;
  readonly events: Map<string, RoomEvent>;
  readonly state: StateMap;
  /** The current state as a lookup. */
  readonly lookup: StateLookup;
  /** The latest event, used as the next prev_event. */
  last: string;
  counter: number;
}

/** How {@link makeRoom} sets the room up. */
export interface RoomOptions {
  /** The join rule; null: no m.room.join_rules event. Default "public". */
  joinRule?: string | null;
  /** The power levels content; null: no m.room.power_levels event. */
  powerLevels?: JsonObject | null;
  /** Extra content for the create event. */
  createContent?: JsonObject;
  /** Stop after the create event (no join, power levels, join rules). */
  createOnly?: boolean;
}

/** The default power levels: Alice at 100 (v1-v11; v12 creators must not be listed). */
export function defaultPowerLevels(rules: RoomVersionRules): JsonObject {
  return { users: rules.privilegedCreators ? {} : { [ALICE]: 100 } };
}

/** The create event of a test room in the given version. */
export function makeCreate(version: string, content: JsonObject = {}): RoomEvent {
  const rules = rulesOf(version);
  const base: JsonObject = { room_version: version };
  if (rules.createHasCreator) base.creator = ALICE;
  const create = fakeEvent({
    id: "$CREATE",
    type: "m.room.create",
    stateKey: "",
    sender: ALICE,
    content: { ...base, ...content },
    roomId: rules.roomIdFromCreateEvent ? "!CREATE" : "!room:example.org",
  });
  if (rules.roomIdFromCreateEvent) delete create.pdu.room_id;
  return create;
}

/** Makes a typical room: create, Alice joins, power levels, join rules (public). */
export function makeRoom(version: string, options: RoomOptions = {}): TestRoom {
  const rules = rulesOf(version);
  const create = makeCreate(version, options.createContent);
  const state: StateMap = new Map();
  const events = new Map<string, RoomEvent>();
  const room: TestRoom = {
    rules,
    roomId: create.roomId,
    createId: create.eventId,
    events,
    state,
    lookup: (type, stateKey) => {
      const id = state.get(stateTupleKey(type, stateKey));
      return id === undefined ? undefined : events.get(id);
    },
    last: create.eventId,
    counter: 0,
  };
  apply(room, create);
  if (options.createOnly) return room;
  addEvent(room, {
    type: "m.room.member",
    stateKey: ALICE,
    sender: ALICE,
    content: { membership: "join" },
  });
  if (options.powerLevels !== null) {
    addEvent(room, {
      type: "m.room.power_levels",
      stateKey: "",
      sender: ALICE,
      content: options.powerLevels ?? defaultPowerLevels(rules),
    });
  }
  if (options.joinRule !== null) {
    addEvent(room, {
      type: "m.room.join_rules",
      stateKey: "",
      sender: ALICE,
      content: { join_rule: options.joinRule ?? "public" },
    });
  }
  return room;
}

/** Fields for a new event; the ID, room, prev and auth events are filled in. */
export type EventInit = Omit<FakeEventInit, "id"> & { id?: string };

/** Builds the next event of the room (prev: the latest event; auth: selected from state). */
export function buildEvent(room: TestRoom, init: EventInit): RoomEvent {
  room.counter++;
  const draft = {
    type: init.type,
    sender: init.sender,
    stateKey: init.stateKey,
    content: init.content ?? {},
  };
  return fakeEvent({
    prevEvents: [room.last],
    authEvents: selectAuthEvents(draft, room.lookup, room.rules),
    roomId: room.roomId,
    depth: room.counter + 1,
    ...init,
    id: init.id ?? `$E${room.counter}`,
  });
}

/** Adds an event to the room without checking it, updating the state. */
export function apply(room: TestRoom, event: RoomEvent): RoomEvent {
  room.events.set(event.eventId, event);
  if (event.stateKey !== undefined) {
    room.state.set(stateTupleKey(event.type, event.stateKey), event.eventId);
  }
  room.last = event.eventId;
  return event;
}

/** Builds and adds an event without checking it. */
export function addEvent(room: TestRoom, init: EventInit): RoomEvent {
  return apply(room, buildEvent(room, init));
}

/** Sets a membership without checking (sender defaults to the target). */
export function setMember(
  room: TestRoom,
  target: string,
  membership: string,
  sender: string = target,
): RoomEvent {
  return addEvent(room, {
    type: "m.room.member",
    stateKey: target,
    sender,
    content: { membership },
  });
}

/** Checks an event against the room's current state. */
export function check(room: TestRoom, event: RoomEvent): Verdict {
  return checkAuth(event, room.lookup, room.rules);
}

/**
 * Checks an event the way a receiving server does with its auth events: the auth events list
 * rules, then every other rule against the state its auth events form (v12: plus the create
 * event, which the room ID names).
 */
export function checkWithAuthEvents(room: TestRoom, event: RoomEvent): Verdict {
  const authEvents = event.authEvents.map((id) => {
    const found = room.events.get(id);
    if (!found) throw new Error(`missing auth event ${id}`);
    return found;
  });
  const listed = checkAuthEvents(event, authEvents, room.rules);
  if (!listed.ok) return listed;
  const byKey = new Map<string, RoomEvent>();
  for (const e of authEvents) byKey.set(stateTupleKey(e.type, e.stateKey ?? ""), e);
  const create = room.events.get(room.createId)!;
  return checkAuth(event, (type, stateKey) => {
    if (type === "m.room.create" && stateKey === "") return create;
    return byKey.get(stateTupleKey(type, stateKey));
  }, room.rules);
}

/** Checks and asserts the expected outcome, showing the reason on failure. */
export function expectVerdict(verdict: Verdict, ok: boolean, what: string): void {
  if (verdict.ok === ok) return;
  const why = verdict.ok ? "accepted" : `rejected: ${verdict.reason}`;
  throw new AssertionError(`${what}: expected ${ok ? "accept" : "reject"}, but ${why}`);
}

/** Asserts a rejection whose reason mentions `part`. */
export function expectRejection(verdict: Verdict, part: string, what: string): void {
  if (verdict.ok) throw new AssertionError(`${what}: expected a rejection, but accepted`);
  if (!verdict.reason.includes(part)) {
    throw new AssertionError(`${what}: expected reason with "${part}", got "${verdict.reason}"`);
  }
}
