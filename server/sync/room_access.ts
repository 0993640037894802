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
