/**
 * Knocking across servers (server-server API "Knocking upon a room", room versions 7+), both
 * roles:
 *
 * - resident server: `make_knock` drafts the knock on the room's extremities after checking
 *   the auth rules would allow it; `send_knock` checks the signed knock, admits it like any
 *   remote event, relays it to the room's other servers and answers with the room's state
 *   for the knocker (`knock_room_state`, full PDUs).
 * - knocking server: {@link knockRemoteRoom} runs the handshake and keeps the knock as an
 *   out-of-room membership (`server/rooms/remote_invites.ts`) with that state, so the user
 *   sees it in `/sync` until an invite (the knock accepted) or a leave replaces it.
 *
 * @module
 */

import { refuseBlockedRoom } from "../rooms/room_block.ts";
import { refuseForeignMember } from "../rooms/internal_rooms.ts";
import { Hono } from "hono";
import type { Context } from "hono";
import { signPdu } from "../../federation/build_event.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { ROOM_VERSIONS, roomVersion } from "../../federation/room_versions.ts";
import type { JsonObject, PduJson, RoomEvent } from "../../federation/types.ts";
import { forbidden, invalidParam, jsonResponse, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { outOfRoomRecord, recordOutOfRoomMembership } from "../rooms/remote_invites.ts";
import { aclAllows, checkIncomingPdu, IncomingPdus, PduError } from "./incoming.ts";
import { authenticatedOrigin, requiredContent } from "./inbound_auth.ts";
import { checkedRoomState, roomStatePdus } from "./invite_routes.ts";

const V1 = "/_matrix/federation/v1";

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function incompatible(version: string, origin: string): MatrixError {
  return new MatrixError(
    "M_INCOMPATIBLE_ROOM_VERSION",
    `The room has version ${version}, which ${origin} does not support or which has no knocking`,
    { status: 400, extra: { room_version: version } },
  );
}

/** Routes of the resident server's side. */
export function knockFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const incoming = new IncomingPdus(hs);

  const requireLiveRoom = async (c: Context<AppEnv>, origin: string) => {
    const roomId = c.req.param("roomId")!;
    const room = await hs.rooms.room(roomId);
    if (!room || !(await hs.rooms.head(roomId))) throw notFound(`Room ${roomId} is not known`);
    if (!(await aclAllows(hs, roomId, origin))) throw forbidden("Denied by the room's ACL");
    const rules = roomVersion(room.roomVersion)!;
    if (!rules.knocking) throw incompatible(room.roomVersion, origin);
    return { room, rules };
  };

  app.get(`${V1}/make_knock/:roomId/:userId`, async (c) => {
    const origin = authenticatedOrigin(c);
    const userId = c.req.param("userId");
    if (serverNameOf(userId) !== origin) throw forbidden(`${origin} may only knock for its users`);
    const { room } = await requireLiveRoom(c, origin);
    await refuseBlockedRoom(hs.kv, room.roomId);
    await refuseForeignMember(hs, room.roomId, userId, "knock");
    if (!(c.req.queries("ver") ?? []).includes(room.roomVersion)) {
      throw incompatible(room.roomVersion, origin);
    }
    const { pdu } = await hs.pipeline.draft(room.roomId, {
      type: "m.room.member",
      stateKey: userId,
      sender: userId,
      content: { membership: "knock" },
    });
    pdu.origin = origin;
    return jsonResponse({ room_version: room.roomVersion, event: pdu });
  });

  app.put(`${V1}/send_knock/:roomId/:eventId`, async (c) => {
    const origin = authenticatedOrigin(c);
    const { room, rules } = await requireLiveRoom(c, origin);
    const checked = await checkIncomingPdu(hs, requiredContent(c), {
      rules,
      roomId: room.roomId,
    });
    if (!checked.ok) throw invalidParam(`The knock is not valid: ${checked.reason}`);
    const event = checked.event;
    if (event.eventId !== c.req.param("eventId")) {
      throw invalidParam("The event ID does not match the path");
    }
    if (
      event.type !== "m.room.member" || event.stateKey !== event.sender ||
      event.content.membership !== "knock"
    ) {
      throw invalidParam("The event must be the sender's own knock");
    }
    if (serverNameOf(event.sender) !== origin) {
      throw invalidParam(`${origin} may only send knocks of its own users`);
    }
    await refuseForeignMember(hs, room.roomId, event.sender, "knock");
    let result;
    try {
      result = await incoming.admit(origin, event, { room, rules, relay: true });
    } catch (err) {
      if (err instanceof PduError) throw forbidden(err.message);
      throw err;
    }
    if (result.outcome === "rejected" || result.outcome === "soft_failed") {
      throw forbidden(`The knock is not allowed: ${result.stored.meta.rejected ?? "soft-failed"}`);
    }
    const state = await roomStatePdus(hs, room.roomId, event.sender);
    // Synapse before the spec's naming (1.67 among them) reads only `knock_state_events`.
    return jsonResponse({ knock_room_state: state, knock_state_events: state });
  });

  return app;
}

/**
 * Knocks on the remote room `roomId` for `userId` through one of `servers`.
 *
 * @throws {MatrixError} M_FORBIDDEN when the resident server refuses, M_UNKNOWN (502) when no
 *   server could be reached or answered correctly
 */
export async function knockRemoteRoom(
  hs: Homeserver,
  options: { roomId: string; userId: string; servers: readonly string[]; content: JsonObject },
): Promise<RoomEvent> {
  const errors: string[] = [];
  for (const server of options.servers) {
    try {
      return await knockVia(hs, server, options);
    } catch (err) {
      if (err instanceof MatrixError && err.code === "M_FORBIDDEN") throw err;
      errors.push(`${server}: ${(err as Error).message}`);
    }
  }
  if (errors.length === 0) throw notFound(`No server to knock on ${options.roomId} through`);
  throw new MatrixError(
    "M_UNKNOWN",
    `Could not knock on ${options.roomId}: ${errors.join("; ").slice(0, 1000)}`,
    { status: 502 },
  );
}

async function knockVia(
  hs: Homeserver,
  server: string,
  options: { roomId: string; userId: string; content: JsonObject },
): Promise<RoomEvent> {
  const { roomId, userId } = options;
  const client = hs.federation.client;
  const ours = hs.config.serverName;
  const versions = [...ROOM_VERSIONS.values()].filter((r) => r.knocking).map((r) => r.id);
  const make = await client.request(server, {
    method: "GET",
    path: `${V1}/make_knock/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`,
    query: { ver: versions },
  });
  const made = make.json as { room_version?: unknown; event?: unknown; error?: unknown } | null;
  if (make.status === 403) {
    throw forbidden(`${server} refused the knock: ${String(made?.error ?? "").slice(0, 300)}`);
  }
  if (make.status !== 200 || !isObject(made?.event)) {
    throw new Error(`make_knock answered ${make.status}`);
  }
  const rules = typeof made.room_version === "string" ? roomVersion(made.room_version) : null;
  if (!rules?.knocking) throw new Error(`room version ${made.room_version} has no knocking`);
  const draft = made.event as PduJson;
  const draftContent = isObject(draft.content) ? draft.content : {};
  if (
    draft.type !== "m.room.member" || draft.state_key !== userId || draft.sender !== userId ||
    draftContent.membership !== "knock" || draft.room_id !== roomId
  ) {
    throw new Error("make_knock drafted another event than our knock");
  }
  const unsigned: PduJson = {
    ...draft,
    origin: ours,
    origin_server_ts: Date.now(),
    content: { ...options.content, ...draftContent, membership: "knock" },
  };
  const knock = await signPdu(unsigned, { rules, origin: ours, signingKey: hs.signingKey, roomId });
  const send = await client.request(server, {
    method: "PUT",
    path: `${V1}/send_knock/${encodeURIComponent(roomId)}/${encodeURIComponent(knock.eventId)}`,
    body: knock.pdu,
  });
  const answer = send.json as
    | { knock_room_state?: unknown; knock_state_events?: unknown; error?: unknown }
    | null;
  if (send.status === 403) {
    throw forbidden(`${server} refused the knock: ${String(answer?.error ?? "").slice(0, 300)}`);
  }
  if (send.status !== 200 || !isObject(answer)) {
    throw new Error(`send_knock answered ${send.status}`);
  }
  // The knock is in the room now: a state list that fails the checks only loses its preview.
  const listed = answer.knock_room_state ?? answer.knock_state_events;
  const roomState = await checkedRoomState(hs, listed, { rules, roomId })
    .catch(() => ({ stripped: [], createEventId: undefined }));
  const known = await hs.rooms.room(roomId);
  await recordOutOfRoomMembership(hs, knock, {
    room: known ?? outOfRoomRecord(knock, rules, roomState.stripped, roomState.createEventId),
    rules,
    strippedState: roomState.stripped,
  });
  return knock;
}
