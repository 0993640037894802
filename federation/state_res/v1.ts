/**
 * State resolution version 1 (room version 1): keep everything the states agree on, then
 * settle conflicts type by type (power levels, join rules, memberships, everything else),
 * ordering the candidates by depth and by the SHA-1 of their event IDs.
 *
 * Spec: content/rooms/v1.md "State resolution". Known to reset state in some cases; room
 * version 2 replaced it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { checkAuth } from "../auth_rules.ts";
import type { RoomVersionRules } from "../room_versions.ts";
import type { EventLookup, RoomEvent, StateLookup, StateMap, StateTupleKey } from "../types.ts";
import { splitStateTupleKey, stateTupleKey } from "../types.ts";
import { compareIds, requiringLookup } from "./common.ts";

const POWER_LEVELS_KEY = stateTupleKey("m.room.power_levels", "");

/** The SHA-1 of a string's UTF-8 bytes, as lowercase hex (v1's event ID tie-break). */
export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/**
 * Resolves a set of room states with the room version 1 algorithm and returns a new map.
 *
 * Unlike v2, a key that only some states have is not a conflict: R starts as the union of the
 * states without the conflicting keys. Conflicts are settled in passes, each against R as the
 * earlier passes left it: power levels, then join rules, then memberships (each membership key
 * against the same R, so the result does not depend on the order of keys), then the rest.
 */
export function resolveStateV1(
  states: readonly StateMap[],
  events: EventLookup,
  rules: RoomVersionRules,
): StateMap {
  const resolved: StateMap = new Map();
  const conflicts = new Map<StateTupleKey, Set<string>>();
  for (const state of states) {
    for (const [key, id] of state) {
      const conflict = conflicts.get(key);
      if (conflict !== undefined) {
        conflict.add(id);
        continue;
      }
      const seen = resolved.get(key);
      if (seen === undefined) {
        resolved.set(key, id);
      } else if (seen !== id) {
        conflicts.set(key, new Set([seen, id]));
        resolved.delete(key);
      }
    }
  }
  if (conflicts.size === 0) return resolved;

  const event = requiringLookup(events);
  const sortKeys = new Map<string, string>();
  const sha1Of = (id: string) => {
    let hash = sortKeys.get(id);
    if (hash === undefined) sortKeys.set(id, hash = sha1Hex(id));
    return hash;
  };
  /** Highest depth first, then lowest SHA-1 of the event ID. */
  const byDepthDescending = (ids: Iterable<string>): RoomEvent[] =>
    [...ids].map(event).sort((x, y) =>
      x.depth !== y.depth ? y.depth - x.depth : compareIds(sha1Of(x.eventId), sha1Of(y.eventId))
    );

  const authPass = (keys: StateTupleKey[]) => {
    const winners: Array<[StateTupleKey, string]> = [];
    for (const key of keys) {
      const candidates = byDepthDescending(conflicts.get(key)!).reverse();
      winners.push([key, settleAuthConflict(candidates, key, resolved, event, rules)]);
    }
    for (const [key, id] of winners) resolved.set(key, id);
  };
  const keysOfType = (type: string) =>
    [...conflicts.keys()].filter((key) => splitStateTupleKey(key)[0] === type).sort(compareIds);

  if (conflicts.has(POWER_LEVELS_KEY)) authPass([POWER_LEVELS_KEY]);
  authPass(keysOfType("m.room.join_rules"));
  authPass(keysOfType("m.room.member"));

  const lookup = lookupIn(resolved, event);
  const others: Array<[StateTupleKey, string]> = [];
  for (const [key, ids] of conflicts) {
    const type = splitStateTupleKey(key)[0];
    if (key === POWER_LEVELS_KEY || type === "m.room.join_rules" || type === "m.room.member") {
      continue;
    }
    const candidates = byDepthDescending(ids);
    // The spec does not say what to do when no candidate passes; like other servers, take
    // the last (lowest) one so every server still agrees on some value.
    const winner = candidates.find((c) => checkAuth(c, lookup, rules).ok) ??
      candidates[candidates.length - 1];
    others.push([key, winner.eventId]);
  }
  for (const [key, id] of others) resolved.set(key, id);
  return resolved;
}

/**
 * One auth-relevant conflict: `candidates` in ascending depth, descending SHA-1 order. The
 * first is taken; each next one replaces it while it passes the auth rules against R with the
 * current choice in place; the first failure ends the pass.
 */
function settleAuthConflict(
  candidates: readonly RoomEvent[],
  key: StateTupleKey,
  resolved: StateMap,
  event: (id: string) => RoomEvent,
  rules: RoomVersionRules,
): string {
  let current = candidates[0];
  const base = lookupIn(resolved, event);
  const lookup: StateLookup = (type, stateKey) =>
    stateTupleKey(type, stateKey) === key ? current : base(type, stateKey);
  for (let i = 1; i < candidates.length; i++) {
    if (!checkAuth(candidates[i], lookup, rules).ok) break;
    current = candidates[i];
  }
  return current.eventId;
}

function lookupIn(state: StateMap, event: (id: string) => RoomEvent): StateLookup {
  return (type, stateKey) => {
    const id = state.get(stateTupleKey(type, stateKey));
    return id === undefined ? undefined : event(id);
  };
}
