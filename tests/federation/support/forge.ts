/**
 * Hand-made PDUs and transactions for tests of what a node refuses: events built like a real
 * server builds them (auth events from the host's current state, prev_events from its forward
 * extremities), then signed with whatever key and origin the test wants, tampered with after
 * signing, and sent in a `PUT /send/{txnId}` signed by a real node's key over TLS.
 *
 * @module
 */

import type { SigningKey } from "../../../crypto/signing.ts";
import { buildPdu, type EventTemplate } from "../../../federation/build_event.ts";
import { computeEventId } from "../../../federation/event_id.ts";
import type { RoomVersionRules } from "../../../federation/room_versions.ts";
import type { PduJson, RoomEvent } from "../../../federation/types.ts";
import type { GemengNode } from "./gemeng_node.ts";

/** How a forged event is built. */
export interface ForgeOptions {
  /** The server whose signature the event carries (default: the sender's server). */
  origin?: string;
  /** The key it is signed with. */
  signingKey: SigningKey;
  /** Default: the host's forward extremities. */
  prevEvents?: readonly RoomEvent[];
  /** Default: now. */
  originServerTs?: number;
  /**
   * Take auth events and prev_events from this room's state instead of `roomId`'s (an event
   * that claims one room and points into another).
   */
  contextRoomId?: string;
}

/** A forged event and its room's rules. */
export interface Forged {
  event: RoomEvent;
  rules: RoomVersionRules;
}

/** The room's version rules on `host` (throws when the host does not know the room). */
export async function rulesOn(host: GemengNode, roomId: string): Promise<RoomVersionRules> {
  const rules = await host.hs.rooms.rulesOf(roomId);
  if (!rules) throw new Error(`${host.serverName} does not know ${roomId}`);
  return rules;
}

/**
 * Builds and signs an event in `roomId` as the host `host` sees the room now: its auth events
 * come from the host's current state, its prev_events from the host's forward extremities.
 */
export async function forgeEvent(
  host: GemengNode,
  roomId: string,
  template: EventTemplate,
  options: ForgeOptions,
): Promise<Forged> {
  const rules = await rulesOn(host, roomId);
  const contextRoom = options.contextRoomId ?? roomId;
  const state = new Map<string, RoomEvent>();
  for (const stored of await host.hs.rooms.currentStateEvents(contextRoom)) {
    state.set(`${stored.event.type}\u0000${stored.event.stateKey}`, stored.event);
  }
  const prevEvents = options.prevEvents ?? await host.hs.pipeline.extremities(contextRoom) ?? [];
  const origin = options.origin ?? template.sender.slice(template.sender.indexOf(":") + 1);
  const event = await buildPdu(template, {
    rules,
    roomId,
    origin,
    signingKey: options.signingKey,
    prevEvents,
    state: (type, stateKey) => state.get(`${type}\u0000${stateKey}`),
    originServerTs: options.originServerTs ?? Date.now(),
    eventIdLocalpart: crypto.randomUUID().replaceAll("-", ""),
  });
  return { event, rules };
}

/**
 * The wire form of `forged` with some top-level fields replaced after signing (a changed
 * `content` breaks the content hash; for room versions 3 and later the event ID, a hash of
 * the redacted event, stays the same when only content that redaction drops changes).
 */
export function tampered(forged: Forged, changes: PduJson): PduJson {
  return { ...structuredClone(forged.event.pdu), ...structuredClone(changes) };
}

/** The event ID a wire-form PDU has in a room of these rules. */
export function eventIdOf(pdu: PduJson, rules: RoomVersionRules): string {
  return computeEventId(pdu, rules);
}

/** A transaction's answer. */
export interface TxnAnswer {
  status: number;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/**
 * Sends `PUT /_matrix/federation/v1/send/{txnId}` from `from` (signed with its key, over
 * TLS, through its federation client) to `to`.
 */
export async function sendTransaction(
  from: GemengNode,
  to: Pick<GemengNode, "serverName">,
  txnId: string,
  body: { pdus: unknown[]; edus?: unknown[]; origin?: string },
): Promise<TxnAnswer> {
  const res = await from.hs.federation.client.request(to.serverName, {
    method: "PUT",
    path: `/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`,
    body: { origin: from.serverName, origin_server_ts: Date.now(), ...body },
  });
  return { status: res.status, json: res.json };
}
