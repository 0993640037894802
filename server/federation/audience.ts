/**
 * Which other servers hear of something a local user does: the servers with joined members in
 * one room (typing, receipts), or in any room the user is joined to (presence, device lists,
 * signing keys). This server is never in the answer.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { serversInRoom } from "./room_events.ts";

/** Other servers with a joined member in the room. */
export async function roomAudience(hs: Homeserver, roomId: string): Promise<string[]> {
  const servers = await serversInRoom(hs, roomId);
  servers.delete(hs.config.serverName);
  return [...servers].sort();
}

/** Other servers sharing at least one joined room with `userId`. */
export async function userAudience(hs: Homeserver, userId: string): Promise<string[]> {
  const out = new Set<string>();
  for (const roomId of await hs.rooms.joinedRooms(userId)) {
    for (const server of await serversInRoom(hs, roomId)) out.add(server);
  }
  out.delete(hs.config.serverName);
  return [...out].sort();
}

/** Does `server` share a joined room with `userId` (a local user)? */
export async function sharesRoomWith(
  hs: Homeserver,
  userId: string,
  server: string,
): Promise<boolean> {
  for (const roomId of await hs.rooms.joinedRooms(userId)) {
    if ((await serversInRoom(hs, roomId)).has(server)) return true;
  }
  return false;
}
