/**
 * Memberships of local users in rooms this server is not in: an invite received from another
 * server, a knock sent to one, and the leave that rejects or retracts them (server-server API
 * "Inviting to a room", "Knocking upon a room", "Leaving Rooms (Rejecting Invites)").
 *
 * Such an event has no place in a room graph here: its auth events are not known, so it can be
 * neither auth-checked nor placed in a timeline. It is stored as an outlier that was not
 * checked against its auth events (the other server vouched for it with its signature), with
 * the room's stripped state in its metadata, and the user's membership record points at it
 * with a fresh stream position, so that `/sync` shows the invite or knock (or the leave).
 * When the user later joins, the join's answer brings the room's real state and the join
 * mode of the pipeline takes over.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import { buildPdu, signPdu } from "../../federation/build_event.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { JsonObject, RoomEvent } from "../../federation/types.ts";
import { forbidden, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { STREAM_META_KEY } from "../stream.ts";
import { encodePdu, type StoredEvent } from "./room_store.ts";
import {
  type EventMeta,
  type EventRecord,
  type MembershipRecord,
  roomKeys,
  type RoomRecord,
  type StrippedStateEvent,
} from "./schema.ts";

/** Most stripped state events kept with one invite or knock. */
export const MAX_STRIPPED_STATE = 50;
/** Largest content of one stripped state event kept (bytes of JSON). */
const MAX_STRIPPED_CONTENT_BYTES = 16 * 1024;

/**
 * Stripped state events (type, state_key, sender, content) from a list of full PDUs or
 * stripped events as another server sent them; malformed entries are dropped.
 */
export function strippedStateOf(entries: readonly unknown[]): StrippedStateEvent[] {
  const out: StrippedStateEvent[] = [];
  for (const entry of entries.slice(0, MAX_STRIPPED_STATE)) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) continue;
    const e = entry as JsonObject;
    const content = e.content;
    if (
      typeof e.type !== "string" || typeof e.state_key !== "string" ||
      typeof e.sender !== "string" || typeof content !== "object" || content === null ||
      Array.isArray(content)
    ) {
      continue;
    }
    if (JSON.stringify(content).length > MAX_STRIPPED_CONTENT_BYTES) continue;
    out.push({ type: e.type, state_key: e.state_key, sender: e.sender, content });
  }
  return out;
}

/**
 * A room record for a room known only from an invite or knock: the create event is known by
 * its stripped form at most (`createEventId` is then derived where the room version allows,
 * else empty; nothing reads it before a join writes the room's state).
 */
export function outOfRoomRecord(
  event: RoomEvent,
  rules: RoomVersionRules,
  stripped: readonly StrippedStateEvent[],
  createEventId?: string,
): RoomRecord {
  const create = stripped.find((s) => s.type === "m.room.create" && s.state_key === "");
  return {
    roomId: event.roomId,
    roomVersion: rules.id,
    createEventId: createEventId ??
      (rules.roomIdFromCreateEvent ? `$${event.roomId.slice(1)}` : ""),
    creator: create?.sender ?? event.sender,
    createdTs: event.originServerTs,
  };
}

/**
 * Stores `event` (an invite, a knock or a leave of local user `event.stateKey`) as an
 * unchecked outlier with `strippedState`, and makes it the user's membership in the room;
 * the user's sync wakes. The room record is written when the room is new here.
 *
 * @returns the membership record written
 */
export async function recordOutOfRoomMembership(
  hs: Homeserver,
  event: RoomEvent,
  options: { room: RoomRecord; rules: RoomVersionRules; strippedState?: StrippedStateEvent[] },
): Promise<MembershipRecord> {
  const userId = event.stateKey!;
  const roomId = event.roomId;
  const membership = String(event.content.membership);
  for (let attempt = 0; attempt < 5; attempt++) {
    const [roomEntry, eventEntry, memberEntry] = await hs.kv.getMany<
      [RoomRecord, EventRecord, MembershipRecord]
    >([roomKeys.room(roomId), roomKeys.event(event.eventId), roomKeys.userRoom(userId, roomId)]);
    const pos = hs.stream.allocate();
    const atomic = hs.kv.atomic().check(roomEntry, eventEntry, memberEntry);
    if (!roomEntry.value) atomic.set(roomKeys.room(roomId), options.room);
    let meta: EventMeta;
    if (eventEntry.value) {
      // Known already (a knock's answer repeated, an invite sent twice): keep what is stored.
      meta = { ...eventEntry.value.meta };
      if (options.strippedState && meta.outlier) meta.strippedState = options.strippedState;
      atomic.set(roomKeys.event(event.eventId), { ...eventEntry.value, meta });
    } else {
      meta = {
        roomId,
        pos: null,
        depth: event.depth,
        stateGroupBefore: null,
        stateGroup: null,
        rejected: null,
        outlier: true,
        txn: null,
        redactedBy: null,
        receivedTs: Date.now(),
        replacesState: null,
      };
      if (options.strippedState) meta.strippedState = options.strippedState;
      const encoded = encodePdu(event);
      atomic.set(
        roomKeys.event(event.eventId),
        {
          meta,
          pdu: encoded.pdu,
          parts: encoded.parts.length,
        } satisfies EventRecord,
      );
      encoded.parts.forEach((part, i) => atomic.set(roomKeys.eventPart(event.eventId, i), part));
    }
    const previous = memberEntry.value;
    const record: MembershipRecord = {
      roomId,
      userId,
      membership,
      eventId: event.eventId,
      pos,
      sender: event.sender,
      lastJoinPos: previous?.lastJoinPos ?? null,
    };
    atomic.set(roomKeys.userRoom(userId, roomId), record);
    atomic.max(STREAM_META_KEY, BigInt(pos));
    let ok = false;
    try {
      ok = (await atomic.commit()).ok;
    } catch (err) {
      hs.stream.abandon(pos);
      throw err;
    }
    if (!ok) {
      hs.stream.abandon(pos);
      continue;
    }
    const stored: StoredEvent = { event, meta, rules: options.rules };
    hs.rooms.cacheEvent(stored);
    if (!roomEntry.value) hs.rooms.cacheRoom(options.room);
    hs.notifier.setMembership(roomId, userId, membership);
    hs.stream.complete(pos);
    hs.notifier.notifyUsers([userId], pos);
    return record;
  }
  throw new MatrixError("M_UNKNOWN", "The membership changed meanwhile; try again", {
    status: 500,
  });
}

/** Is one of this server's users joined to the room (so its copy of the room is live)? */
export async function hasLocalMember(hs: Homeserver, roomId: string): Promise<boolean> {
  if (!(await hs.rooms.head(roomId))) return false;
  const entries = await hs.rooms.currentStateEntries(roomId, "m.room.member");
  return entries.some((e) =>
    e.entry.membership === "join" && serverNameOf(e.stateKey) === hs.config.serverName
  );
}

/** Servers tried at most to reject an invite or retract a knock. */
const MAX_LEAVE_SERVERS = 5;

/**
 * Rejects a remote invite or retracts a knock of `userId` in a room this server is not in:
 * `make_leave` / `send_leave` v2 through the inviting server, the room's server or a server
 * of the room's stripped state, then the leave becomes the user's membership. When no server
 * takes the leave, it is recorded here only (the invite disappears for the user; the room
 * never hears of it).
 */
export async function leaveOutOfRoom(
  hs: Homeserver,
  options: { roomId: string; userId: string; current: MembershipRecord; reason?: string },
): Promise<RoomEvent> {
  const { roomId, userId, current } = options;
  const room = await hs.rooms.room(roomId);
  const rules = room ? roomVersion(room.roomVersion) : undefined;
  if (!room || !rules) throw notFound(`Room ${roomId} is not known`);
  const previous = await hs.rooms.event(current.eventId);
  const servers: string[] = [];
  const add = (s: string | undefined) => {
    if (s && s !== hs.config.serverName && !servers.includes(s)) servers.push(s);
  };
  add(serverNameOf(current.sender));
  add(serverNameOf(roomId));
  for (const s of previous?.meta.strippedState ?? []) add(serverNameOf(s.sender));
  let leave: RoomEvent | null = null;
  for (const server of servers.slice(0, MAX_LEAVE_SERVERS)) {
    try {
      leave = await leaveVia(hs, server, { roomId, userId, rules, reason: options.reason });
      break;
    } catch (err) {
      if (err instanceof MatrixError && err.code === "M_FORBIDDEN") throw err;
      console.warn(`leaving ${roomId} through ${server} failed:`, (err as Error).message);
    }
  }
  if (!leave) {
    const content: JsonObject = { membership: "leave" };
    if (options.reason !== undefined) content.reason = options.reason;
    leave = await buildPdu({ type: "m.room.member", stateKey: userId, sender: userId, content }, {
      rules,
      roomId,
      origin: hs.config.serverName,
      signingKey: hs.signingKey,
      prevEvents: previous ? [previous.event] : [],
      state: (type, stateKey) =>
        type === "m.room.member" && stateKey === userId ? previous?.event : undefined,
      originServerTs: Date.now(),
      eventIdLocalpart: randomString(18),
    });
  }
  await recordOutOfRoomMembership(hs, leave, { room, rules });
  return leave;
}

async function leaveVia(
  hs: Homeserver,
  server: string,
  options: { roomId: string; userId: string; rules: RoomVersionRules; reason?: string },
): Promise<RoomEvent> {
  const { roomId, userId } = options;
  const client = hs.federation.client;
  const ids = `${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`;
  const make = await client.request(server, {
    method: "GET",
    path: `/_matrix/federation/v1/make_leave/${ids}`,
  });
  const made = make.json as { room_version?: unknown; event?: unknown } | null;
  if (make.status === 403) throw forbidden(`${server} refused the leave`);
  const draft = made?.event as JsonObject | undefined;
  if (make.status !== 200 || typeof draft !== "object" || draft === null) {
    throw new Error(`make_leave answered ${make.status}`);
  }
  const rules = typeof made?.room_version === "string"
    ? roomVersion(made.room_version)
    : options.rules;
  if (!rules || rules.id !== options.rules.id) throw new Error("make_leave: another room version");
  const draftContent = draft.content as JsonObject | undefined;
  if (
    draft.type !== "m.room.member" || draft.state_key !== userId || draft.sender !== userId ||
    draftContent?.membership !== "leave" ||
    (draft.room_id !== undefined && draft.room_id !== roomId)
  ) {
    throw new Error("make_leave drafted another event than our leave");
  }
  const content: JsonObject = { ...draftContent, membership: "leave" };
  if (options.reason !== undefined) content.reason = options.reason;
  const unsigned: JsonObject = {
    ...draft,
    origin: hs.config.serverName,
    origin_server_ts: Date.now(),
    content,
  };
  if (rules.eventFormat === "v1") {
    unsigned.event_id = `$${randomString(18)}:${hs.config.serverName}`;
  }
  const leave = await signPdu(unsigned, {
    rules,
    origin: hs.config.serverName,
    signingKey: hs.signingKey,
    roomId,
  });
  const wire: JsonObject = { ...leave.pdu };
  if (rules.eventFormat === "v1") wire.event_id = leave.eventId;
  const send = await client.request(server, {
    method: "PUT",
    path: `/_matrix/federation/v2/send_leave/${encodeURIComponent(roomId)}/${
      encodeURIComponent(leave.eventId)
    }`,
    body: wire,
  });
  if (send.status === 403) throw forbidden(`${server} refused the leave`);
  if (send.status !== 200) throw new Error(`send_leave answered ${send.status}`);
  return leave;
}
