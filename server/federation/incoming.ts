/**
 * PDUs from other servers, walked through the spec's "Checks performed on receipt of a PDU":
 * the room must be known here and its ACL must admit the origin and the sender's server; then
 * format, signatures and content hash (`federation/pdu_checks.ts`); then the pipeline's
 * `remote` mode (auth events, state before, current state). Events the PDU refers to and this
 * server lacks are fetched from the origin first: auth chains with `/event_auth`, gaps with
 * `/get_missing_events` (bounded, so a hostile peer cannot make us fetch without end).
 *
 * @module
 */

import { checkPdu, type KeyLookup, type PduCheck } from "../../federation/pdu_checks.ts";
import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { serverAllowedByAcl } from "../../federation/server_acl.ts";
import { type RoomEvent, type StateMap, stateTupleKey } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AdmitResult, MissingEventsError } from "../rooms/event_pipeline.ts";
import type { RoomRecord } from "../rooms/schema.ts";
import { recordOutOfRoomMembership } from "../rooms/remote_invites.ts";

/** Events fetched at most to fill the gaps before one received PDU. */
const MAX_FETCHED_PER_PDU = 1200;
/** Events asked for per `/get_missing_events` call. */
const MISSING_EVENTS_LIMIT = 50;
/**
 * Gaps fetched one behind the other at most (each `/get_missing_events` answer's oldest event
 * may itself follow a gap): with the limit above, a gap of up to 1,000 events, which is the
 * queue an outbound sender collapses to its newest event after an outage (`outbox.ts`).
 */
const MAX_GAP_DEPTH = 24;

/** Why a PDU was not accepted (the per-PDU `error` of a transaction's answer). */
export class PduError extends Error {
  readonly code = "M_BAD_PDU";
  constructor(message: string) {
    super(message);
    this.name = "PduError";
  }
}

/** The key lookup the PDU checks use: the key ring, with validity where the version asks. */
export function keyLookup(hs: Homeserver): KeyLookup {
  return (serverName, keyId, atTs) =>
    hs.federation.keys.verifyKey(serverName, keyId, {
      atTs: atTs > 0 ? atTs : undefined,
      enforceValidity: atTs > 0,
    });
}

/** Checks a PDU's format, signatures and hash for a room of version `rules`. */
export function checkIncomingPdu(
  hs: Homeserver,
  json: unknown,
  options: { rules: RoomVersionRules; roomId?: string },
): Promise<PduCheck> {
  return checkPdu(json, options.rules, { keys: keyLookup(hs), roomId: options.roomId });
}

/** Is `server` allowed by the room's current server ACL? */
export async function aclAllows(hs: Homeserver, roomId: string, server: string): Promise<boolean> {
  const acl = await hs.rooms.currentStateEvent(roomId, "m.room.server_acl", "");
  if (!acl) return true;
  return serverAllowedByAcl(acl.event.content, server);
}

/** Receives one PDU of a transaction (or a `send_join`-like endpoint) from `origin`. */
export class IncomingPdus {
  readonly #hs: Homeserver;

  constructor(hs: Homeserver) {
    this.#hs = hs;
  }

  /**
   * Checks and admits one PDU sent by `origin`. Resolves with the admission, or throws a
   * {@link PduError} saying why the PDU was dropped.
   */
  async receive(
    origin: string,
    json: unknown,
    options: { relay?: boolean } = {},
  ): Promise<AdmitResult> {
    const checked = await this.check(origin, json);
    if ("outcome" in checked) return checked;
    return await this.admit(origin, checked.event, { ...checked, relay: options.relay });
  }

  /**
   * The receipt checks of one PDU from `origin` (room, ACLs, format, signatures, hash): the
   * checked event with its room, ready for {@link admit}; or, for a room this server is not
   * in, the end of a local user's pending invite or knock, already recorded.
   *
   * @throws {PduError} why the PDU is dropped
   */
  async check(
    origin: string,
    json: unknown,
  ): Promise<{ event: RoomEvent; room: RoomRecord; rules: RoomVersionRules } | AdmitResult> {
    const hs = this.#hs;
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new PduError("A PDU must be a JSON object");
    }
    const roomId = (json as Record<string, unknown>).room_id;
    if (typeof roomId !== "string") throw new PduError("The PDU has no room_id");
    const room = await hs.rooms.room(roomId);
    if (!room) throw new PduError(`This server is not in room ${roomId}`);
    const rules = roomVersion(room.roomVersion)!;
    if (!(await hs.rooms.head(roomId))) {
      return await this.#outOfRoomMembership(origin, json, { room, rules });
    }
    if (!(await aclAllows(hs, roomId, origin))) {
      throw new PduError(`The room's server ACL denies ${origin}`);
    }
    const checked = await checkIncomingPdu(hs, json, { rules, roomId });
    if (!checked.ok) throw new PduError(checked.reason);
    const event = checked.event;
    const senderServer = serverNameOf(event.sender)!;
    if (senderServer !== origin && !(await aclAllows(hs, roomId, senderServer))) {
      throw new PduError(`The room's server ACL denies ${senderServer}`);
    }
    return { event, room, rules };
  }

  /**
   * A PDU for a room this server is not in: only the end of a local user's pending invite or
   * knock (withdrawn, refused, banned) is taken, sent by the server of its sender.
   */
  async #outOfRoomMembership(
    origin: string,
    json: object,
    options: { room: RoomRecord; rules: RoomVersionRules },
  ): Promise<AdmitResult> {
    const hs = this.#hs;
    const roomId = options.room.roomId;
    const checked = await checkIncomingPdu(hs, json, { rules: options.rules, roomId });
    if (!checked.ok) throw new PduError(checked.reason);
    const event = checked.event;
    const membership = event.content.membership;
    const target = event.stateKey;
    if (
      event.type !== "m.room.member" || target === undefined ||
      serverNameOf(target) !== hs.config.serverName ||
      (membership !== "leave" && membership !== "ban") ||
      serverNameOf(event.sender) !== origin
    ) {
      throw new PduError(`This server is not in room ${roomId}`);
    }
    const current = await hs.rooms.membership(roomId, target);
    if (current?.membership !== "invite" && current?.membership !== "knock") {
      throw new PduError(`${target} has no pending invite or knock in ${roomId}`);
    }
    await recordOutOfRoomMembership(hs, event, options);
    const stored = await hs.rooms.event(event.eventId);
    if (!stored) throw new PduError("The membership could not be stored");
    return { stored, outcome: "outlier" };
  }

  /**
   * Admits a checked event, fetching from `origin` the auth and prev events this server
   * lacks.
   */
  async admit(
    origin: string,
    event: RoomEvent,
    options: { room: RoomRecord; rules: RoomVersionRules; relay?: boolean },
  ): Promise<AdmitResult> {
    const budget = { left: MAX_FETCHED_PER_PDU };
    return await this.#admitFetching(origin, event, options, budget, 0);
  }

  async #admitFetching(
    origin: string,
    event: RoomEvent,
    options: { room: RoomRecord; rules: RoomVersionRules; relay?: boolean },
    budget: { left: number },
    depth: number,
  ): Promise<AdmitResult> {
    const pipeline = this.#hs.pipeline;
    const relayFrom = options.relay ? origin : undefined;
    let triedGap = false;
    let stateBefore: StateMap | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const [result] = await pipeline.admit({ mode: "remote", event, relayFrom, stateBefore });
        return result;
      } catch (err) {
        if (!(err instanceof MissingEventsError)) throw err;
        if (err.kind === "auth_events") {
          if (budget.left <= 0) throw new PduError(`Cannot fetch its auth events: ${err.message}`);
          await this.#fetchAuthChain(origin, event, options, budget);
        } else if (!triedGap && budget.left > 0 && depth <= MAX_GAP_DEPTH) {
          triedGap = true;
          try {
            await this.#fetchMissing(origin, event, options, budget, depth);
          } catch (gap) {
            if (!(gap instanceof PduError)) throw gap;
          }
        } else if (!stateBefore && depth === 0) {
          // The gap is too wide (or the origin would not fill it): take the state before
          // the event from the origin, and accept the event on it.
          stateBefore = await this.#stateBefore(origin, event, options);
        } else {
          throw new PduError(`Cannot fetch the events it refers to: ${err.message}`);
        }
      }
    }
    throw new PduError("Its prev_events and auth_events could not all be fetched");
  }

  /**
   * The state before `event` as the origin has it (`/state`), its events checked and stored
   * as outliers.
   */
  async #stateBefore(
    origin: string,
    event: RoomEvent,
    options: { room: RoomRecord; rules: RoomVersionRules },
  ): Promise<StateMap> {
    const hs = this.#hs;
    const res = await hs.federation.client.request(origin, {
      method: "GET",
      path: `/_matrix/federation/v1/state/${encodeURIComponent(event.roomId)}`,
      query: { event_id: event.eventId },
      maxBytes: 128 * 1024 * 1024,
      timeoutMs: 120_000,
    });
    const body = res.json as { pdus?: unknown; auth_chain?: unknown };
    if (res.status !== 200 || !Array.isArray(body?.pdus) || !Array.isArray(body.auth_chain)) {
      throw new PduError(`${origin} did not give the state before the event (${res.status})`);
    }
    const check = async (list: unknown[]) => {
      const out: RoomEvent[] = [];
      for (const pdu of list) {
        const result = await checkIncomingPdu(hs, pdu, {
          rules: options.rules,
          roomId: event.roomId,
        });
        if (result.ok) out.push(result.event);
      }
      return out;
    };
    const chain = await check(body.auth_chain);
    const stateEvents = await check(body.pdus);
    const admitted = await hs.pipeline.admit({
      mode: "outlier",
      room: options.room,
      events: [...chain, ...stateEvents],
    });
    const rejected = new Set(
      admitted.filter((r) => r.stored.meta.rejected !== null).map((r) => r.stored.event.eventId),
    );
    const state: StateMap = new Map();
    for (const e of stateEvents) {
      if (e.stateKey === undefined || rejected.has(e.eventId)) continue;
      state.set(stateTupleKey(e.type, e.stateKey), e.eventId);
    }
    return state;
  }

  /** Fetches the event's auth chain and stores what is new as outliers. */
  async #fetchAuthChain(
    origin: string,
    event: RoomEvent,
    options: { room: RoomRecord; rules: RoomVersionRules },
    budget: { left: number },
  ): Promise<void> {
    const hs = this.#hs;
    const res = await hs.federation.client.request(origin, {
      method: "GET",
      path: `/_matrix/federation/v1/event_auth/${encodeURIComponent(event.roomId)}/${
        encodeURIComponent(event.eventId)
      }`,
    });
    const chain = (res.json as { auth_chain?: unknown })?.auth_chain;
    if (res.status !== 200 || !Array.isArray(chain)) {
      throw new PduError(`${origin} did not give the event's auth chain (${res.status})`);
    }
    const events: RoomEvent[] = [];
    for (const pdu of chain.slice(0, Math.max(0, budget.left))) {
      const checked = await checkIncomingPdu(hs, pdu, {
        rules: options.rules,
        roomId: event.roomId,
      });
      if (checked.ok) events.push(checked.event);
    }
    budget.left -= chain.length;
    await hs.pipeline.admit({ mode: "outlier", room: options.room, events });
  }

  /** Fills the gap before `event` with `/get_missing_events`, oldest first. */
  async #fetchMissing(
    origin: string,
    event: RoomEvent,
    options: { room: RoomRecord; rules: RoomVersionRules },
    budget: { left: number },
    depth: number,
  ): Promise<void> {
    const hs = this.#hs;
    const earliest = (await hs.pipeline.extremities(event.roomId))?.map((e) => e.eventId) ?? [];
    const res = await hs.federation.client.request(origin, {
      method: "POST",
      path: `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(event.roomId)}`,
      body: {
        earliest_events: earliest,
        latest_events: [event.eventId],
        limit: Math.min(MISSING_EVENTS_LIMIT, budget.left),
        min_depth: 0,
      },
    });
    const list = (res.json as { events?: unknown })?.events;
    if (res.status !== 200 || !Array.isArray(list)) {
      throw new PduError(`${origin} did not give the missing events (${res.status})`);
    }
    budget.left -= list.length;
    const events: RoomEvent[] = [];
    for (const pdu of list.slice(0, MISSING_EVENTS_LIMIT)) {
      const checked = await checkIncomingPdu(hs, pdu, {
        rules: options.rules,
        roomId: event.roomId,
      });
      if (checked.ok) events.push(checked.event);
    }
    if (events.length === 0) throw new PduError("The origin has none of the missing events");
    events.sort((a, b) => a.depth - b.depth);
    for (const missing of events) {
      if (missing.eventId === event.eventId) continue;
      await this.#admitFetching(origin, missing, options, budget, depth + 1);
    }
  }
}
