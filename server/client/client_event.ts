/**
 * The client event format (spec: Client-Server API, "Room event format" / ClientEvent): a
 * stored PDU as clients see it. `/event`, `/state`, `/messages`, `/context` and `/sync` all
 * produce events through this module.
 *
 * - `unsigned.age` is computed at formatting time; `unsigned.transaction_id` only for the
 *   device that sent the event;
 * - state events carry `unsigned.replaces_state`, `unsigned.prev_content` and
 *   `unsigned.prev_sender` of the event they replaced;
 * - redacted events have their content redacted under the room version's rules and carry
 *   `unsigned.redacted_because` (the redaction event);
 * - redaction events carry `redacts` both at the top level and in `content` whatever the room
 *   version, for clients written against either;
 * - invite and knock membership events carry `unsigned.invite_room_state` /
 *   `knock_room_state` (stripped state) for the invited or knocking user.
 *
 * @module
 */

import { redactPdu } from "../../federation/redaction.ts";
import type { JsonObject } from "../../federation/types.ts";
import type { RoomStore, StoredEvent } from "../rooms/room_store.ts";

/** A client-format event. */
export interface ClientEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: JsonObject;
  origin_server_ts: number;
  redacts?: string;
  unsigned: JsonObject;
}

/** Who is looking, to decide on `transaction_id` and stripped state. */
export interface Viewer {
  userId?: string;
  deviceId?: string;
}

/** The other events a client event is formatted with (loaded by {@link clientEvents}). */
export interface ClientEventExtras {
  /** The replaced state event (for `prev_content`, `prev_sender`). */
  replaced?: StoredEvent | null;
  /** The redaction event when the event is redacted. */
  redactedBecause?: StoredEvent | null;
  /** Formatting time (for `age`); defaults to `Date.now()`. */
  now?: number;
}

/** Formats one stored event for a client, given its already loaded related events. */
export function toClientEvent(
  stored: StoredEvent,
  viewer: Viewer = {},
  extras: ClientEventExtras = {},
): ClientEvent {
  const { event, meta, rules } = stored;
  const now = extras.now ?? Date.now();
  const redacted = meta.redactedBy !== null;
  const content = redacted
    ? (redactPdu(event.pdu, rules).content as JsonObject) ?? {}
    : event.content;
  const unsigned: JsonObject = { age: Math.max(0, now - event.originServerTs) };
  if (
    meta.txn && viewer.userId === event.sender && viewer.deviceId === meta.txn.deviceId
  ) {
    unsigned.transaction_id = meta.txn.txnId;
  }
  if (event.stateKey !== undefined && meta.replacesState) {
    unsigned.replaces_state = meta.replacesState;
    const replaced = extras.replaced;
    if (replaced) {
      unsigned.prev_content = replaced.meta.redactedBy !== null
        ? (redactPdu(replaced.event.pdu, replaced.rules).content as JsonObject)
        : replaced.event.content;
      unsigned.prev_sender = replaced.event.sender;
    }
  }
  if (redacted && extras.redactedBecause) {
    unsigned.redacted_because = toClientEvent(extras.redactedBecause, viewer, {
      now,
    }) as unknown as JsonObject;
  }
  if (
    meta.strippedState && event.type === "m.room.member" && viewer.userId === event.stateKey
  ) {
    const membership = event.content.membership;
    if (membership === "invite") unsigned.invite_room_state = meta.strippedState as never;
    if (membership === "knock") unsigned.knock_room_state = meta.strippedState as never;
  }
  const out: ClientEvent = {
    event_id: event.eventId,
    room_id: event.roomId,
    sender: event.sender,
    type: event.type,
    content,
    origin_server_ts: event.originServerTs,
    unsigned,
  };
  if (event.stateKey !== undefined) out.state_key = event.stateKey;
  if (event.type === "m.room.redaction" && event.redacts !== undefined) {
    out.redacts = event.redacts;
    if (!redacted && content.redacts === undefined) {
      out.content = { ...content, redacts: event.redacts };
    }
  }
  return out;
}

/**
 * Formats stored events for a client, loading the replaced state events and redactions they
 * need in batches.
 */
export async function clientEvents(
  rooms: RoomStore,
  events: readonly StoredEvent[],
  viewer: Viewer = {},
): Promise<ClientEvent[]> {
  const needed = new Set<string>();
  for (const { event, meta } of events) {
    if (event.stateKey !== undefined && meta.replacesState) needed.add(meta.replacesState);
    if (meta.redactedBy) needed.add(meta.redactedBy);
  }
  const related = needed.size > 0 ? await rooms.events(needed) : new Map();
  const now = Date.now();
  return events.map((stored) =>
    toClientEvent(stored, viewer, {
      now,
      replaced: stored.meta.replacesState ? related.get(stored.meta.replacesState) ?? null : null,
      redactedBecause: stored.meta.redactedBy
        ? related.get(stored.meta.redactedBy) ?? null
        : undefined,
    })
  );
}

/** Formats one stored event for a client (loading its related events). */
export async function clientEvent(
  rooms: RoomStore,
  stored: StoredEvent,
  viewer: Viewer = {},
): Promise<ClientEvent> {
  return (await clientEvents(rooms, [stored], viewer))[0];
}
