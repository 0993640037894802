/**
 * State resolution: the state before an event is the resolution of the states after its
 * prev_events. `resolveState` runs the algorithm of the room's version (v1 for room version 1,
 * v2 for 2-11, v2.1 for 12); `stateAfterEvent` is the S'(E) rule.
 *
 * Resolution is pure and synchronous: the caller loads every event of the states and of their
 * auth chains first and passes a lookup over them.
 *
 * @module
 */
import type { RoomVersionRules } from "../room_versions.ts";
import type { EventLookup, RoomEvent, StateMap } from "../types.ts";
import { stateTupleKey } from "../types.ts";
import { StateResolutionError } from "./common.ts";
import { resolveStateV1 } from "./v1.ts";
import { resolveStateV2 } from "./v2.ts";

export { StateResolutionError, type StateResolutionErrorCode } from "./common.ts";
export { resolveStateV1, sha1Hex } from "./v1.ts";
export { isPowerEvent, partitionStates, resolveStateV2, type ResolveV2Options } from "./v2.ts";

/** Options of {@link resolveState}. */
export interface ResolveStateOptions {
  /**
   * Says whether an event was rejected; rejected auth events are never used to fill in state
   * during v2's iterative auth checks. Room version 1 ignores it.
   */
  isRejected?: (eventId: string) => boolean;
}

/**
 * Resolves a set of room states into one with the algorithm of `rules.stateResolution`.
 * Returns a new map and leaves the inputs alone; the result does not depend on the order of
 * `states`. Throws {@link StateResolutionError} (code MISSING_EVENT) if `events` lacks an
 * event that the resolution needs, or (AUTH_CYCLE) if auth events form a cycle.
 */
export function resolveState(
  states: readonly StateMap[],
  events: EventLookup,
  rules: RoomVersionRules,
  options: ResolveStateOptions = {},
): StateMap {
  if (states.length === 0) return new Map();
  if (states.length === 1) return new Map(states[0]);
  switch (rules.stateResolution) {
    case "v1":
      return resolveStateV1(states, events, rules);
    case "v2":
    case "v2.1":
      return resolveStateV2(states, events, rules, {
        isRejected: options.isRejected,
        algorithm: rules.stateResolution,
      });
    default:
      throw new StateResolutionError(
        "UNKNOWN_ALGORITHM",
        `room version ${rules.id} names an unknown state resolution algorithm ` +
          JSON.stringify(rules.stateResolution),
      );
  }
}

/**
 * The state after an event, S'(E): the state before it, with the event's own
 * (type, state_key) entry replaced by it when it is a state event. Returns a new map.
 */
export function stateAfterEvent(stateBefore: StateMap, event: RoomEvent): StateMap {
  const after = new Map(stateBefore);
  if (event.stateKey !== undefined) {
    after.set(stateTupleKey(event.type, event.stateKey), event.eventId);
  }
  return after;
}
