/**
 * A room's pinned messages: the `m.room.pinned_events` state and who may change it. (Pinning,
 * forwarding, quoting and reporting are in message_tools.ts, loaded with the "More actions" list.)
 *
 * @module
 */

import type { Room } from "matrix-js-sdk";

/** The state event that lists a room's pinned messages. */
export const PINNED_EVENTS = "m.room.pinned_events";

/** The IDs of the room's pinned messages, in the order the state event lists them. */
export function pinnedIds(room: Room): string[] {
  const content = room.currentState.getStateEvents(PINNED_EVENTS, "")?.getContent();
  const pinned = content?.pinned;
  if (!Array.isArray(pinned)) return [];
  return [...new Set(pinned.filter((id): id is string => typeof id === "string"))];
}

/** Whether this user's power level lets them change the pinned messages. */
export function canPin(room: Room, userId: string | null): boolean {
  if (!userId) return false;
  return room.currentState.maySendStateEvent(PINNED_EVENTS, userId);
}
