/**
 * State resolution version 2 (room versions 2-11) and its v2.1 revision (room version 12):
 * power events first in reverse topological power order, then everything else in mainline
 * order, each applied by iterative auth checks, and finally the unconflicted state on top.
 *
 * v2.1 differs in three places, all switched by one flag here: the first iterative auth
 * checks start from an empty map rather than the unconflicted state, and the full conflicted
 * set also holds the conflicted state subgraph (every auth path between two conflicted events).
 *
 * Spec: content/rooms/fragments/v2-state-res.md and content/rooms/v12.md "State resolution".
 *
 * @module
 */
import { checkAuth } from "../auth_rules.ts";
import { authEventTypes } from "../auth_events.ts";
import { userPowerLevel } from "../power_levels.ts";
import type { RoomVersionRules } from "../room_versions.ts";
import type { EventLookup, RoomEvent, StateLookup, StateMap, StateTupleKey } from "../types.ts";
import { stateTupleKey } from "../types.ts";
import { compareIds, MinHeap, requiringLookup, StateResolutionError } from "./common.ts";

/** Options of {@link resolveStateV2}. */
export interface ResolveV2Options {
  /**
   * Says whether an event was rejected. Rejected events are never used as a fallback from an
   * event's auth_events during iterative auth checks (spec: "if the auth event is not
   * rejected"); events in the conflicted set are re-checked like any other.
   */
  isRejected?: (eventId: string) => boolean;
  /** Which revision to run; defaults to the room version's `stateResolution`. */
  algorithm?: "v2" | "v2.1";
}

const POWER_LEVELS = "m.room.power_levels";
const JOIN_RULES = "m.room.join_rules";
const MEMBER = "m.room.member";
const CREATE_KEY = stateTupleKey("m.room.create", "");
const POWER_LEVELS_KEY = stateTupleKey(POWER_LEVELS, "");

/**
 * Resolves a set of room states with state resolution v2 or v2.1 and returns a new map; the
 * inputs are not modified. `events` must return every event in the states and in their auth
 * chains, or a {@link StateResolutionError} with code MISSING_EVENT is thrown.
 */
export function resolveStateV2(
  states: readonly StateMap[],
  events: EventLookup,
  rules: RoomVersionRules,
  options: ResolveV2Options = {},
): StateMap {
  const { unconflicted, conflicted } = partitionStates(states);
  if (conflicted.size === 0) return unconflicted;

  const revised = (options.algorithm ?? rules.stateResolution) === "v2.1";
  const run = new Resolution(events, rules, options.isRejected, findCreateEvent(states, events));

  // The full conflicted set: conflicted state set + auth difference (+ subgraph in v2.1).
  const full = new Set(conflicted);
  for (const id of run.authDifference(states)) full.add(id);
  if (revised) { for (const id of run.conflictedSubgraph(conflicted)) full.add(id); }

  // Step 1: power events of the full conflicted set, with the parts of their auth chains
  // that are also in the full conflicted set, in reverse topological power order.
  const powerIds: string[] = [];
  for (const id of full) if (isPowerEvent(run.event(id))) powerIds.push(id);
  const selected = run.withAuthChainsWithin(powerIds, full);
  const powerOrder = run.reverseTopologicalPowerOrder(selected);

  // Step 2: iterative auth checks from the unconflicted state (v2) or from nothing (v2.1).
  const resolved: StateMap = revised ? new Map() : new Map(unconflicted);
  run.iterativeAuthChecks(powerOrder, resolved);

  // Steps 3-4: every other event, in mainline order of the power levels resolved so far.
  const rest: RoomEvent[] = [];
  for (const id of full) {
    if (selected.has(id)) continue;
    const event = run.event(id);
    if (event.stateKey !== undefined) rest.push(event);
  }
  run.iterativeAuthChecks(run.mainlineOrder(rest, resolved.get(POWER_LEVELS_KEY)), resolved);

  // Step 5: the unconflicted state always wins.
  for (const [key, id] of unconflicted) resolved.set(key, id);
  return resolved;
}

/**
 * Splits states into the unconflicted state map (keys present in every state with one value)
 * and the conflicted state set (every event ID of every other key).
 */
export function partitionStates(
  states: readonly StateMap[],
): { unconflicted: StateMap; conflicted: Set<string> } {
  const unconflicted: StateMap = new Map();
  const conflicted = new Set<string>();
  if (states.length === 0) return { unconflicted, conflicted };
  const keys = new Set<StateTupleKey>();
  for (const state of states) for (const key of state.keys()) keys.add(key);
  for (const key of keys) {
    const first = states[0].get(key);
    let same = first !== undefined;
    for (let i = 1; same && i < states.length; i++) same = states[i].get(key) === first;
    if (same) {
      unconflicted.set(key, first!);
    } else {
      for (const state of states) {
        const id = state.get(key);
        if (id !== undefined) conflicted.add(id);
      }
    }
  }
  return { unconflicted, conflicted };
}

/**
 * A power event: power levels, join rules, or a membership of leave or ban that someone other
 * than its subject sent (a kick or a ban). These may take abilities away from others. Power
 * levels and join rules count only under state_key "", the only key the auth rules read (as
 * Synapse and ruma decide it; the spec's definition names the types alone).
 */
export function isPowerEvent(event: RoomEvent): boolean {
  if (event.stateKey === undefined) return false;
  if (event.type === POWER_LEVELS || event.type === JOIN_RULES) return event.stateKey === "";
  if (event.type !== MEMBER || event.sender === event.stateKey) return false;
  const membership = event.content.membership;
  return membership === "leave" || membership === "ban";
}

/**
 * The room's create event, used when an event's auth events do not name one (room version 12
 * leaves it out, since the room ID is derived from it). Every state of a room holds the same
 * create event; if they disagree, the smallest ID is taken so the answer is order-independent.
 */
function findCreateEvent(states: readonly StateMap[], events: EventLookup): RoomEvent | undefined {
  let best: string | undefined;
  for (const state of states) {
    const id = state.get(CREATE_KEY);
    if (id !== undefined && (best === undefined || id < best)) best = id;
  }
  return best === undefined ? undefined : requiringLookup(events)(best);
}

interface PowerSortItem {
  readonly event: RoomEvent;
  readonly power: number;
}

/** One resolution's memoised view of the event graph. */
class Resolution {
  readonly event: (eventId: string) => RoomEvent;
  readonly #rules: RoomVersionRules;
  readonly #isRejected: (eventId: string) => boolean;
  readonly #createEvent: RoomEvent | undefined;
  readonly #authByKey = new Map<string, Map<StateTupleKey, RoomEvent>>();
  readonly #authTypes = new Map<string, Set<StateTupleKey>>();
  readonly #powerLevelParent = new Map<string, RoomEvent | undefined>();

  constructor(
    events: EventLookup,
    rules: RoomVersionRules,
    isRejected: ((eventId: string) => boolean) | undefined,
    createEvent: RoomEvent | undefined,
  ) {
    this.event = requiringLookup(events);
    this.#rules = rules;
    this.#isRejected = isRejected ?? (() => false);
    this.#createEvent = createEvent;
  }

  /**
   * The union of the states' full auth chains minus their intersection. Each state's full
   * auth chain here also holds the state's own events, as Synapse computes it: the spec's
   * wording leaves them out, which gives the same result in v2 but not always in v2.1, and
   * servers in one room must agree, so we follow the implementation most rooms run on.
   */
  authDifference(states: readonly StateMap[]): string[] {
    const seenIn = new Map<string, number>();
    for (const state of states) {
      const chain = this.#authChainOf(state.values());
      for (const id of state.values()) chain.add(id);
      for (const id of chain) {
        seenIn.set(id, (seenIn.get(id) ?? 0) + 1);
      }
    }
    const difference: string[] = [];
    for (const [id, count] of seenIn) if (count < states.length) difference.push(id);
    return difference;
  }

  /**
   * The conflicted state subgraph (v2.1): every event on an auth_events path from one
   * conflicted event to another, endpoints included. An event is on such a path when it is
   * in the auth chain of a conflicted event and a conflicted event is in its own auth chain.
   */
  conflictedSubgraph(conflicted: ReadonlySet<string>): Set<string> {
    const below = this.#authChainOf(conflicted);
    // Walk back up from the conflicted events along reversed auth edges, staying inside the
    // region below them: whatever is reached sits between two conflicted events.
    const citedBy = new Map<string, string[]>();
    for (const id of [...below, ...conflicted]) {
      for (const authId of this.event(id).authEvents) {
        if (!below.has(authId)) continue;
        const list = citedBy.get(authId);
        if (list === undefined) citedBy.set(authId, [id]);
        else list.push(id);
      }
    }
    const subgraph = new Set<string>(conflicted);
    const upward: string[] = [];
    for (const id of conflicted) if (below.has(id)) upward.push(id);
    // A conflicted event in the region is itself a path endpoint; climb from each of them.
    const climbed = new Set<string>(upward);
    while (upward.length > 0) {
      const id = upward.pop()!;
      for (const parent of citedBy.get(id) ?? []) {
        if (climbed.has(parent)) continue;
        climbed.add(parent);
        subgraph.add(parent);
        upward.push(parent);
      }
    }
    return subgraph;
  }

  /** The given events plus the events of their auth chains that are in `within`. */
  withAuthChainsWithin(ids: readonly string[], within: ReadonlySet<string>): Set<string> {
    const selected = new Set(ids);
    for (const id of this.#authChainOf(ids)) if (within.has(id)) selected.add(id);
    return selected;
  }

  /**
   * Kahn's algorithm over the auth DAG restricted to `ids`, always taking the smallest ready
   * event: higher sender power first, then older origin_server_ts, then smaller event ID.
   */
  reverseTopologicalPowerOrder(ids: ReadonlySet<string>): RoomEvent[] {
    const waitingOn = new Map<string, number>();
    const citedBy = new Map<string, string[]>();
    const ready = new MinHeap<PowerSortItem>(powerOrderLess);
    for (const id of ids) {
      const parents = new Set(this.event(id).authEvents.filter((a) => ids.has(a)));
      waitingOn.set(id, parents.size);
      for (const parent of parents) {
        const list = citedBy.get(parent);
        if (list === undefined) citedBy.set(parent, [id]);
        else list.push(id);
      }
      if (parents.size === 0) ready.push(this.#powerSortItem(id));
    }
    const order: RoomEvent[] = [];
    while (ready.size > 0) {
      const { event } = ready.pop()!;
      order.push(event);
      for (const child of citedBy.get(event.eventId) ?? []) {
        const left = waitingOn.get(child)! - 1;
        waitingOn.set(child, left);
        if (left === 0) ready.push(this.#powerSortItem(child));
      }
    }
    if (order.length !== ids.size) {
      const stuck = [...ids].filter((id) => waitingOn.get(id)! > 0).sort(compareIds);
      throw new StateResolutionError(
        "AUTH_CYCLE",
        `the auth events of ${stuck.slice(0, 5).join(", ")} form a cycle`,
        stuck[0],
      );
    }
    return order;
  }

  /**
   * Orders events by their mainline position relative to the power levels event `top`
   * (earlier in the mainline first, events off the mainline before all), then by
   * origin_server_ts, then by event ID.
   */
  mainlineOrder(events: readonly RoomEvent[], top: string | undefined): RoomEvent[] {
    const position = new Map<string, number>();
    let index = 0;
    for (let p = top === undefined ? undefined : this.event(top); p; p = this.#plParent(p)) {
      if (position.has(p.eventId)) break; // a cycle; the Kahn sort reports those
      position.set(p.eventId, index++);
    }
    // Positions of power levels events off the mainline are memoised as they are found.
    const positionOf = (event: RoomEvent): number => {
      const path = new Set<string>();
      let found = Infinity;
      for (let p = this.#plParent(event); p; p = this.#plParent(p)) {
        const known = position.get(p.eventId);
        if (known !== undefined) {
          found = known;
          break;
        }
        if (path.has(p.eventId)) {
          throw new StateResolutionError(
            "AUTH_CYCLE",
            `the power levels auth events of ${p.eventId} form a cycle`,
            p.eventId,
          );
        }
        path.add(p.eventId);
      }
      for (const id of path) position.set(id, found);
      return found;
    };
    const keyed = events.map((event) => ({ event, position: positionOf(event) }));
    keyed.sort((x, y) => {
      if (x.position !== y.position) return x.position > y.position ? -1 : 1;
      if (x.event.originServerTs !== y.event.originServerTs) {
        return x.event.originServerTs - y.event.originServerTs;
      }
      return compareIds(x.event.eventId, y.event.eventId);
    });
    return keyed.map((k) => k.event);
  }

  /**
   * Applies each state event to `state` (in place) if it passes the auth rules against
   * `state`, falling back to the event's own non-rejected auth events for keys the state
   * lacks.
   */
  iterativeAuthChecks(order: readonly RoomEvent[], state: StateMap): void {
    for (const event of order) {
      if (event.stateKey === undefined) continue;
      const needed = this.#authTypesOf(event);
      const own = this.#authEventsByKey(event);
      const lookup: StateLookup = (type, stateKey) => {
        const key = stateTupleKey(type, stateKey);
        if (needed.has(key) || key === CREATE_KEY) {
          const id = state.get(key);
          if (id !== undefined) return this.event(id);
        }
        const authEvent = own.get(key);
        if (authEvent !== undefined && !this.#isRejected(authEvent.eventId)) return authEvent;
        return key === CREATE_KEY ? this.#createEvent : undefined;
      };
      if (checkAuth(event, lookup, this.#rules).ok) {
        state.set(stateTupleKey(event.type, event.stateKey), event.eventId);
      }
    }
  }

  /** Every event reachable from `from` through auth_events (not `from` itself). */
  #authChainOf(from: Iterable<string>): Set<string> {
    const chain = new Set<string>();
    const stack: string[] = [];
    for (const id of from) for (const authId of this.event(id).authEvents) stack.push(authId);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (chain.has(id)) continue;
      chain.add(id);
      for (const authId of this.event(id).authEvents) if (!chain.has(authId)) stack.push(authId);
    }
    return chain;
  }

  #powerSortItem(id: string): PowerSortItem {
    const event = this.event(id);
    const own = this.#authEventsByKey(event);
    const lookup: StateLookup = (type, stateKey) => {
      const key = stateTupleKey(type, stateKey);
      return own.get(key) ?? (key === CREATE_KEY ? this.#createEvent : undefined);
    };
    return { event, power: userPowerLevel(event.sender, lookup, this.#rules) };
  }

  #authEventsByKey(event: RoomEvent): Map<StateTupleKey, RoomEvent> {
    let byKey = this.#authByKey.get(event.eventId);
    if (byKey === undefined) {
      byKey = new Map();
      for (const id of event.authEvents) {
        const authEvent = this.event(id);
        if (authEvent.stateKey === undefined) continue;
        const key = stateTupleKey(authEvent.type, authEvent.stateKey);
        if (!byKey.has(key)) byKey.set(key, authEvent);
      }
      this.#authByKey.set(event.eventId, byKey);
    }
    return byKey;
  }

  #authTypesOf(event: RoomEvent): Set<StateTupleKey> {
    let keys = this.#authTypes.get(event.eventId);
    if (keys === undefined) {
      keys = new Set();
      for (const [type, stateKey] of authEventTypes(event, this.#rules)) {
        keys.add(stateTupleKey(type, stateKey));
      }
      this.#authTypes.set(event.eventId, keys);
    }
    return keys;
  }

  /** The power levels event among an event's auth events. */
  #plParent(event: RoomEvent): RoomEvent | undefined {
    if (this.#powerLevelParent.has(event.eventId)) return this.#powerLevelParent.get(event.eventId);
    const parent = this.#authEventsByKey(event).get(POWER_LEVELS_KEY);
    this.#powerLevelParent.set(event.eventId, parent);
    return parent;
  }
}

function powerOrderLess(x: PowerSortItem, y: PowerSortItem): boolean {
  if (x.power !== y.power) return x.power > y.power;
  if (x.event.originServerTs !== y.event.originServerTs) {
    return x.event.originServerTs < y.event.originServerTs;
  }
  return x.event.eventId < y.event.eventId;
}
