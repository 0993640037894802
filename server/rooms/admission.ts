/**
 * Pieces of admission shared by the pipeline's modes: loading the state events the auth rules
 * read (so the engine's lookups are synchronous), turning a state change into the events it
 * sets, and ordering a batch of events so that each comes after what it refers to.
 *
 * @module
 */

import { authEventTypes } from "../../federation/auth_events.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import { diffStates } from "./state_store.ts";
import {
  type JsonObject,
  type RoomEvent,
  type StateLookup,
  type StateMap,
  stateTupleKey,
} from "../../federation/types.ts";
import type { StateChange } from "./event_write.ts";
import type { RoomStore } from "./room_store.ts";

/** A synchronous view of the state events the auth rules read for one event. */
export interface AuthLookup {
  get: StateLookup;
  /** The loaded events by ID. */
  byId: Map<string, RoomEvent>;
}

/** Loads, from `state`, the events the auth rules read for `subject`. */
export async function authLookup(
  rooms: RoomStore,
  state: StateMap,
  subject: {
    type: string;
    stateKey?: string;
    sender: string;
    content: JsonObject;
    rules: RoomVersionRules;
  },
): Promise<AuthLookup> {
  const wanted: [string, string][] = [
    ["m.room.create", ""],
    ["m.room.power_levels", ""],
    ["m.room.join_rules", ""],
    ["m.room.member", subject.sender],
    ...authEventTypes({ ...subject, stateKey: subject.stateKey }, subject.rules),
  ];
  if (subject.type === "m.room.member" && subject.stateKey !== undefined) {
    wanted.push(["m.room.member", subject.stateKey]);
  }
  const ids = wanted.map(([t, k]) => state.get(stateTupleKey(t, k)))
    .filter((id) => id !== undefined);
  const loaded = await rooms.events(ids);
  const byId = new Map<string, RoomEvent>();
  for (const [id, stored] of loaded) byId.set(id, stored.event);
  const get: StateLookup = (type, stateKey) => {
    const id = state.get(stateTupleKey(type, stateKey));
    return id === undefined ? undefined : byId.get(id);
  };
  return { get, byId };
}

/**
 * The changes from one state to another as the events they set (`event`, not stored yet, is
 * used as it is).
 *
 * @throws {Error} when a state event is not stored (a storage bug)
 */
export async function diffChanges(
  rooms: RoomStore,
  before: StateMap,
  after: StateMap,
  event: RoomEvent,
): Promise<StateChange[]> {
  const delta = diffStates(before, after);
  const ids = delta.map(([, id]) => id).filter((id) => id !== null && id !== event.eventId);
  const loaded = await rooms.events(ids as string[]);
  return delta.map(([key, id]): StateChange => {
    if (id === null) return { key, event: null };
    if (id === event.eventId) return { key, event };
    const stored = loaded.get(id);
    if (!stored) throw new Error(`state event ${id} is not stored`);
    return { key, event: stored.event };
  });
}

/** Orders events so that each comes after the events of the batch it names in `edges`. */
function topological(
  events: readonly RoomEvent[],
  edges: (event: RoomEvent) => readonly string[],
): RoomEvent[] {
  const byId = new Map(events.map((e) => [e.eventId, e]));
  // Depth first, then ID, so the order is stable; the walk fixes any depth lies.
  const sorted = [...byId.values()].sort((a, b) =>
    a.depth - b.depth || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0)
  );
  const out: RoomEvent[] = [];
  const state = new Map<string, "visiting" | "done">();
  for (const root of sorted) {
    if (state.has(root.eventId)) continue;
    // Iterative post-order walk (auth chains can be long).
    const stack: { event: RoomEvent; next: number }[] = [{ event: root, next: 0 }];
    state.set(root.eventId, "visiting");
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const refs = edges(top.event);
      if (top.next < refs.length) {
        const child = byId.get(refs[top.next++]);
        if (child && !state.has(child.eventId)) {
          state.set(child.eventId, "visiting");
          stack.push({ event: child, next: 0 });
        }
        continue;
      }
      stack.pop();
      state.set(top.event.eventId, "done");
      out.push(top.event);
    }
  }
  return out;
}

/** Auth events before the events they authorise. */
export function sortByAuth(events: readonly RoomEvent[]): RoomEvent[] {
  return topological(events, (e) => e.authEvents);
}

/** Prev events before the events that follow them (oldest first). */
export function sortByPrev(events: readonly RoomEvent[]): RoomEvent[] {
  return topological(events, (e) => e.prevEvents);
}
