/**
 * History older than this server's first event of a room, fetched when a client paginates
 * back past it (server-server API "Backfilling and retrieving missing events"). A room joined
 * over federation starts here at our join: the events before it exist only on the servers
 * that were in the room.
 *
 * {@link backfillRoom} finds the room's backward extremities (its oldest timeline events
 * whose prev_events this server lacks or knows only as outliers), asks a server in the room
 * for `/backfill` from them, checks every PDU (format, signatures, hashes, the room's ACL),
 * and admits the new ones with the pipeline's `backfill` mode, which places them below
 * everything in the timeline (negative positions). The oldest events of an answer refer to
 * events this server does not have: the state before them comes from `/state_ids` (the few
 * events it names that are unknown here fetched with `/event`, many with `/state`), so they
 * are checked against the room's state and shown, not kept as outliers. Every step is
 * bounded: events per answer, state fetches per call, events fetched by ID, servers tried.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import { type RoomEvent, type StateMap, stateTupleKey } from "../../federation/types.ts";
import { withoutPurged } from "../retention/purge_history.ts";
import type { Homeserver } from "../homeserver.ts";
import { MissingEventsError } from "../rooms/event_pipeline.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import type { RoomRecord } from "../rooms/schema.ts";
import { aclAllows, checkIncomingPdu } from "./incoming.ts";
import { serversInRoom } from "./room_events.ts";
import { mapLimited } from "../concurrency.ts";

/** Most events asked for (and accepted) from one `/backfill` answer. */
export const MAX_BACKFILL_EVENTS = 100;
/** Oldest timeline entries looked at for backward extremities. */
const EXTREMITY_SCAN = 20;
/** Backward extremities named in one `/backfill` request. */
const MAX_EXTREMITIES = 5;
/** Servers asked in one call before giving up. */
const MAX_SERVERS_TRIED = 3;
/** Events of one answer whose state before them is fetched (the rest stay outliers). */
const MAX_STATE_FETCHES = 3;
/** Events fetched one by one with `/event` at most; more missing state takes `/state`. */
const MAX_FETCH_BY_ID = 100;
/** State events (and auth chain events) one `/state_ids` answer may name. */
const MAX_STATE_IDS = 50_000;
/** Requests in flight at once while fetching events by ID or checking PDUs. */
const CONCURRENCY = 8;
/** Time one backfill request may take (a client's `/messages` waits for it). */
const REQUEST_TIMEOUT_MS = 15_000;
/** Time after which no further server is asked (the page answers with what it has). */
const CALL_BUDGET_MS = 30_000;
/** Bytes of a `/backfill` or `/state` answer read at most. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Calls in progress per server and room, so that concurrent pages share one backfill. */
const inFlight = new WeakMap<Homeserver, Map<string, Promise<number>>>();

/** Whether the event is in the timeline with a state (a point history can grow from). */
function placed(stored: StoredEvent | undefined): boolean {
  return stored !== undefined && !stored.meta.outlier && stored.meta.stateGroup !== null;
}

/**
 * The room's backward extremities: its oldest timeline events with a prev_event this server
 * lacks or holds only as an outlier (none once the create event is in the timeline).
 */
export async function backwardExtremities(hs: Homeserver, roomId: string): Promise<string[]> {
  const oldest = await hs.rooms.timeline(roomId, { dir: "f", limit: EXTREMITY_SCAN });
  const events = await hs.rooms.events(oldest.map((e) => e.eventId));
  const candidates = [...events.values()].filter((s) => s.meta.rejected === null);
  const prevs = await hs.rooms.events(candidates.flatMap((s) => [...s.event.prevEvents]));
  const out: string[] = [];
  for (const stored of candidates) {
    const gap = stored.event.prevEvents.some((id) => {
      const prev = prevs.get(id);
      return prev === undefined || (prev.meta.outlier && prev.meta.rejected === null);
    });
    if (gap) out.push(stored.event.eventId);
    if (out.length >= MAX_EXTREMITIES) break;
  }
  return out;
}

/** Servers to ask: the room ID's server first (it created the room), then the others. */
async function serversToAsk(hs: Homeserver, roomId: string): Promise<string[]> {
  const ours = hs.config.serverName;
  const inRoom = [...await serversInRoom(hs, roomId)].filter((s) => s !== ours).sort();
  const creator = serverNameOf(roomId);
  if (creator && inRoom.includes(creator)) {
    return [creator, ...inRoom.filter((s) => s !== creator)];
  }
  return inRoom;
}

/**
 * Fetches older events of a room from the servers in it and places them below its timeline.
 * Concurrent calls for one room share the work.
 *
 * @returns how many events were newly placed in the timeline (0: no gap, no server, or no
 *   server answered with anything new)
 */
export function backfillRoom(
  hs: Homeserver,
  roomId: string,
  options: { limit: number },
): Promise<number> {
  if (!hs.config.federation.enabled) return Promise.resolve(0);
  let rooms = inFlight.get(hs);
  if (!rooms) inFlight.set(hs, rooms = new Map());
  const running = rooms.get(roomId);
  if (running) return running;
  const call = backfillOnce(hs, roomId, options.limit).finally(() => rooms!.delete(roomId));
  rooms.set(roomId, call);
  return call;
}

async function backfillOnce(hs: Homeserver, roomId: string, limit: number): Promise<number> {
  const room = await hs.rooms.room(roomId);
  const rules = room ? roomVersion(room.roomVersion) : undefined;
  if (!room || !rules) return 0;
  const extremities = await backwardExtremities(hs, roomId);
  if (extremities.length === 0) return 0;
  const servers = await serversToAsk(hs, roomId);
  const deadline = Date.now() + CALL_BUDGET_MS;
  for (const server of servers.slice(0, MAX_SERVERS_TRIED)) {
    if (Date.now() > deadline) break;
    if (!(await aclAllows(hs, roomId, server))) continue;
    try {
      const placedCount = await backfillFrom(hs, server, {
        room,
        rules,
        extremities,
        limit: Math.max(1, Math.min(limit + extremities.length, MAX_BACKFILL_EVENTS)),
      });
      if (placedCount > 0) return placedCount;
    } catch (err) {
      console.warn(`backfill of ${roomId} from ${server}: ${(err as Error).message}`);
    }
  }
  return 0;
}

interface BackfillTarget {
  room: RoomRecord;
  rules: RoomVersionRules;
  extremities: string[];
  limit: number;
}

async function backfillFrom(
  hs: Homeserver,
  server: string,
  target: BackfillTarget,
): Promise<number> {
  const { room, rules } = target;
  const roomId = room.roomId;
  const res = await hs.federation.client.request(server, {
    method: "GET",
    path: `/_matrix/federation/v1/backfill/${encodeURIComponent(roomId)}`,
    query: { v: target.extremities, limit: target.limit },
    maxBytes: MAX_ANSWER_BYTES,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const pdus = (res.json as { pdus?: unknown } | null)?.pdus;
  if (res.status !== 200 || !Array.isArray(pdus)) {
    throw new Error(`/backfill answered ${res.status}`);
  }
  const checked = await checkPdus(hs, pdus.slice(0, MAX_BACKFILL_EVENTS), { rules, roomId });
  const known = await hs.rooms.events(checked.map((e) => e.eventId));
  // History this server purged stays purged (server/retention/purge_history.ts).
  const fresh = await withoutPurged(
    hs.kv,
    roomId,
    checked.filter((e) => !placed(known.get(e.eventId))),
  );
  if (fresh.length === 0) return 0;

  await fetchMissingAuth(hs, server, { room, rules, events: fresh });
  const stateBefore = new Map<string, StateMap>();
  const inBatch = new Set(fresh.map((e) => e.eventId));
  const prevs = await hs.rooms.events(fresh.flatMap((e) => [...e.prevEvents]));
  let fetches = 0;
  // The newest first: when only some can have their state, the newest stay in sequence.
  for (const event of [...fresh].sort((a, b) => b.depth - a.depth)) {
    if (event.prevEvents.length === 0) {
      stateBefore.set(event.eventId, new Map());
      continue;
    }
    const cut = event.prevEvents.some((id) => !inBatch.has(id) && !placed(prevs.get(id)));
    if (!cut || fetches >= MAX_STATE_FETCHES) continue;
    fetches++;
    const state = await remoteStateBefore(hs, server, { room, rules, eventId: event.eventId });
    if (state) stateBefore.set(event.eventId, state);
  }

  let results;
  try {
    results = await hs.pipeline.admit({ mode: "backfill", roomId, events: fresh, stateBefore });
  } catch (err) {
    // Something the checks need is still missing: what committed stays, the next page retries.
    if (err instanceof MissingEventsError) throw new Error(`incomplete answer: ${err.message}`);
    throw err;
  }
  return results.filter((r) => r.outcome !== "duplicate" && r.stored.meta.pos !== null).length;
}

/** The PDUs that pass the checks on receipt (and the room's ACL for their sender). */
async function checkPdus(
  hs: Homeserver,
  pdus: readonly unknown[],
  options: { rules: RoomVersionRules; roomId: string },
): Promise<RoomEvent[]> {
  const checked = await mapLimited(pdus, CONCURRENCY, async (pdu) => {
    const result = await checkIncomingPdu(hs, pdu, options);
    if (!result.ok) return null;
    const sender = serverNameOf(result.event.sender);
    if (!sender || !(await aclAllows(hs, options.roomId, sender))) return null;
    return result.event;
  });
  const seen = new Set<string>();
  return checked.filter((e): e is RoomEvent => {
    if (e === null || seen.has(e.eventId)) return false;
    seen.add(e.eventId);
    return true;
  });
}

/** Fetches events by ID (`/event`), checked; those that fail or do not come are left out. */
async function fetchEvents(
  hs: Homeserver,
  server: string,
  options: { rules: RoomVersionRules; roomId: string; ids: readonly string[] },
): Promise<RoomEvent[]> {
  const pdus = await mapLimited(options.ids, CONCURRENCY, async (id) => {
    try {
      const res = await hs.federation.client.request(server, {
        method: "GET",
        path: `/_matrix/federation/v1/event/${encodeURIComponent(id)}`,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const list = (res.json as { pdus?: unknown } | null)?.pdus;
      return res.status === 200 && Array.isArray(list) && list.length === 1 ? list[0] : null;
    } catch {
      return null;
    }
  });
  const events = await checkPdus(hs, pdus.filter((p) => p !== null), options);
  const wanted = new Set(options.ids);
  return events.filter((e) => wanted.has(e.eventId));
}

/**
 * Stores as outliers the auth events the batch refers to and this server lacks, with their
 * own missing auth events, a few rounds deep (bounded by {@link MAX_FETCH_BY_ID}).
 */
async function fetchMissingAuth(
  hs: Homeserver,
  server: string,
  batch: { room: RoomRecord; rules: RoomVersionRules; events: readonly RoomEvent[] },
): Promise<void> {
  const inBatch = new Set(batch.events.map((e) => e.eventId));
  let wanted = [...new Set(batch.events.flatMap((e) => [...e.authEvents]))]
    .filter((id) => !inBatch.has(id));
  let budget = MAX_FETCH_BY_ID;
  const fetched: RoomEvent[] = [];
  for (let round = 0; round < 5 && wanted.length > 0 && budget > 0; round++) {
    const known = await hs.rooms.events(wanted);
    const missing = wanted.filter((id) => !known.has(id)).slice(0, budget);
    if (missing.length === 0) break;
    budget -= missing.length;
    const events = await fetchEvents(hs, server, {
      rules: batch.rules,
      roomId: batch.room.roomId,
      ids: missing,
    });
    fetched.push(...events);
    for (const e of events) inBatch.add(e.eventId);
    wanted = [...new Set(events.flatMap((e) => [...e.authEvents]))]
      .filter((id) => !inBatch.has(id));
  }
  if (fetched.length > 0) {
    await hs.pipeline.admit({ mode: "outlier", room: batch.room, events: fetched });
  }
}

function idList(value: unknown): string[] | null {
  if (!Array.isArray(value) || value.length > MAX_STATE_IDS) return null;
  return value.every((v) => typeof v === "string" && v.length <= 255) ? value as string[] : null;
}

/**
 * The state before `eventId` as the server sees it, with the events it names stored here
 * (as outliers when new). Null when the server does not give it or it is incomplete.
 */
async function remoteStateBefore(
  hs: Homeserver,
  server: string,
  where: { room: RoomRecord; rules: RoomVersionRules; eventId: string },
): Promise<StateMap | null> {
  const { room, rules, eventId } = where;
  const roomId = room.roomId;
  const path = (kind: string) => `/_matrix/federation/v1/${kind}/${encodeURIComponent(roomId)}`;
  const res = await hs.federation.client.request(server, {
    method: "GET",
    path: path("state_ids"),
    query: { event_id: eventId },
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const body = res.json as { pdu_ids?: unknown; auth_chain_ids?: unknown } | null;
  const stateIds = idList(body?.pdu_ids);
  const authIds = idList(body?.auth_chain_ids) ?? [];
  if (res.status !== 200 || stateIds === null) return null;
  const known = await hs.rooms.events([...stateIds, ...authIds]);
  const missing = [...new Set([...stateIds, ...authIds])].filter((id) => !known.has(id));
  if (missing.length > 0) {
    let fetched: RoomEvent[];
    if (missing.length <= MAX_FETCH_BY_ID) {
      fetched = await fetchEvents(hs, server, { rules, roomId, ids: missing });
    } else {
      const full = await hs.federation.client.request(server, {
        method: "GET",
        path: path("state"),
        query: { event_id: eventId },
        maxBytes: MAX_ANSWER_BYTES,
        timeoutMs: REQUEST_TIMEOUT_MS * 2,
      });
      const answer = full.json as { pdus?: unknown; auth_chain?: unknown } | null;
      if (full.status !== 200 || !Array.isArray(answer?.pdus)) return null;
      const chain = Array.isArray(answer.auth_chain) ? answer.auth_chain : [];
      const wanted = new Set(missing);
      fetched = (await checkPdus(hs, [...answer.pdus, ...chain].slice(0, 2 * MAX_STATE_IDS), {
        rules,
        roomId,
      })).filter((e) => wanted.has(e.eventId));
    }
    if (fetched.length > 0) await hs.pipeline.admit({ mode: "outlier", room, events: fetched });
  }
  const events = await hs.rooms.events(stateIds);
  const state: StateMap = new Map();
  for (const id of stateIds) {
    const stored = events.get(id);
    // A state we cannot rebuild whole is no state to check events against.
    if (!stored || stored.event.stateKey === undefined || stored.event.roomId !== roomId) {
      return null;
    }
    if (stored.meta.rejected !== null) continue;
    state.set(stateTupleKey(stored.event.type, stored.event.stateKey), id);
  }
  if (!state.has(stateTupleKey("m.room.create", ""))) return null;
  return state;
}
