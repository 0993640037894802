/**
 * State resolution against storage: the room engine (`federation/state_res`) is pure and
 * synchronous, so the events it reads (every event of the states and of their auth chains)
 * are loaded first, then it runs.
 *
 * @module
 */

import type { RoomVersionRules } from "../../federation/room_versions.ts";
import { partitionStates, resolveState } from "../../federation/state_res/mod.ts";
import type { RoomEvent, StateMap } from "../../federation/types.ts";
import type { RoomStore, StoredEvent } from "./room_store.ts";

/** Loads events and, transitively, their auth events; missing ones are left out. */
export async function loadAuthClosure(
  rooms: RoomStore,
  eventIds: Iterable<string>,
  into: Map<string, StoredEvent> = new Map(),
): Promise<Map<string, StoredEvent>> {
  let frontier = [...new Set(eventIds)].filter((id) => !into.has(id));
  const tried = new Set<string>(frontier);
  while (frontier.length > 0) {
    const found = await rooms.events(frontier);
    const next: string[] = [];
    for (const [id, stored] of found) {
      into.set(id, stored);
      for (const authId of stored.event.authEvents) {
        if (!into.has(authId) && !tried.has(authId)) {
          tried.add(authId);
          next.push(authId);
        }
      }
    }
    frontier = next;
  }
  return into;
}

/**
 * Resolves room states with the algorithm of the room's version. States that agree need no
 * reads; otherwise the events of every state and their auth chains are loaded.
 *
 * @throws {StateResolutionError} when an event the algorithm needs is not stored
 */
export async function resolveRoomStates(
  rooms: RoomStore,
  states: readonly StateMap[],
  rules: RoomVersionRules,
  pending: readonly RoomEvent[] = [],
): Promise<StateMap> {
  const distinct = [...new Set(states)];
  if (distinct.length === 1) return distinct[0];
  const { unconflicted, conflicted } = partitionStates(distinct);
  if (conflicted.size === 0) return unconflicted;
  // Events not stored yet (the one being committed) are known by the caller.
  const unstored = new Map(pending.map((e) => [e.eventId, e]));
  const ids = new Set<string>();
  for (const state of distinct) {
    for (const id of state.values()) if (!unstored.has(id)) ids.add(id);
  }
  for (const e of pending) for (const id of e.authEvents) ids.add(id);
  const loaded = await loadAuthClosure(rooms, ids);
  return resolveState(distinct, (id) => unstored.get(id) ?? loaded.get(id)?.event, rules, {
    isRejected: (id) => (loaded.get(id)?.meta.rejected ?? null) !== null,
  });
}
