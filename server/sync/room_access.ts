/**
 * What the sync-side modules (receipts, typing, presence, the user directory, reports) ask of
 * the room store (`hs.rooms`): membership checks and where an event sits in the stream.
 *
 * @module
 */

import { forbidden } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { visibleEvent } from "../rooms/visibility.ts";

/** Throws 403 M_FORBIDDEN unless the user is joined to the room. */
export async function requireJoined(hs: Homeserver, roomId: string, userId: string): Promise<void> {
  const membership = await hs.rooms.membership(roomId, userId);
  if (membership?.membership !== "join") throw forbidden("You are not joined to this room");
}

/** Whether two users share a joined room. */
export async function sharesRoomWith(hs: Homeserver, a: string, b: string): Promise<boolean> {
  const mine = new Set(await hs.rooms.joinedRooms(a));
  for (const roomId of await hs.rooms.joinedRooms(b)) if (mine.has(roomId)) return true;
  return false;
}

/** Whether the server knows the room. */
export async function roomExists(hs: Homeserver, roomId: string): Promise<boolean> {
  return (await hs.rooms.room(roomId)) !== null;
}

/**
 * A timeline event of the room that the user (joined to the room) may see, or null.
 */
export async function visibleTimelineEvent(
  hs: Homeserver,
  where: { roomId: string; eventId: string; userId: string },
): Promise<StoredEvent | null> {
  const stored = await hs.rooms.event(where.eventId);
  if (!stored || stored.event.roomId !== where.roomId || stored.meta.pos === null) return null;
  return await visibleEvent(hs.rooms, where.userId, stored);
}

/** Whether the event exists in the room and the user, joined to it, may see it. */
export async function eventVisibleInRoom(
  hs: Homeserver,
  where: { roomId: string; eventId: string; userId: string },
): Promise<boolean> {
  const membership = await hs.rooms.membership(where.roomId, where.userId);
  if (membership?.membership !== "join") return false;
  return (await visibleTimelineEvent(hs, where)) !== null;
}

/** Whether the room's join rule is `public`. */
async function isPublicRoom(hs: Homeserver, roomId: string): Promise<boolean> {
  const joinRules = await hs.rooms.currentStateEvent(roomId, "m.room.join_rules", "");
  return joinRules?.event.content.join_rule === "public";
}

/**
 * The users the directory shows to `userId`: those sharing a joined room with them, and those
 * joined to rooms with a `public` join rule (published or not).
 */
export async function usersVisibleInDirectory(
  hs: Homeserver,
  userId: string,
): Promise<Set<string>> {
  const users = new Set<string>();
  const mine = new Set(await hs.rooms.joinedRooms(userId));
  const rooms = new Set<string>(mine);
  for await (const entry of hs.kv.list({ prefix: ["room"] })) {
    const roomId = entry.key[1] as string;
    if (!mine.has(roomId) && await isPublicRoom(hs, roomId)) rooms.add(roomId);
  }
  for (const roomId of rooms) {
    for (const member of await hs.rooms.members(roomId)) users.add(member);
  }
  users.delete(userId);
  return users;
}
