/**
 * Invites across servers (server-server API "Inviting to a room"), both roles:
 *
 * - invited server: `PUT /_matrix/federation/v2/invite/{roomId}/{eventId}` checks the invite
 *   (format, signatures and hash for the given room version, an invite of an existing local
 *   user sent by a user of the origin), adds this server's signature and keeps it, so the
 *   invitee sees it in `/sync` with the room's stripped state. In a room this server is in,
 *   it goes through the pipeline like any remote event; otherwise it is stored as an
 *   out-of-room membership (`server/rooms/remote_invites.ts`). A user who blocks invites
 *   (`m.invite_permission_config`) is not invited: 403 M_INVITE_BLOCKED.
 * - inviting server: {@link inviteRemoteUser} drafts the invite on the room's extremities,
 *   signs it, has the invitee's server countersign it, checks what comes back and admits it,
 *   so that the room's other servers receive it from here.
 *
 * `invite_room_state` (and `knock_room_state`) are the room's full state PDUs (spec v1.16);
 * what arrives is checked where it is full PDUs, and for room version 12 must hold the
 * room's create event.
 *
 * @module
 */

import { refuseBlockedRoom } from "../rooms/room_block.ts";
import { refuseForeignMember, refuseInternalInviteState } from "../rooms/internal_rooms.ts";
import { Hono } from "hono";
import { randomString } from "../../crypto/tokens.ts";
import { verifyJsonSignature } from "../../crypto/signing.ts";
import { signPdu } from "../../federation/build_event.ts";
import { addPduSignature, samePduApartFromSignatures } from "../../federation/event_signing.ts";
import { parsePdu } from "../../federation/event_format.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { redactPdu } from "../../federation/redaction.ts";
import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import {
  type JsonObject,
  type PduJson,
  type RoomEvent,
  stateTupleKey,
} from "../../federation/types.ts";
import {
  badJson,
  forbidden,
  invalidParam,
  jsonResponse,
  MatrixError,
  notFound,
} from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import {
  hasLocalMember,
  MAX_STRIPPED_STATE,
  outOfRoomRecord,
  recordOutOfRoomMembership,
  strippedStateOf,
} from "../rooms/remote_invites.ts";
import type { StrippedStateEvent } from "../rooms/schema.ts";
import { getUser } from "../store/accounts.ts";
import { InviteBlockedError, invitesBlocked } from "../client/invite_permission.ts";
import { aclAllows, checkIncomingPdu, IncomingPdus, keyLookup } from "./incoming.ts";
import { authenticatedOrigin, requiredContent } from "./inbound_auth.ts";
import { federationPdu } from "./room_events.ts";
import { STRIPPED_STATE_TYPES } from "../rooms/schema.ts";

const V2 = "/_matrix/federation/v2";

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The room's current state shown to an invitee or knocker, as full PDUs. */
export async function roomStatePdus(
  hs: Homeserver,
  roomId: string,
  sender: string,
): Promise<JsonObject[]> {
  const state = await hs.rooms.currentStateMap(roomId);
  const ids = STRIPPED_STATE_TYPES.map((type) => state.get(stateTupleKey(type, "")));
  ids.push(state.get(stateTupleKey("m.room.member", sender)));
  const present = ids.filter((id) => id !== undefined);
  const events = await hs.rooms.events(present);
  return present.map((id) => events.get(id)).filter((e) => e !== undefined).map(federationPdu);
}

/**
 * The stripped state of an `invite_room_state` or `knock_room_state` list: entries that are
 * full PDUs must pass the receipt checks for the room (the rest are dropped); for room
 * version 12 the list must hold the room's create event as a valid PDU.
 *
 * @throws {MatrixError} 400 M_MISSING_PARAM / M_INVALID_PARAM for a v12 list without a
 *   valid create event
 */
export async function checkedRoomState(
  hs: Homeserver,
  entries: unknown,
  options: { rules: RoomVersionRules; roomId: string },
): Promise<{ stripped: StrippedStateEvent[]; createEventId?: string }> {
  const list = Array.isArray(entries) ? entries.slice(0, MAX_STRIPPED_STATE) : [];
  const kept: unknown[] = [];
  let createEventId: string | undefined;
  for (const entry of list) {
    if (!isObject(entry)) continue;
    // From room version 12 every entry must be a valid PDU of the room (spec v1.16); before,
    // stripped entries are still common (Synapse 1.67 sends them) and bad PDUs are dropped.
    const strict = options.rules.roomIdFromCreateEvent;
    const full = isObject(entry.signatures) || Array.isArray(entry.auth_events);
    if (full) {
      const checked = await checkIncomingPdu(hs, entry, options);
      if (!checked.ok || checked.redacted) {
        if (strict) {
          throw invalidParam(
            `A room state event is not valid: ${checked.ok ? "hash mismatch" : checked.reason}`,
          );
        }
        continue;
      }
      if (checked.event.type === "m.room.create") createEventId = checked.event.eventId;
    } else if (strict) {
      throw invalidParam("The room state must be full PDUs for this room version");
    }
    kept.push(entry);
  }
  if (options.rules.roomIdFromCreateEvent && createEventId === undefined) {
    throw new MatrixError(
      "M_MISSING_PARAM",
      "The room state must hold the room's create event as a valid PDU",
      { status: 400 },
    );
  }
  return { stripped: strippedStateOf(kept), createEventId };
}

/** Routes of the invited server's side. */
export function inviteFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const incoming = new IncomingPdus(hs);

  app.put(`${V2}/invite/:roomId/:eventId`, async (c) => {
    const origin = authenticatedOrigin(c);
    const roomId = c.req.param("roomId");
    const eventId = c.req.param("eventId");
    const body = requiredContent(c);
    if (typeof body.room_version !== "string") throw badJson("'room_version' must be a string");
    const rules = roomVersion(body.room_version);
    if (!rules) {
      throw new MatrixError(
        "M_INCOMPATIBLE_ROOM_VERSION",
        `This server does not support room version ${body.room_version.slice(0, 20)}`,
        { status: 400, extra: { room_version: body.room_version.slice(0, 20) } },
      );
    }
    await refuseBlockedRoom(hs.kv, roomId);
    const known = await hs.rooms.room(roomId);
    if (known && known.roomVersion !== rules.id) {
      throw invalidParam(`Room ${roomId} has version ${known.roomVersion} here`);
    }
    if (!isObject(body.event)) throw badJson("'event' must be an object");
    const wire: PduJson = { ...body.event };
    const checked = await checkIncomingPdu(hs, wire, { rules, roomId });
    if (!checked.ok) throw invalidParam(`The invite is not valid: ${checked.reason}`);
    if (checked.redacted) throw invalidParam("The invite's content hash does not match");
    const event = checked.event;
    if (event.eventId !== eventId) throw invalidParam("The event ID does not match the path");
    if (event.type !== "m.room.member" || event.content.membership !== "invite") {
      throw invalidParam("The event is not an invite");
    }
    if (serverNameOf(event.sender) !== origin) {
      throw invalidParam(`The inviter is not a user of ${origin}`);
    }
    const target = event.stateKey!;
    if (serverNameOf(target) !== hs.config.serverName) {
      throw invalidParam(`${target} is not a user of this server`);
    }
    const account = await getUser(hs.kv, target);
    if (!account || account.deactivated) throw notFound(`User ${target} does not exist`);
    // Spec v1.18 "Invite permission": nothing is signed or kept for a user who blocks invites.
    if (await invitesBlocked(hs, target)) throw new InviteBlockedError(target);
    if (known && (await hs.rooms.head(roomId)) && !(await aclAllows(hs, roomId, origin))) {
      throw forbidden("The room's server ACL denies the inviting server");
    }
    const roomState = await checkedRoomState(hs, body.invite_room_state, { rules, roomId });
    // An internal room of another server: our users are not its users.
    if (known && (await hs.rooms.head(roomId))) {
      await refuseForeignMember(hs, roomId, target, "invite");
    }
    refuseInternalInviteState(hs, roomState.stripped);

    if (rules.eventFormat === "v1") wire.event_id = event.eventId;
    const signed = await addPduSignature(wire, {
      rules,
      origin: hs.config.serverName,
      signingKey: hs.signingKey,
    });
    const { unsigned: _unsigned, ...storedForm } = signed;
    const parsed = parsePdu(storedForm, rules, { roomId });
    if (!parsed.ok) throw invalidParam(`The invite is not valid: ${parsed.reason}`);
    const invite = { ...parsed.event, eventId: event.eventId };

    let inRoom = false;
    if (known && (await hasLocalMember(hs, roomId))) {
      // A room this server is in: the invite joins its graph like any event from the origin.
      try {
        const result = await incoming.admit(origin, invite, { room: known, rules });
        if (result.outcome === "rejected" || result.outcome === "soft_failed") {
          throw forbidden(
            `The invite is not allowed: ${result.stored.meta.rejected ?? "soft-failed"}`,
          );
        }
        inRoom = true;
      } catch (err) {
        if (err instanceof MatrixError) throw err;
        // Its prev events could not be fetched: keep it as an out-of-room invite.
      }
    }
    if (!inRoom) {
      await recordOutOfRoomMembership(hs, invite, {
        room: known ?? outOfRoomRecord(invite, rules, roomState.stripped, roomState.createEventId),
        rules,
        strippedState: roomState.stripped,
      });
    }
    return jsonResponse({ event: signed });
  });

  return app;
}

/** Options of {@link inviteRemoteUser}. */
export interface RemoteInvite {
  roomId: string;
  sender: string;
  /** A user of another server. */
  target: string;
  content: JsonObject;
}

/**
 * Invites a user of another server to a room this server is in: the invite is drafted on the
 * room's forward extremities, signed here, countersigned by the invitee's server, checked,
 * and admitted (the pipeline relays it to the room's other servers).
 *
 * @throws {MatrixError} M_FORBIDDEN when the auth rules or the invitee's server refuse,
 *   M_INVITE_BLOCKED (403) when the invitee blocks invites, M_UNKNOWN (502) when that server
 *   cannot be reached or answers wrongly
 */
export async function inviteRemoteUser(hs: Homeserver, invite: RemoteInvite): Promise<RoomEvent> {
  const { roomId, target } = invite;
  const server = serverNameOf(target)!;
  const ours = hs.config.serverName;
  if (!hs.federation.client.isAllowed(server)) {
    throw forbidden(`This server does not federate with ${server}`);
  }
  if (!(await aclAllows(hs, roomId, server))) {
    throw forbidden(`The room's server ACL denies ${server}`);
  }
  await refuseForeignMember(hs, roomId, target, "invite");
  const { pdu, rules } = await hs.pipeline.draft(roomId, {
    type: "m.room.member",
    stateKey: target,
    sender: invite.sender,
    content: { ...invite.content, membership: "invite" },
  });
  if (rules.eventFormat === "v1") pdu.event_id = `$${randomString(18)}:${ours}`;
  const built = await signPdu(pdu, { rules, origin: ours, signingKey: hs.signingKey, roomId });
  const wire: PduJson = { ...built.pdu };
  if (rules.eventFormat === "v1") wire.event_id = built.eventId;
  const path = `${V2}/invite/${encodeURIComponent(roomId)}/${encodeURIComponent(built.eventId)}`;
  let res;
  try {
    res = await hs.federation.client.request(server, {
      method: "PUT",
      path,
      body: {
        room_version: rules.id,
        event: wire,
        invite_room_state: await roomStatePdus(hs, roomId, invite.sender),
      },
    });
  } catch (err) {
    throw new MatrixError(
      "M_UNKNOWN",
      `${server} could not be reached: ${(err as Error).message}`,
      {
        status: 502,
      },
    );
  }
  const answer = res.json as { event?: unknown; errcode?: unknown; error?: unknown } | null;
  if (res.status === 403 && answer?.errcode === "M_INVITE_BLOCKED") {
    throw new InviteBlockedError(target);
  }
  if (res.status === 403) {
    throw forbidden(`${server} refused the invite: ${String(answer?.error ?? "").slice(0, 300)}`);
  }
  if (res.status === 400 && answer?.errcode === "M_INCOMPATIBLE_ROOM_VERSION") {
    throw new MatrixError(
      "M_UNSUPPORTED_ROOM_VERSION",
      `${server} does not support room version ${rules.id}`,
      { status: 400 },
    );
  }
  if (res.status !== 200 || !isObject(answer?.event)) {
    throw new MatrixError("M_UNKNOWN", `${server} answered the invite with ${res.status}`, {
      status: 502,
    });
  }
  const returned = answer.event as PduJson;
  const { unsigned: _unsigned, ...storedForm } = returned;
  if (!samePduApartFromSignatures(wire, storedForm)) {
    throw new MatrixError("M_UNKNOWN", `${server} changed the invite it signed`, { status: 502 });
  }
  if (!(await signedBy(hs, storedForm, { server, rules }))) {
    throw new MatrixError("M_UNKNOWN", `${server} did not sign the invite`, { status: 502 });
  }
  const parsed = parsePdu(storedForm, rules, { roomId });
  if (!parsed.ok) throw new MatrixError("M_UNKNOWN", parsed.reason, { status: 502 });
  const event = { ...parsed.event, eventId: built.eventId };
  const [result] = await hs.pipeline.admit({ mode: "remote", event, relayFrom: ours });
  if (result.outcome === "rejected" || result.outcome === "soft_failed") {
    throw forbidden(`The invite is not allowed: ${result.stored.meta.rejected ?? "soft-failed"}`);
  }
  return result.stored.event;
}

/** Whether `pdu` carries a valid signature of `server` (over its redacted form). */
async function signedBy(
  hs: Homeserver,
  pdu: PduJson,
  options: { server: string; rules: RoomVersionRules },
): Promise<boolean> {
  const { server, rules } = options;
  const entry = isObject(pdu.signatures) ? pdu.signatures[server] : undefined;
  if (!isObject(entry)) return false;
  const redacted = redactPdu(pdu, rules);
  const keys = keyLookup(hs);
  const atTs = rules.enforceKeyValidity && typeof pdu.origin_server_ts === "number"
    ? pdu.origin_server_ts
    : 0;
  for (const keyId of Object.keys(entry).filter((k) => k.startsWith("ed25519:")).slice(0, 8)) {
    const key = await keys(server, keyId, atTs);
    if (!key) continue;
    const ok = await verifyJsonSignature(redacted, server, keyId, key, {
      strict: rules.strictCanonicalJson,
    });
    if (ok) return true;
  }
  return false;
}
