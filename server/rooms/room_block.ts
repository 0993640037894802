/**
 * Blocked rooms: a server admin's list of room IDs this server refuses (Synapse's "Block Room
 * API"). Local users cannot join, knock on or be invited into a blocked room, and invites from
 * other servers into one are refused. A room can be blocked before this server knows it.
 *
 * Key: `["room_blocked", roomId]` -> {@link BlockRecord}.
 *
 * @module
 */

import { forbidden } from "../errors.ts";

/** Who blocked a room, and when. */
export interface BlockRecord {
  userId: string;
  ts: number;
}

/** `["room_blocked", roomId]`. */
export function blockKey(roomId: string): Deno.KvKey {
  return ["room_blocked", roomId];
}

/** The block of a room, or null when it is not blocked. */
export async function roomBlock(kv: Deno.Kv, roomId: string): Promise<BlockRecord | null> {
  return (await kv.get<BlockRecord>(blockKey(roomId))).value;
}

/** Blocks (with the admin's user ID) or unblocks a room. */
export async function setRoomBlocked(
  kv: Deno.Kv,
  roomId: string,
  block: { userId: string } | null,
): Promise<void> {
  if (block) {
    await kv.set(blockKey(roomId), { userId: block.userId, ts: Date.now() } as BlockRecord);
  } else {
    await kv.delete(blockKey(roomId));
  }
}

/** @throws {MatrixError} 403 M_FORBIDDEN when the room is blocked on this server */
export async function refuseBlockedRoom(kv: Deno.Kv, roomId: string): Promise<void> {
  if (await roomBlock(kv, roomId)) {
    throw forbidden("This room has been blocked on this server");
  }
}
