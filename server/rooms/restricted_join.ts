/**
 * Restricted joins (room versions 8+, spec: "Restricted rooms"): a user who is neither invited
 * nor joined may join a `restricted` (or `knock_restricted`) room when they are in one of the
 * rooms its `allow` list names; the join event then names, in
 * `join_authorised_via_users_server`, a member of this server who may invite. Used for a
 * local user's `/join` and for another server's `make_join`.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { forbidden, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { powerView } from "./power.ts";

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * For a join to a restricted room (v8+) by a user who is neither invited nor joined: one of
 * our joined users who may invite, to name in `join_authorised_via_users_server`, once the
 * user is found joined to a room the join rules allow. Null when the join needs no
 * authoriser.
 *
 * @throws {MatrixError} 400 M_UNABLE_TO_AUTHORISE_JOIN when no allowed room has the user
 *   (as far as this server knows; 403 M_FORBIDDEN for a `local` user, as Synapse answers its
 *   own users), M_UNABLE_TO_GRANT_JOIN when none of our users may invite
 */
export async function restrictedJoinAuthoriser(
  hs: Homeserver,
  roomId: string,
  userId: string,
  options: { local?: boolean } = {},
): Promise<string | null> {
  const rules = await hs.rooms.rulesOf(roomId);
  if (!rules?.restrictedJoins) return null;
  const joinRules = await hs.rooms.currentStateEvent(roomId, "m.room.join_rules", "");
  const rule = joinRules?.event.content.join_rule;
  if (rule !== "restricted" && rule !== "knock_restricted") return null;
  const current = await hs.rooms.membership(roomId, userId);
  if (current?.membership === "join" || current?.membership === "invite") return null;
  const allow = Array.isArray(joinRules!.event.content.allow) ? joinRules!.event.content.allow : [];
  let allowed = false;
  for (const entry of allow.slice(0, 50)) {
    if (!isObject(entry) || entry.type !== "m.room_membership") continue;
    if (typeof entry.room_id !== "string") continue;
    if ((await hs.rooms.membership(entry.room_id, userId))?.membership === "join") {
      allowed = true;
      break;
    }
  }
  if (!allowed && options.local) {
    throw forbidden("You are not in any of the rooms or spaces whose members may join this room");
  }
  if (!allowed) {
    throw new MatrixError(
      "M_UNABLE_TO_AUTHORISE_JOIN",
      `${userId} is not known here to be in a room that the join rules allow`,
      { status: 400 },
    );
  }
  const power = await powerView(
    async (type, stateKey) => await hs.rooms.currentStateEvent(roomId, type, stateKey),
    rules,
  );
  const members = await hs.rooms.members(roomId);
  const authoriser = members.find((m) =>
    serverNameOf(m) === hs.config.serverName && power.levelOf(m) >= power.levels.levels.invite
  );
  if (!authoriser) {
    throw new MatrixError(
      "M_UNABLE_TO_GRANT_JOIN",
      "None of this server's users in the room may invite; try another server",
      { status: 400 },
    );
  }
  return authoriser;
}
