/**
 * Room membership (spec: Client-Server API, "Room membership"): joining (by ID or alias),
 * inviting, leaving, forgetting, kicking, banning, unbanning, knocking, and the list of joined
 * rooms. Every change is one m.room.member event through the pipeline.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { isValidServerName } from "../../federation/identifiers.ts";
import { forbidden, jsonResponse, MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { JsonObject, JsonValue } from "../../federation/types.ts";
import { optionalString, requiredIdentifier } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { setProfilePropagator } from "./profile.ts";
import { guestJoinContent, watchGuestAccess } from "./guests.ts";
import { checkInviteAllowed } from "./invite_permission.ts";
import {
  forgetRoom,
  inviteTarget,
  inviteUser,
  joinRoom,
  knockRoom,
  leaveRoom,
  propagateProfileToRooms,
  requireRoom,
  resolveJoinTarget,
  roomIdParam,
  setMembership,
} from "../rooms/membership.ts";
import { checkServerNoticeLeave } from "../admin/server_notices.ts";

const V3 = "/_matrix/client/v3";
/** Longest accepted `reason`. */
const MAX_REASON_BYTES = 4096;

/**
 * Keys of a join request's body that are not member content: the spec's `third_party_signed`
 * (no third-party invites here), and fields the server sets itself.
 */
const NOT_MEMBER_CONTENT = new Set([
  "reason",
  "membership",
  "third_party_signed",
  "join_authorised_via_users_server",
]);

/**
 * The rest of a join request's body, kept in the new member event's content as Synapse does
 * (the spec defines only `reason` and `third_party_signed`; clients and bridges rely on extra
 * keys reaching the event). The profile fields are the server's; the event's size limit
 * bounds the rest.
 */
function extraMemberContent(body: Record<string, unknown>): JsonObject | undefined {
  const extra: JsonObject = {};
  for (const [key, value] of Object.entries(body)) {
    if (!NOT_MEMBER_CONTENT.has(key)) extra[key] = value as JsonValue;
  }
  return Object.keys(extra).length > 0 ? extra : undefined;
}

/** Routes of the membership module. */
export function membershipRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  setProfilePropagator(hs, propagateProfileToRooms);
  watchGuestAccess(hs);

  const join = async (
    roomId: string,
    userId: string,
    options: { reason?: string; servers?: string[]; extra?: JsonObject } = {},
  ) => {
    // Guests join only rooms whose m.room.guest_access is can_join.
    const extra = await guestJoinContent(hs, roomId, { userId, extra: options.extra });
    await joinRoom(hs, roomId, userId, { ...options, extra });
    return jsonResponse({ room_id: roomId });
  };
  /** `via` (v1.12+) and the older `server_name`, as server names. */
  const viaServers = (c: Context<AppEnv>): string[] =>
    [...(c.req.queries("via") ?? []), ...(c.req.queries("server_name") ?? [])]
      .filter(isValidServerName).slice(0, 20);

  app.post(`${V3}/rooms/:roomId/join`, auth, async (c) => {
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES });
    return await join(roomIdParam(c.req.param("roomId")), c.var.auth.userId, {
      reason,
      extra: extraMemberContent(body),
    });
  });

  app.post(`${V3}/join/:roomIdOrAlias`, auth, async (c) => {
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES });
    const target = await resolveJoinTarget(hs, c.req.param("roomIdOrAlias"));
    return await join(target.roomId, c.var.auth.userId, {
      reason,
      servers: [...viaServers(c), ...target.servers],
      extra: extraMemberContent(body),
    });
  });

  app.post(`${V3}/knock/:roomIdOrAlias`, auth, async (c) => {
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES });
    const target = await resolveJoinTarget(hs, c.req.param("roomIdOrAlias"));
    await knockRoom(hs, target.roomId, c.var.auth.userId, {
      reason,
      servers: [...viaServers(c), ...target.servers],
    });
    return jsonResponse({ room_id: target.roomId });
  });

  app.post(`${V3}/rooms/:roomId/invite`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const body = await readBody(hs, c);
    const reason = optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES });
    if (body.user_id === undefined && body.medium !== undefined) {
      throw new MatrixError("M_UNRECOGNIZED", "Third-party invites are not supported");
    }
    await requireRoom(hs, roomId);
    const target = await inviteTarget(hs, body.user_id);
    const current = await hs.rooms.membership(roomId, target);
    if (current?.membership === "join") throw forbidden(`${target} is already in the room`);
    if (current?.membership === "ban") throw forbidden(`${target} is banned from the room`);
    // A user of another server is asked by their server, which answers M_INVITE_BLOCKED.
    await checkInviteAllowed(hs, target);
    await inviteUser(hs, { roomId, sender: c.var.auth.userId, target, reason });
    return jsonResponse({});
  });

  app.post(`${V3}/rooms/:roomId/leave`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const body = await readBody(hs, c, { allowEmpty: true });
    const reason = optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES });
    await requireRoom(hs, roomId);
    await checkServerNoticeLeave(hs, roomId, c.var.auth.userId);
    await leaveRoom(hs, roomId, c.var.auth.userId, { reason });
    return jsonResponse({});
  });

  app.post(`${V3}/rooms/:roomId/forget`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    await readBody(hs, c, { allowEmpty: true });
    await forgetRoom(hs, roomId, c.var.auth.userId);
    return jsonResponse({});
  });

  const moderate = (
    action: "kick" | "ban" | "unban",
  ) =>
  async (c: import("hono").Context<AppEnv>) => {
    const roomId = roomIdParam(c.req.param("roomId")!);
    const body = await readBody(hs, c);
    const reason = optionalString(body, "reason", { maxBytes: MAX_REASON_BYTES });
    const target = requiredIdentifier(body, "user_id", "user ID");
    await requireRoom(hs, roomId);
    const current = await hs.rooms.membership(roomId, target);
    if (action === "kick" && !["join", "invite", "knock"].includes(current?.membership ?? "")) {
      throw forbidden(`${target} is not in the room`);
    }
    if (action === "unban" && current?.membership !== "ban") {
      throw forbidden(`${target} is not banned`);
    }
    await setMembership(hs, {
      roomId,
      sender: c.var.auth.userId,
      target,
      membership: action === "ban" ? "ban" : "leave",
      reason,
    });
    return jsonResponse({});
  };
  app.post(`${V3}/rooms/:roomId/kick`, auth, moderate("kick"));
  app.post(`${V3}/rooms/:roomId/ban`, auth, moderate("ban"));
  app.post(`${V3}/rooms/:roomId/unban`, auth, moderate("unban"));

  app.get(`${V3}/joined_rooms`, auth, async (c) => {
    return jsonResponse({ joined_rooms: await hs.rooms.joinedRooms(c.var.auth.userId) });
  });

  return app;
}
