/**
 * Typing, receipts and presence across servers (spec: Server-Server API, "Typing
 * Notifications", "Receipts", "Presence"): the `m.typing`, `m.receipt` and `m.presence` EDUs,
 * sent through the EDU queue (`edu_queue.ts`) and received from it.
 *
 * Who hears what: typing and read receipts go to the servers with joined members in the room,
 * presence only to servers sharing a room with the user (`audience.ts`). Private receipts
 * (`m.read.private`) never leave this server. Inbound, every EDU is hostile until checked: the
 * user must belong to the origin server and, for typing and receipts, be joined to the room in
 * our current state, the room's ACL must admit the origin; presence is kept only for users
 * sharing a room with one of ours. Whatever fails a check is dropped silently (EDUs carry no
 * answer).
 *
 * @module
 */

import { isValidEventId, isValidUserId, serverNameOf } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { CommittedEvent } from "../rooms/pipeline_types.ts";
import { setReceipt } from "../store/receipts.ts";
import {
  getPresence,
  onPresenceWritten,
  PRESENCE_STATES,
  type PresenceState,
  presenceTracker,
  setRemotePresence,
} from "../store/presence.ts";
import { wakeRoom } from "../sync/positions.ts";
import { visibleTimelineEvent } from "../sync/room_access.ts";
import { DEFAULT_TYPING_TIMEOUT_MS, typingTracker } from "../sync/typing.ts";
import { roomAudience, userAudience } from "./audience.ts";
import { aclAllows } from "./incoming.ts";
import { serversInRoom } from "./room_events.ts";

/** Rooms handled from one inbound `m.receipt` EDU. */
const MAX_RECEIPT_ROOMS = 100;
/** Users handled per room of one inbound `m.receipt` EDU. */
const MAX_RECEIPT_USERS = 500;
/** Event IDs looked at per user of one inbound receipt. */
const MAX_RECEIPT_EVENTS = 10;
/** Users per outbound `m.presence` EDU (well below the EDU size limit). */
const PRESENCE_PER_EDU = 200;
/** How long after a remote join the joining server is sent our members' presence. */
const JOIN_PRESENCE_DELAY_MS = 2_000;
/** Users handled from one inbound `m.presence` EDU. */
const MAX_PRESENCE_PUSH = 500;
/** Longest status message kept from another server, in characters. */
const MAX_STATUS_MSG_CHARS = 1024;
/** Longest room or event ID accepted. */
const MAX_ID_CHARS = 255;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function federates(hs: Homeserver): boolean {
  return hs.config.federation.enabled;
}

function isRoomId(value: unknown): value is string {
  return typeof value === "string" && value.startsWith("!") && value.length <= MAX_ID_CHARS;
}

/** A user of `origin`, joined to the room, whose server the room's ACL admits. */
async function joinedUserOf(
  hs: Homeserver,
  origin: string,
  where: { roomId: string; userId: unknown },
): Promise<boolean> {
  const { roomId, userId } = where;
  if (typeof userId !== "string" || userId.length > MAX_ID_CHARS) return false;
  if (!isValidUserId(userId) || serverNameOf(userId) !== origin) return false;
  if ((await hs.rooms.membership(roomId, userId))?.membership !== "join") return false;
  return await aclAllows(hs, roomId, origin);
}

function logFailure(what: string): (err: unknown) => void {
  return (err) => console.error(`federating ${what} failed:`, err);
}

// --- typing -----------------------------------------------------------------------------

/** Tells the room's other servers that a local user started or stopped typing. */
export async function federateTyping(
  hs: Homeserver,
  roomId: string,
  change: { userId: string; typing: boolean },
): Promise<void> {
  if (!federates(hs)) return;
  const destinations = await roomAudience(hs, roomId);
  if (destinations.length === 0) return;
  await hs.edus.send(destinations, {
    edu_type: "m.typing",
    content: { room_id: roomId, user_id: change.userId, typing: change.typing },
  });
}

async function receiveTyping(hs: Homeserver, origin: string, content: JsonObject): Promise<void> {
  const { room_id: roomId, user_id: userId, typing, timeout } = content as Json;
  if (!isRoomId(roomId) || typeof typing !== "boolean") return;
  if (!(await joinedUserOf(hs, origin, { roomId, userId }))) return;
  // The spec's EDU has no timeout; a sender that adds one is heeded (the tracker caps it).
  const timeoutMs = Number.isSafeInteger(timeout) && (timeout as number) > 0
    ? timeout as number
    : DEFAULT_TYPING_TIMEOUT_MS;
  typingTracker(hs).setTyping(roomId, userId as string, { typing, timeoutMs });
}

/** Registers the inbound `m.typing` handler (once per server, from the typing routes). */
export function registerTypingEdus(hs: Homeserver): void {
  hs.edus.handle("m.typing", (origin, content) => receiveTyping(hs, origin, content));
}

// --- receipts ---------------------------------------------------------------------------

/** Sends a local user's public read receipt to the room's other servers. */
export async function federateReceipt(
  hs: Homeserver,
  receipt: { roomId: string; userId: string; eventId: string; ts: number; threadId?: string },
): Promise<void> {
  if (!federates(hs)) return;
  const destinations = await roomAudience(hs, receipt.roomId);
  if (destinations.length === 0) return;
  const data: Json = { ts: receipt.ts };
  if (receipt.threadId !== undefined) data.thread_id = receipt.threadId;
  await hs.edus.send(destinations, {
    edu_type: "m.receipt",
    content: {
      [receipt.roomId]: {
        "m.read": { [receipt.userId]: { event_ids: [receipt.eventId], data } },
      },
    } as JsonObject,
  });
}

async function receiveUserReceipt(
  hs: Homeserver,
  origin: string,
  where: { roomId: string; userId: string; receipt: unknown },
): Promise<void> {
  const { roomId, userId, receipt } = where;
  if (!isObject(receipt) || !Array.isArray(receipt.event_ids)) return;
  const data = isObject(receipt.data) ? receipt.data : {};
  const threadId = data.thread_id;
  let threadKey = "";
  if (threadId !== undefined) {
    if (typeof threadId !== "string") return;
    if (threadId !== "main" && (threadId.length > MAX_ID_CHARS || !isValidEventId(threadId))) {
      return;
    }
    threadKey = threadId;
  }
  if (!(await joinedUserOf(hs, origin, { roomId, userId }))) return;
  const now = Date.now();
  const ts = Number.isSafeInteger(data.ts) && (data.ts as number) > 0
    ? Math.min(data.ts as number, now)
    : now;
  // Of the events named, the latest one we hold counts (servers send one).
  let best: { eventId: string; order: number } | null = null;
  for (const eventId of receipt.event_ids.slice(0, MAX_RECEIPT_EVENTS)) {
    if (typeof eventId !== "string" || eventId.length > MAX_ID_CHARS) continue;
    if (!eventId.startsWith("$")) continue;
    const stored = await visibleTimelineEvent(hs, { roomId, eventId, userId });
    if (!stored || (best && best.order >= stored.meta.pos!)) continue;
    best = { eventId, order: stored.meta.pos! };
  }
  if (!best) return;
  const pos = await setReceipt(hs, { roomId, userId, receiptType: "m.read", threadKey }, {
    eventId: best.eventId,
    eventOrder: best.order,
    ts,
  });
  if (pos !== null) wakeRoom(hs, roomId, pos);
}

async function receiveReceipts(hs: Homeserver, origin: string, content: JsonObject): Promise<void> {
  for (const [roomId, byType] of Object.entries(content).slice(0, MAX_RECEIPT_ROOMS)) {
    if (!isRoomId(roomId) || !isObject(byType)) continue;
    // Only public read receipts cross servers; anything else is not ours to store.
    const read = byType["m.read"];
    if (!isObject(read)) continue;
    for (const [userId, receipt] of Object.entries(read).slice(0, MAX_RECEIPT_USERS)) {
      await receiveUserReceipt(hs, origin, { roomId, userId, receipt });
    }
  }
}

/** Registers the inbound `m.receipt` handler (once per server, from the receipt routes). */
export function registerReceiptEdus(hs: Homeserver): void {
  hs.edus.handle("m.receipt", (origin, content) => receiveReceipts(hs, origin, content));
}

// --- presence ---------------------------------------------------------------------------

/** The `m.presence` push entry of a local user, or null when none is stored. */
async function presenceEntry(hs: Homeserver, userId: string): Promise<Json | null> {
  const record = await getPresence(hs, userId);
  if (!record) return null;
  const content = presenceTracker(hs).content(userId, record, Date.now());
  return { user_id: userId, last_active_ago: 0, ...content };
}

/** Sends a local user's current presence to the servers sharing a room with them. */
export async function federatePresence(hs: Homeserver, userId: string): Promise<void> {
  if (!federates(hs) || serverNameOf(userId) !== hs.config.serverName) return;
  const destinations = await userAudience(hs, userId);
  if (destinations.length === 0) return;
  const entry = await presenceEntry(hs, userId);
  if (!entry) return;
  await hs.edus.send(destinations, {
    edu_type: "m.presence",
    content: { push: [entry] } as JsonObject,
  });
}

/**
 * A user of `server` joined a room: that server now shares the room with our members there and
 * hears their current presence (later changes follow as they happen).
 */
async function presenceOfRoomTo(hs: Homeserver, roomId: string, server: string): Promise<void> {
  const push: Json[] = [];
  for (const member of await hs.rooms.members(roomId)) {
    if (serverNameOf(member) !== hs.config.serverName) continue;
    const entry = await presenceEntry(hs, member);
    if (entry) push.push(entry);
  }
  for (let i = 0; i < push.length; i += PRESENCE_PER_EDU) {
    await hs.edus.send([server], {
      edu_type: "m.presence",
      content: { push: push.slice(i, i + PRESENCE_PER_EDU) } as JsonObject,
    });
  }
}

/** After a join, the servers that newly share the room learn the presence they missed. */
function presenceOnJoin(hs: Homeserver, committed: CommittedEvent): void {
  if (!federates(hs) || committed.outcome !== "accepted" || committed.pos === null) return;
  const { event } = committed.stored;
  if (event.type !== "m.room.member" || event.stateKey === undefined) return;
  if (event.content.membership !== "join") return;
  const server = serverNameOf(event.stateKey);
  if (server === undefined) return;
  if (server === hs.config.serverName) {
    federatePresence(hs, event.stateKey).catch(logFailure("presence after a join"));
    return;
  }
  // The joining server drops presence of users it does not yet share a room with, and it
  // commits its join only after our answer to its send_join: give it that time.
  const timers = pendingTimers.get(hs);
  if (!timers) return; // closed
  const timer = setTimeout(() => {
    timers.delete(timer);
    presenceOfRoomTo(hs, event.roomId, server).catch(logFailure("presence after a join"));
  }, JOIN_PRESENCE_DELAY_MS);
  Deno.unrefTimer(timer);
  timers.add(timer);
}

/** Per server: the delayed presence sends after remote joins (cleared when it closes). */
const pendingTimers = new WeakMap<Homeserver, Set<ReturnType<typeof setTimeout>>>();

/** The rooms where a remote user is joined alongside one of our users. */
async function roomsSharedWithUs(hs: Homeserver, userId: string): Promise<string[]> {
  const out: string[] = [];
  for (const roomId of await hs.rooms.joinedRooms(userId)) {
    if ((await serversInRoom(hs, roomId)).has(hs.config.serverName)) out.push(roomId);
  }
  return out;
}

async function receivePresenceOf(hs: Homeserver, origin: string, item: unknown): Promise<void> {
  if (!isObject(item)) return;
  const { user_id: userId, presence, last_active_ago: ago, status_msg: statusMsg } = item;
  if (typeof userId !== "string" || userId.length > MAX_ID_CHARS) return;
  if (!isValidUserId(userId) || serverNameOf(userId) !== origin) return;
  if (typeof presence !== "string" || !PRESENCE_STATES.includes(presence as PresenceState)) {
    return;
  }
  if (statusMsg !== undefined && statusMsg !== null && typeof statusMsg !== "string") return;
  const rooms = await roomsSharedWithUs(hs, userId);
  if (rooms.length === 0) return;
  const now = Date.now();
  const lastActiveTs = Number.isSafeInteger(ago) && (ago as number) >= 0
    ? Math.max(0, now - (ago as number))
    : 0;
  const pos = await setRemotePresence(hs, userId, {
    presence: presence as PresenceState,
    statusMsg: typeof statusMsg === "string" ? statusMsg.slice(0, MAX_STATUS_MSG_CHARS) : null,
    lastActiveTs,
  });
  if (pos === null) return;
  for (const roomId of rooms) wakeRoom(hs, roomId, pos);
}

async function receivePresence(hs: Homeserver, origin: string, content: JsonObject): Promise<void> {
  const push = (content as Json).push;
  if (!Array.isArray(push)) return;
  for (const item of push.slice(0, MAX_PRESENCE_PUSH)) {
    await receivePresenceOf(hs, origin, item);
  }
}

const presenceRegistered = new WeakSet<Homeserver>();

/**
 * Registers the inbound `m.presence` handler, sends local presence changes on, and tells a
 * server joining a room the presence of our members there (once per server, from the presence
 * routes).
 */
export function registerPresenceEdus(hs: Homeserver): void {
  if (presenceRegistered.has(hs)) return;
  presenceRegistered.add(hs);
  hs.pipeline.subscribe((committed) => presenceOnJoin(hs, committed));
  const timers = new Set<ReturnType<typeof setTimeout>>();
  pendingTimers.set(hs, timers);
  hs.addCloseHook(() => {
    for (const timer of timers) clearTimeout(timer);
    pendingTimers.delete(hs);
    return Promise.resolve();
  });
  hs.edus.handle("m.presence", (origin, content) => receivePresence(hs, origin, content));
  onPresenceWritten(hs, (userId) => {
    federatePresence(hs, userId).catch(logFailure("presence"));
  });
}

/**
 * Awaits a federation send (queueing is a KV write) without failing the client request that
 * caused it: the local change is made either way.
 */
export function sendQuietly(what: string, send: Promise<void>): Promise<void> {
  return send.catch(logFailure(what));
}
