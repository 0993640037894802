/**
 * What the sync-side modules (receipts, typing, presence, the user directory, reports) ask of
 * the room store: membership checks and where an event sits in the stream.
 *
 * @module
 */

import { forbidden } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";

/**
 * Throws 403 M_FORBIDDEN unless the user is joined to the room.
 */
export function requireJoined(_hs: Homeserver, _roomId: string, _userId: string): Promise<void> {
  return Promise.reject(forbidden("You are not in this room"));
}

/** Whether two users share a joined room. */
export function sharesRoomWith(_hs: Homeserver, _a: string, _b: string): Promise<boolean> {
  return Promise.resolve(false);
}

/** Whether the server knows the room. */
export function roomExists(_hs: Homeserver, _roomId: string): Promise<boolean> {
  return Promise.resolve(false);
}

/** Whether the event exists in the room and the user, joined to it, may see it. */
export function eventVisibleInRoom(
  _hs: Homeserver,
  _where: { roomId: string; eventId: string; userId: string },
): Promise<boolean> {
  return Promise.resolve(false);
}

/**
 * The users the directory shows to `userId`: those sharing a joined room with them, and those
 * joined to rooms with a `public` join rule.
 */
export function usersVisibleInDirectory(_hs: Homeserver, _userId: string): Promise<Set<string>> {
  return Promise.resolve(new Set());
}
