/**
 * Which new rooms are encrypted from the start (`[e2ee] default_for`): `createRoom` adds the
 * state event this returns to the room's initial state, unless the request's own
 * `initial_state` already has an `m.room.encryption` event.
 *
 * - `all`: every new room;
 * - `invite` (the default): rooms created with the `private_chat` or `trusted_private_chat`
 *   preset, and direct chats (`is_direct`);
 * - `off`: none.
 *
 * @module
 */

import type { Config } from "../config.ts";

/** The megolm algorithm clients use for room messages. */
export const MEGOLM_ALGORITHM = "m.megolm.v1.aes-sha2";

/** The parts of a `/createRoom` request that decide default encryption. */
export interface CreateRoomShape {
  /** The request's `preset` (undefined: derived from `visibility`, i.e. `private_chat` unless public). */
  preset?: string;
  /** The request's `visibility`. */
  visibility?: string;
  /** The request's `is_direct`. */
  isDirect?: boolean;
}

/**
 * The `m.room.encryption` initial state event for a new room, or null when the policy leaves the
 * room unencrypted.
 */
export function defaultEncryptionEvent(
  config: Pick<Config, "e2ee">,
  room: CreateRoomShape,
): { type: "m.room.encryption"; state_key: ""; content: { algorithm: string } } | null {
  const policy = config.e2ee.defaultFor;
  if (policy === "off") return null;
  if (policy === "invite") {
    // The spec's default preset: public_chat for public rooms, private_chat otherwise.
    const preset = room.preset ??
      (room.visibility === "public" ? "public_chat" : "private_chat");
    const invite = preset === "private_chat" || preset === "trusted_private_chat";
    if (!invite && !room.isDirect) return null;
  }
  return { type: "m.room.encryption", state_key: "", content: { algorithm: MEGOLM_ALGORITHM } };
}
