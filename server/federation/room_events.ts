/**
 * Reads other servers make of our rooms (server-server API "Retrieving events", "Backfilling
 * and retrieving missing events", "Retrieving the auth chain"): `/event`, `/state`,
 * `/state_ids`, `/event_auth`, `/backfill`, `/get_missing_events`, and helpers the membership
 * endpoints share (a stored event in federation form, auth chains, who is in a room).
 *
 * An origin may read a room's events only while one of its users is joined to it (or the room
 * is world-readable), and only if the room's server ACL admits it.
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { redactPdu } from "../../federation/redaction.ts";
import type { JsonObject } from "../../federation/types.ts";
import { badJson, forbidden, jsonResponse, notFound } from "../errors.ts";
import { redactErasedForServer } from "../retention/erased_pdus.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { loadAuthClosure } from "../rooms/state_resolution.ts";
import { aclAllows } from "./incoming.ts";
import { authenticatedOrigin, requiredContent } from "./inbound_auth.ts";

const V1 = "/_matrix/federation/v1";
/** Most events one `/backfill` or `/get_missing_events` answer holds. */
const MAX_EVENTS_PER_ANSWER = 100;

/** A stored event as other servers get it (redacted when it was redacted here). */
export function federationPdu(stored: StoredEvent): JsonObject {
  const pdu = stored.meta.redactedBy !== null
    ? redactPdu(stored.event.pdu, stored.rules)
    : stored.event.pdu;
  const out: JsonObject = { ...pdu };
  if (stored.rules.eventFormat === "v1") out.event_id = stored.event.eventId;
  delete out.unsigned;
  return out;
}

/** The servers with a joined member in a room's current state. */
export async function serversInRoom(hs: Homeserver, roomId: string): Promise<Set<string>> {
  const entries = await hs.rooms.currentStateEntries(roomId, "m.room.member");
  const servers = new Set<string>();
  for (const e of entries) {
    if (e.entry.membership !== "join") continue;
    const server = serverNameOf(e.stateKey);
    if (server) servers.add(server);
  }
  return servers;
}

/** Refuses an origin that may not read the room (not joined, or denied by its ACL). */
export async function requireOriginInRoom(
  hs: Homeserver,
  roomId: string,
  origin: string,
): Promise<void> {
  if (!(await hs.rooms.head(roomId))) throw notFound(`Room ${roomId} is not known here`);
  if (!(await aclAllows(hs, roomId, origin))) throw forbidden("Denied by the room's server ACL");
  if ((await serversInRoom(hs, roomId)).has(origin)) return;
  const visibility = await hs.rooms.currentStateEvent(roomId, "m.room.history_visibility", "");
  if (visibility?.event.content.history_visibility === "world_readable") return;
  throw forbidden(`${origin} has no user in room ${roomId}`);
}

/**
 * The auth chain of some events: every event reachable through auth_events, without the
 * events themselves unless one authorises another.
 */
export async function authChainOf(
  hs: Homeserver,
  eventIds: Iterable<string>,
): Promise<StoredEvent[]> {
  const starts = await hs.rooms.events(eventIds);
  const authIds = new Set<string>();
  for (const stored of starts.values()) for (const id of stored.event.authEvents) authIds.add(id);
  const closure = await loadAuthClosure(hs.rooms, authIds);
  return [...closure.values()].sort((a, b) => a.event.depth - b.event.depth);
}

/** The state before an event (its state group) as events, or null for an outlier. */
async function stateBeforeEvents(hs: Homeserver, eventId: string): Promise<StoredEvent[] | null> {
  const state = await hs.rooms.stateBefore(eventId);
  if (!state) return null;
  const events = await hs.rooms.events(state.values());
  return [...events.values()];
}

async function eventInRoom(hs: Homeserver, roomId: string, eventId: string): Promise<StoredEvent> {
  const stored = await hs.rooms.event(eventId);
  if (!stored || stored.event.roomId !== roomId) {
    throw notFound(`Event ${eventId} is not known in room ${roomId}`);
  }
  return stored;
}

/**
 * Walks prev_events backwards from `from` (breadth first, deepest first), skipping `stop`,
 * up to `limit` events.
 */
async function walkBack(
  hs: Homeserver,
  roomId: string,
  options: {
    from: string[];
    stop: Set<string>;
    limit: number;
    minDepth: number;
    inclusive: boolean;
  },
): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  const seen = new Set<string>(options.stop);
  let frontier = options.inclusive ? options.from : [];
  if (!options.inclusive) {
    const starts = await hs.rooms.events(options.from);
    frontier = [...starts.values()].filter((s) => s.event.roomId === roomId)
      .flatMap((s) => [...s.event.prevEvents]);
  }
  while (frontier.length > 0 && out.length < options.limit) {
    const fresh = frontier.filter((id) => !seen.has(id));
    for (const id of fresh) seen.add(id);
    const found = await hs.rooms.events(fresh);
    const batch = [...found.values()].filter((s) =>
      s.event.roomId === roomId && s.meta.rejected === null && s.event.depth >= options.minDepth
    ).sort((a, b) => b.event.depth - a.event.depth);
    const next: string[] = [];
    for (const stored of batch) {
      if (out.length >= options.limit) break;
      out.push(stored);
      next.push(...stored.event.prevEvents);
    }
    frontier = next;
  }
  return out;
}

function stringList(value: unknown, name: string, max: number): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw badJson(`'${name}' must be a list of event IDs`);
  }
  return (value as string[]).slice(0, max);
}

/** Routes of the event-reading endpoints. */
export function roomEventRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const serverName = hs.config.serverName;
  const answer = (body: Record<string, unknown>) =>
    jsonResponse({ origin: serverName, origin_server_ts: Date.now(), ...body });

  app.get(`${V1}/event/:eventId`, async (c) => {
    const origin = authenticatedOrigin(c);
    const stored = await hs.rooms.event(c.req.param("eventId"));
    if (!stored) throw notFound("Event not found");
    await requireOriginInRoom(hs, stored.event.roomId, origin);
    return answer({
      pdus: await redactErasedForServer(hs, [stored], [federationPdu(stored)], origin),
    });
  });

  const stateAt = async (roomId: string, eventId: string | undefined, origin: string) => {
    await requireOriginInRoom(hs, roomId, origin);
    if (!eventId) throw badJson("The 'event_id' query parameter is required");
    await eventInRoom(hs, roomId, eventId);
    const state = await stateBeforeEvents(hs, eventId);
    if (!state) throw notFound(`This server has no state at ${eventId}`);
    const chain = await authChainOf(hs, state.map((s) => s.event.eventId));
    return { state, chain };
  };

  app.get(`${V1}/state_ids/:roomId`, async (c) => {
    const { state, chain } = await stateAt(
      c.req.param("roomId"),
      c.req.query("event_id"),
      authenticatedOrigin(c),
    );
    return jsonResponse({
      pdu_ids: state.map((s) => s.event.eventId),
      auth_chain_ids: chain.map((s) => s.event.eventId),
    });
  });

  app.get(`${V1}/state/:roomId`, async (c) => {
    const { state, chain } = await stateAt(
      c.req.param("roomId"),
      c.req.query("event_id"),
      authenticatedOrigin(c),
    );
    return jsonResponse({ pdus: state.map(federationPdu), auth_chain: chain.map(federationPdu) });
  });

  app.get(`${V1}/event_auth/:roomId/:eventId`, async (c) => {
    const roomId = c.req.param("roomId");
    await requireOriginInRoom(hs, roomId, authenticatedOrigin(c));
    const stored = await eventInRoom(hs, roomId, c.req.param("eventId"));
    const chain = await authChainOf(hs, [stored.event.eventId]);
    return jsonResponse({ auth_chain: chain.map(federationPdu) });
  });

  app.get(`${V1}/backfill/:roomId`, async (c) => {
    const roomId = c.req.param("roomId");
    await requireOriginInRoom(hs, roomId, authenticatedOrigin(c));
    const from = c.req.queries("v") ?? [];
    if (from.length === 0) throw badJson("At least one 'v' event ID is required");
    const limit = Math.max(0, Math.min(Number(c.req.query("limit") ?? 10) || 0, 100));
    const events = await walkBack(hs, roomId, {
      from: from.slice(0, 20),
      stop: new Set(),
      limit,
      minDepth: 0,
      inclusive: true,
    });
    const pdus = events.map(federationPdu);
    return answer({
      pdus: await redactErasedForServer(hs, events, pdus, authenticatedOrigin(c)),
    });
  });

  app.post(`${V1}/get_missing_events/:roomId`, async (c) => {
    const roomId = c.req.param("roomId");
    await requireOriginInRoom(hs, roomId, authenticatedOrigin(c));
    const body = requiredContent(c);
    const earliest = stringList(body.earliest_events ?? [], "earliest_events", 100);
    const latest = stringList(body.latest_events, "latest_events", 20);
    const limit = typeof body.limit === "number" && Number.isInteger(body.limit)
      ? Math.max(0, Math.min(body.limit, MAX_EVENTS_PER_ANSWER))
      : 10;
    const minDepth = typeof body.min_depth === "number" ? body.min_depth : 0;
    const events = await walkBack(hs, roomId, {
      from: latest,
      stop: new Set(earliest),
      limit,
      minDepth,
      inclusive: false,
    });
    events.sort((a, b) => a.event.depth - b.event.depth);
    const pdus = events.map(federationPdu);
    return jsonResponse({
      events: await redactErasedForServer(hs, events, pdus, authenticatedOrigin(c)),
    });
  });

  return app;
}
