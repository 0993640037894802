/**
 * Getting events for a room (spec: Client-Server API, "Getting events for a room" and "Room
 * state"): `GET/PUT /rooms/{roomId}/state/{eventType}/{stateKey}`, `GET /state`,
 * `GET /members`, `GET /joined_members` and `GET /rooms/{roomId}/event/{eventId}`.
 *
 * Setting state identical to the current (same sender and content) answers the existing event.
 * A joined user reads the current state; a user who left or was banned reads the state at
 * their leaving; anyone reads a `world_readable` room's current state. `/event` applies the
 * history visibility rules (`server/rooms/visibility.ts`). An application service may set a
 * new state event's timestamp with `ts`.
 *
 * @module
 */

import { Hono } from "hono";
import { canonicalJson } from "../../crypto/canonical_json.ts";
import { utf8ByteLength } from "../../federation/identifiers.ts";
import { type JsonObject, type StateMap, stateTupleKey } from "../../federation/types.ts";
import { badJson, forbidden, invalidParam, jsonResponse, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { requireRoom, roomIdParam } from "../rooms/membership.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { visibleEvent } from "../rooms/visibility.ts";
import { formatEvents } from "../sync/rooms_adapter.ts";
import { clientEvent, clientEvents } from "./client_event.ts";
import { massagedTimestamp } from "../appservice/privileges.ts";
import { checkInviteAllowed } from "./invite_permission.ts";

const V3 = "/_matrix/client/v3";

/** Validates an event type path parameter. */
export function checkEventType(type: string): string {
  if (type === "" || utf8ByteLength(type) > 255) {
    throw invalidParam("The event type must be 1 to 255 bytes");
  }
  return type;
}

/** Validates a transaction ID path parameter. */
export function checkTxnId(txnId: string): string {
  if (txnId === "" || utf8ByteLength(txnId) > 255) {
    throw invalidParam("The transaction ID must be 1 to 255 bytes");
  }
  return txnId;
}

/**
 * The room state a user may read: the current state when joined (or the room is
 * world-readable), the state at their leave or ban otherwise.
 *
 * @throws {MatrixError} 403 when the user was never in the room
 */
export async function readableState(
  hs: Homeserver,
  roomId: string,
  userId: string,
): Promise<StateMap> {
  await requireRoom(hs, roomId);
  const membership = await hs.rooms.membership(roomId, userId);
  if (membership?.membership === "join") return await hs.rooms.currentStateMap(roomId);
  const hv = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
  if (hv?.event.content.history_visibility === "world_readable") {
    return await hs.rooms.currentStateMap(roomId);
  }
  if (membership && (membership.membership === "leave" || membership.membership === "ban")) {
    const atLeave = await hs.rooms.stateAfter(membership.eventId);
    if (atLeave) return atLeave;
  }
  throw forbidden("You are not in this room");
}

/** Routes of the room state and event reading module. */
export function roomStateRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  const getState = async (
    c: import("hono").Context<AppEnv>,
    type: string,
    stateKey: string,
  ) => {
    const roomId = roomIdParam(c.req.param("roomId")!);
    const { userId, deviceId } = c.var.auth;
    const state = await readableState(hs, roomId, userId);
    const id = state.get(stateTupleKey(type, stateKey));
    const stored = id === undefined ? null : await hs.rooms.event(id);
    if (!stored) throw notFound(`No ${type} state event with state key '${stateKey}'`);
    if (c.req.query("format") === "event") {
      return jsonResponse(await clientEvent(hs.rooms, stored, { userId, deviceId }));
    }
    const formatted = await clientEvent(hs.rooms, stored, { userId, deviceId });
    return jsonResponse(formatted.content);
  };

  const putState = async (
    c: import("hono").Context<AppEnv>,
    type: string,
    stateKey: string,
  ) => {
    const roomId = roomIdParam(c.req.param("roomId")!);
    const { userId } = c.var.auth;
    checkEventType(type);
    if (utf8ByteLength(stateKey) > 255) {
      throw invalidParam("The state key must be at most 255 bytes");
    }
    const originServerTs = massagedTimestamp(c);
    const content = await readBody(hs, c) as JsonObject;
    await requireRoom(hs, roomId);
    if (type === "m.room.create") throw forbidden("The create event cannot be replaced");
    if (type === "m.room.member" && content.membership === "invite") {
      await checkInviteAllowed(hs, stateKey);
    }
    const same = await identicalState(hs, roomId, { type, stateKey, sender: userId, content });
    if (same !== null) return jsonResponse({ event_id: same });
    const stored = await hs.pipeline.sendEvent(roomId, {
      type,
      stateKey,
      sender: userId,
      content,
    }, { originServerTs });
    return jsonResponse({ event_id: stored.event.eventId });
  };

  app.get(
    `${V3}/rooms/:roomId/state/:eventType`,
    auth,
    (c) => getState(c, c.req.param("eventType"), ""),
  );
  app.get(
    `${V3}/rooms/:roomId/state/:eventType/:stateKey{.*}`,
    auth,
    (c) => getState(c, c.req.param("eventType"), c.req.param("stateKey")),
  );
  app.put(
    `${V3}/rooms/:roomId/state/:eventType`,
    auth,
    (c) => putState(c, c.req.param("eventType"), ""),
  );
  app.put(
    `${V3}/rooms/:roomId/state/:eventType/:stateKey{.*}`,
    auth,
    (c) => putState(c, c.req.param("eventType"), c.req.param("stateKey")),
  );

  app.get(`${V3}/rooms/:roomId/state`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const { userId, deviceId } = c.var.auth;
    const state = await readableState(hs, roomId, userId);
    const events = await hs.rooms.stateEventsIn(state);
    return jsonResponse(await clientEvents(hs.rooms, events, { userId, deviceId }));
  });

  app.get(`${V3}/rooms/:roomId/members`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const { userId, deviceId } = c.var.auth;
    const membership = c.req.query("membership");
    const notMembership = c.req.query("not_membership");
    const valid = ["join", "invite", "knock", "leave", "ban"];
    for (const value of [membership, notMembership]) {
      if (value !== undefined && !valid.includes(value)) {
        throw invalidParam(`Membership filters must be one of ${valid.join(", ")}`);
      }
    }
    let state = await readableState(hs, roomId, userId);
    const at = c.req.query("at");
    if (at !== undefined) state = await stateAtToken(hs, roomId, at, state);
    let events = await hs.rooms.stateEventsIn(state, ["m.room.member"]);
    events = events.filter((e) => {
      const m = e.event.content.membership;
      if (membership !== undefined && m !== membership) return false;
      return notMembership === undefined || m !== notMembership;
    });
    return jsonResponse({ chunk: await clientEvents(hs.rooms, events, { userId, deviceId }) });
  });

  app.get(`${V3}/rooms/:roomId/joined_members`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const { userId } = c.var.auth;
    await requireRoom(hs, roomId);
    const membership = await hs.rooms.membership(roomId, userId);
    if (membership?.membership !== "join") throw forbidden("You are not joined to this room");
    const events = await hs.rooms.currentStateEvents(roomId, "m.room.member");
    // Both keys are always there, null when the member event has none (as in Synapse, whose
    // clients read them without checking).
    const joined: Record<string, { display_name: string | null; avatar_url: string | null }> = {};
    for (const { event } of events) {
      if (event.content.membership !== "join") continue;
      const { displayname, avatar_url } = event.content;
      joined[event.stateKey!] = {
        display_name: typeof displayname === "string" ? displayname : null,
        avatar_url: typeof avatar_url === "string" ? avatar_url : null,
      };
    }
    return jsonResponse({ joined });
  });

  app.get(`${V3}/rooms/:roomId/event/:eventId`, auth, async (c) => {
    const roomId = roomIdParam(c.req.param("roomId"));
    const eventId = c.req.param("eventId");
    const { userId, deviceId } = c.var.auth;
    await requireRoom(hs, roomId);
    const found = await hs.rooms.event(eventId);
    const stored = found && found.event.roomId === roomId
      ? await visibleEvent(hs.rooms, userId, found)
      : null;
    if (!stored) throw notFound("Event not found, or you may not see it");
    const [event] = await formatEvents(hs, [stored], { userId, deviceId });
    return jsonResponse(event);
  });

  return app;
}

/**
 * The event ID of the current state event that a new one would only repeat: same type, state
 * key, sender and content, with the sender still joined. Setting the same state twice then
 * answers the first event instead of adding a second one (Synapse does the same; the spec's
 * `PUT` paths are idempotent).
 */
async function identicalState(
  hs: Homeserver,
  roomId: string,
  wanted: { type: string; stateKey: string; sender: string; content: JsonObject },
): Promise<string | null> {
  const current = await hs.rooms.currentStateEvent(roomId, wanted.type, wanted.stateKey);
  if (!current || current.event.sender !== wanted.sender) return null;
  if ((await hs.rooms.membership(roomId, wanted.sender))?.membership !== "join") return null;
  try {
    return canonicalJson(current.event.content) === canonicalJson(wanted.content)
      ? current.event.eventId
      : null;
  } catch {
    return null;
  }
}

/**
 * The state at a sync token (`/members?at=`): the state after the room's newest event at or
 * below the token's stream position. Tokens are read as their first decimal number.
 */
async function stateAtToken(
  hs: Homeserver,
  roomId: string,
  token: string,
  fallback: StateMap,
): Promise<StateMap> {
  const match = /\d+/.exec(token);
  if (!match) throw badJson(`'at' is not a sync token: ${token}`);
  const pos = Number(match[0]);
  const [entry] = await hs.rooms.timeline(roomId, { from: pos + 1, dir: "b", limit: 1 });
  if (!entry) return new Map();
  return (await hs.rooms.stateAfter(entry.eventId)) ?? fallback;
}

/** Exported for the upgrade module: the current state events of some types. */
export function stateEventsOf(
  hs: Homeserver,
  roomId: string,
  types: readonly string[],
): Promise<StoredEvent[]> {
  return hs.rooms.currentStateMap(roomId).then((state) => hs.rooms.stateEventsIn(state, types));
}
