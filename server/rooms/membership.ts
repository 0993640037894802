/**
 * Membership changes as server operations (join, invite, leave, kick, ban, unban, knock,
 * forget), shared by the membership endpoints, `createRoom` and room upgrades. Each is one
 * event through the pipeline; the auth rules decide, and their reason is the 403's message.
 *
 * @module
 */

import { checkIdentifier } from "../http_util.ts";
import { isValidRoomAlias, isValidRoomId, serverNameOf } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { badJson, forbidden, invalidParam, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { getUser } from "../store/accounts.ts";
import { memberProfile } from "../store/profiles.ts";
import { ContentionError } from "../store/turns.ts";
import type { StoredEvent } from "./room_store.ts";
import { roomKeys } from "./schema.ts";
import { restrictedJoinAuthoriser } from "./restricted_join.ts";
import { inviteRemoteUser } from "../federation/invite_routes.ts";
import { anyProfile } from "../client/profile.ts";
import { knockRemoteRoom } from "../federation/knock_routes.ts";
import { hasLocalMember, leaveOutOfRoom } from "./remote_invites.ts";
import { refuseBlockedRoom } from "./room_block.ts";
import {
  candidateServers,
  joinRemoteRoom,
  queryRemoteAlias,
} from "../federation/remote_membership.ts";

/** A remote room or user: this server cannot reach other servers yet. */
export function federationUnavailable(what: string): MatrixError {
  return new MatrixError(
    "M_UNKNOWN",
    `${what} is on another server; this server does not federate yet`,
    { status: 400 },
  );
}

/** Validates a room ID path parameter. */
export function roomIdParam(roomId: string): string {
  if (!isValidRoomId(roomId)) throw invalidParam(`'${roomId}' is not a valid room ID`);
  return roomId;
}

/**
 * A room ID from a room ID or a local alias (`/join/{roomIdOrAlias}`, `/knock/...`).
 *
 * @throws {MatrixError} 400 for malformed input, 404 for unknown aliases
 */
export async function resolveRoomIdOrAlias(hs: Homeserver, target: string): Promise<string> {
  return (await resolveJoinTarget(hs, target)).roomId;
}

/**
 * A room ID and the servers that may know it, from a room ID or an alias (a remote alias is
 * asked of its server over federation).
 *
 * @throws {MatrixError} 400 for malformed input, 404 for unknown aliases
 */
export async function resolveJoinTarget(
  hs: Homeserver,
  target: string,
): Promise<{ roomId: string; servers: string[] }> {
  if (target.startsWith("#")) {
    if (!isValidRoomAlias(target)) throw invalidParam(`'${target}' is not a valid room alias`);
    const record = await hs.rooms.alias(target);
    if (record) return { roomId: record.roomId, servers: [] };
    if (serverNameOf(target) !== hs.config.serverName) {
      if (!hs.config.federation.enabled) throw federationUnavailable(target);
      return await queryRemoteAlias(hs, target);
    }
    throw notFound(`Room alias ${target} not found`);
  }
  return { roomId: roomIdParam(target), servers: [] };
}

/** Fails with 404 unless this server knows the room. */
export async function requireRoom(hs: Homeserver, roomId: string): Promise<void> {
  if (await hs.rooms.room(roomId)) return;
  const server = serverNameOf(roomId);
  if (server !== undefined && server !== hs.config.serverName) {
    throw federationUnavailable(`Room ${roomId}`);
  }
  throw notFound(`Room ${roomId} not found`);
}

/** Fails unless `userId` is a valid user ID of a local, existing account. */
export async function requireLocalUser(hs: Homeserver, userId: unknown): Promise<string> {
  if (typeof userId !== "string") throw badJson("'user_id' must be a user ID");
  checkIdentifier(userId, "user ID", "'user_id'");
  if (serverNameOf(userId) !== hs.config.serverName) throw federationUnavailable(userId);
  if (!(await getUser(hs.kv, userId))) throw notFound(`User ${userId} does not exist`);
  return userId;
}

/**
 * The invitee of `/invite` and `createRoom`: a local, existing user, or (when this server federates) any valid
 * user ID of another server.
 */
export async function inviteTarget(hs: Homeserver, userId: unknown): Promise<string> {
  if (
    hs.config.federation.enabled && typeof userId === "string" &&
    serverNameOf(userId) !== hs.config.serverName
  ) {
    checkIdentifier(userId, "user ID", "'user_id'");
    return userId;
  }
  return await requireLocalUser(hs, userId);
}

/** Options of {@link setMembership}. */
export interface MembershipChange {
  roomId: string;
  sender: string;
  target: string;
  membership: "join" | "invite" | "leave" | "ban" | "knock";
  reason?: string;
  /** Extra content (e.g. `is_direct`). */
  extra?: JsonObject;
  txn?: { deviceId: string; txnId: string };
}

/** Sends one m.room.member event through the pipeline. */
export async function setMembership(
  hs: Homeserver,
  change: MembershipChange,
): Promise<StoredEvent> {
  const content: JsonObject = { ...change.extra, membership: change.membership };
  if (change.reason !== undefined) content.reason = change.reason;
  if (["join", "invite", "knock"].includes(change.membership)) {
    Object.assign(content, await memberProfile(hs, change.target));
  }
  return await hs.pipeline.sendEvent(change.roomId, {
    type: "m.room.member",
    stateKey: change.target,
    sender: change.sender,
    content,
  }, { txn: change.txn });
}

/**
 * Joins a local user to a room (a no-op when already joined). A room this server is not in
 * (unknown, or no local member left) is joined over federation through `servers` and the
 * room ID's server.
 */
export async function joinRoom(
  hs: Homeserver,
  roomId: string,
  userId: string,
  options: { reason?: string; servers?: readonly string[]; extra?: JsonObject } = {},
): Promise<void> {
  const current = await hs.rooms.membership(roomId, userId);
  if (current?.membership === "join") return;
  if (current?.membership === "ban") throw forbidden("You are banned from this room");
  await refuseBlockedRoom(hs.kv, roomId);
  if (hs.config.federation.enabled && !(await hasLocalMember(hs, roomId))) {
    // An invite (or an accepted knock) names a server that is in the room: its sender's.
    const via = [...(options.servers ?? [])];
    if (current?.membership === "invite") via.unshift(serverNameOf(current.sender) ?? "");
    const servers = candidateServers(hs, roomId, via.filter((s) => s !== ""));
    if (servers.length > 0) {
      const content: JsonObject = { ...options.extra, ...await memberProfile(hs, userId) };
      if (options.reason !== undefined) content.reason = options.reason;
      await joinRemoteRoom(hs, { roomId, userId, servers, content });
      return;
    }
  }
  await requireRoom(hs, roomId);
  // A restricted room admits members of the rooms it allows, vouched for by one of ours.
  const authoriser = await restrictedJoinAuthoriser(hs, roomId, userId, { local: true });
  await setMembership(hs, {
    roomId,
    sender: userId,
    target: userId,
    membership: "join",
    reason: options.reason,
    extra: authoriser
      ? { ...options.extra, join_authorised_via_users_server: authoriser }
      : options.extra,
  });
}

/**
 * Invites `target` (a local user, or over federation a user of another server) to a room
 * this server is in.
 */
export async function inviteUser(
  hs: Homeserver,
  change: { roomId: string; sender: string; target: string; reason?: string; extra?: JsonObject },
): Promise<void> {
  const { roomId, target } = change;
  await refuseBlockedRoom(hs.kv, roomId);
  if (serverNameOf(target) === hs.config.serverName) {
    await setMembership(hs, { ...change, membership: "invite" });
    return;
  }
  if (!hs.config.federation.enabled) throw federationUnavailable(target);
  const content: JsonObject = { ...change.extra };
  if (change.reason !== undefined) content.reason = change.reason;
  // The invitee's name and avatar, asked of their server (an invite without them is fine).
  const profile = await anyProfile(hs, target).catch(() => null);
  for (const field of ["displayname", "avatar_url"] as const) {
    const value = profile?.[field];
    if (typeof value === "string" && value !== "") content[field] = value;
  }
  await inviteRemoteUser(hs, { roomId, sender: change.sender, target, content });
}

/**
 * A local user leaves a room. An invite or knock in a room this server is not in is rejected
 * or retracted through a resident server (`make_leave` / `send_leave`); any other leave is a
 * normal event of the room, which the outbox sends to the other servers.
 */
export async function leaveRoom(
  hs: Homeserver,
  roomId: string,
  userId: string,
  options: { reason?: string } = {},
): Promise<void> {
  const current = await hs.rooms.membership(roomId, userId);
  if (current?.membership === "leave") return;
  if (!current || current.membership === "ban") {
    throw forbidden("You are not a member of this room");
  }
  if (
    (current.membership === "invite" || current.membership === "knock") &&
    !(await hasLocalMember(hs, roomId))
  ) {
    const stored = await hs.rooms.event(current.eventId);
    if (stored?.meta.outlier) {
      await leaveOutOfRoom(hs, { roomId, userId, current, reason: options.reason });
      return;
    }
  }
  await setMembership(hs, {
    roomId,
    sender: userId,
    target: userId,
    membership: "leave",
    reason: options.reason,
  });
}

/**
 * A local user knocks on a room: through the room's servers (`make_knock` / `send_knock`)
 * when this server is not in it, else as a local event.
 */
export async function knockRoom(
  hs: Homeserver,
  roomId: string,
  userId: string,
  options: { reason?: string; servers?: readonly string[] } = {},
): Promise<void> {
  const current = await hs.rooms.membership(roomId, userId);
  if (current?.membership === "join") throw forbidden("You are already in this room");
  if (current?.membership === "ban") throw forbidden("You are banned from this room");
  await refuseBlockedRoom(hs.kv, roomId);
  if (hs.config.federation.enabled && !(await hasLocalMember(hs, roomId))) {
    const servers = candidateServers(hs, roomId, options.servers ?? []);
    if (servers.length > 0) {
      const content: JsonObject = { ...await memberProfile(hs, userId) };
      if (options.reason !== undefined) content.reason = options.reason;
      await knockRemoteRoom(hs, { roomId, userId, servers, content });
      return;
    }
  }
  await requireRoom(hs, roomId);
  const rules = await hs.rooms.rulesOf(roomId);
  if (!rules?.knocking) {
    throw forbidden(`Room version ${rules?.id} does not support knocking`);
  }
  await setMembership(hs, {
    roomId,
    sender: userId,
    target: userId,
    membership: "knock",
    reason: options.reason,
  });
}

/** Marks a room the user has left as forgotten (it disappears from their lists and sync). */
export async function forgetRoom(hs: Homeserver, roomId: string, userId: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await hs.kv.get<import("./schema.ts").MembershipRecord>(
      roomKeys.userRoom(userId, roomId),
    );
    if (!entry.value) return;
    if (entry.value.membership === "join" || entry.value.membership === "invite") {
      throw new MatrixError("M_UNKNOWN", "You must leave the room before forgetting it");
    }
    if (entry.value.forgotten) return;
    const result = await hs.kv.atomic().check(entry)
      .set(entry.key, { ...entry.value, forgotten: true }).commit();
    if (result.ok) return;
  }
  throw new ContentionError("forgetting the room");
}

/**
 * Sends new member events into every room the user is joined to after a profile change
 * (installed as the profile module's propagator).
 */
export async function propagateProfileToRooms(
  hs: Homeserver,
  userId: string,
  profile: { displayname?: string; avatar_url?: string },
): Promise<void> {
  for (const roomId of await hs.rooms.joinedRooms(userId)) {
    const current = await hs.rooms.currentStateEvent(roomId, "m.room.member", userId);
    const content: JsonObject = { ...current?.event.content, membership: "join" };
    delete content.displayname;
    delete content.avatar_url;
    delete content.reason;
    Object.assign(content, profile);
    try {
      await hs.pipeline.sendEvent(roomId, {
        type: "m.room.member",
        stateKey: userId,
        sender: userId,
        content,
      });
    } catch (err) {
      // One room refusing (e.g. a power level change) must not stop the others.
      console.error(`profile update in ${roomId} failed:`, (err as Error).message);
    }
  }
}
