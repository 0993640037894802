/**
 * Joining and leaving our rooms from other servers (server-server API "Joining Rooms",
 * "Leaving Rooms"): `make_join` / `send_join` v2 and `make_leave` / `send_leave` v2. The
 * resident server drafts the event on its forward extremities, the other server signs it, and
 * the signed event is admitted like any remote event, then relayed to the room's other
 * servers from here. (`send_join` / `send_leave` v1 are removed from the spec: they answer
 * 404 M_UNRECOGNIZED.)
 *
 * @module
 */

import { refuseBlockedRoom } from "../rooms/room_block.ts";
import { refuseForeignMember } from "../rooms/internal_rooms.ts";
import { Hono } from "hono";
import type { Context } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { roomVersion } from "../../federation/room_versions.ts";
import { addPduSignature } from "../../federation/event_signing.ts";
import type { JsonObject, PduJson } from "../../federation/types.ts";
import { restrictedJoinAuthoriser } from "../rooms/restricted_join.ts";
import { badJson, forbidden, jsonResponse, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { aclAllows, checkIncomingPdu, IncomingPdus, PduError } from "./incoming.ts";
import { authenticatedOrigin, requiredContent } from "./inbound_auth.ts";
import { authChainOf, federationPdu, serversInRoom } from "./room_events.ts";

const V1 = "/_matrix/federation/v1";
const V2 = "/_matrix/federation/v2";

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Routes of the membership handshakes. */
export function membershipFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const incoming = new IncomingPdus(hs);

  const makeMembership = async (c: Context<AppEnv>, membership: "join" | "leave") => {
    const origin = authenticatedOrigin(c);
    const roomId = c.req.param("roomId")!;
    const userId = c.req.param("userId")!;
    if (serverNameOf(userId) !== origin) {
      throw forbidden(`${origin} may only ${membership} for its own users`);
    }
    const room = await hs.rooms.room(roomId);
    if (!room || !(await hs.rooms.head(roomId))) throw notFound(`Room ${roomId} is not known`);
    if (!(await aclAllows(hs, roomId, origin))) throw forbidden("Denied by the room's ACL");
    if (membership === "join") await refuseBlockedRoom(hs.kv, roomId);
    if (membership === "join") await refuseForeignMember(hs, roomId, userId, "join");
    if (membership === "join") {
      const versions = c.req.queries("ver") ?? ["1"];
      if (!versions.includes(room.roomVersion)) {
        throw new MatrixError(
          "M_INCOMPATIBLE_ROOM_VERSION",
          `The room has version ${room.roomVersion}, which ${origin} does not support`,
          { status: 400, extra: { room_version: room.roomVersion } },
        );
      }
    }
    const content: JsonObject = { membership };
    if (membership === "join") {
      const via = await restrictedJoinAuthoriser(hs, roomId, userId);
      if (via) content.join_authorised_via_users_server = via;
    }
    const { pdu } = await hs.pipeline.draft(roomId, {
      type: "m.room.member",
      stateKey: userId,
      sender: userId,
      content,
    });
    pdu.origin = origin;
    return jsonResponse({ room_version: room.roomVersion, event: pdu });
  };

  const sendMembership = async (c: Context<AppEnv>, membership: "join" | "leave") => {
    const origin = authenticatedOrigin(c);
    const roomId = c.req.param("roomId")!;
    const eventId = c.req.param("eventId")!;
    const room = await hs.rooms.room(roomId);
    if (!room || !(await hs.rooms.head(roomId))) throw notFound(`Room ${roomId} is not known`);
    if (!(await aclAllows(hs, roomId, origin))) throw forbidden("Denied by the room's ACL");
    const rules = roomVersion(room.roomVersion)!;
    let body: Record<string, unknown> = requiredContent(c);
    // A restricted join authorised by one of our users needs our signature too.
    const via = isObject(body.content) ? body.content.join_authorised_via_users_server : undefined;
    const authorisedHere = membership === "join" && rules.restrictedJoins &&
      typeof via === "string" && serverNameOf(via) === hs.config.serverName;
    if (authorisedHere) {
      body = await addPduSignature(body as PduJson, {
        rules,
        origin: hs.config.serverName,
        signingKey: hs.signingKey,
      });
    }
    const checked = await checkIncomingPdu(hs, body, { rules, roomId });
    if (!checked.ok) throw badJson(`The event is not valid: ${checked.reason}`);
    const event = checked.event;
    if (event.eventId !== eventId) throw badJson("The event ID does not match the path");
    if (
      event.type !== "m.room.member" || event.stateKey !== event.sender ||
      event.content.membership !== membership
    ) {
      throw badJson(`The event must be the sender's own ${membership}`);
    }
    if (serverNameOf(event.sender) !== origin) {
      throw forbidden(`${origin} may only send memberships of its own users`);
    }
    if (membership === "join") await refuseForeignMember(hs, roomId, event.sender, "join");
    const before = membership === "join" ? await serversInRoom(hs, roomId) : null;
    let result;
    try {
      result = await incoming.admit(origin, event, { room, rules, relay: true });
    } catch (err) {
      if (err instanceof PduError) throw forbidden(err.message);
      throw err;
    }
    if (result.outcome === "rejected" || result.outcome === "soft_failed") {
      const reason = result.stored.meta.rejected ?? "it fails against the room's current state";
      throw forbidden(`The ${membership} is not allowed: ${reason}`);
    }
    if (membership === "leave") return jsonResponse({});
    const state = await hs.rooms.stateBefore(event.eventId);
    const stateEvents = state ? [...(await hs.rooms.events(state.values())).values()] : [];
    const chain = await authChainOf(hs, [
      event.eventId,
      ...stateEvents.map((s) => s.event.eventId),
    ]);
    return jsonResponse({
      origin: hs.config.serverName,
      state: stateEvents.map(federationPdu),
      auth_chain: chain.map(federationPdu),
      members_omitted: false,
      servers_in_room: [...(before ?? [])].sort(),
      ...(authorisedHere ? { event: federationPdu(result.stored) } : {}),
    });
  };

  app.get(`${V1}/make_join/:roomId/:userId`, (c) => makeMembership(c, "join"));
  app.put(`${V2}/send_join/:roomId/:eventId`, (c) => sendMembership(c, "join"));
  app.get(`${V1}/make_leave/:roomId/:userId`, (c) => makeMembership(c, "leave"));
  app.put(`${V2}/send_leave/:roomId/:eventId`, (c) => sendMembership(c, "leave"));
  return app;
}
