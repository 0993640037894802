/**
 * What `/sync`, `/messages`, `/context` and the other read paths need from the room store,
 * as one interface. `server/sync/rooms_adapter.ts` implements it over `server/rooms/`; the
 * sync logic itself never touches room keys.
 *
 * Positions are global stream positions. A position `p` stands between the events at
 * positions `<= p` and those `> p`.
 *
 * @module
 */

import type { MembershipRecord } from "../rooms/schema.ts";

/** An event in the client format (`event_id`, `type`, `sender`, `content`, ...). */
export type ClientEvent = Record<string, unknown> & {
  event_id: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
  state_key?: string;
  origin_server_ts?: number;
  room_id?: string;
  unsigned?: Record<string, unknown>;
};

/** A room event with its stream position. */
export interface SyncEvent {
  pos: number;
  event: ClientEvent;
}

/** A user's current membership in a room, from the per-user membership index. */
export interface MembershipEntry {
  roomId: string;
  membership: "join" | "invite" | "leave" | "ban" | "knock";
  /** Stream position of the membership event. */
  pos: number;
  eventId: string;
  /** The stored record (saves a read when history visibility needs it). */
  record?: MembershipRecord;
}

/** A page of events. */
export interface EventPage {
  /** Ascending by position (for both directions). */
  events: SyncEvent[];
  /** Whether more matching events exist beyond the page. */
  limited: boolean;
}

/** The room store as the read paths see it. */
export interface RoomSource {
  /** Every room the user has a membership in (forgotten rooms excluded). */
  memberships(userId: string): Promise<MembershipEntry[]>;
  /**
   * Events of the room at positions in `(after, upto]` that the user may see (history
   * visibility applied) and that pass `accept`: the newest `limit` of them when `newest`
   * (a sync timeline, a backwards page), else the oldest `limit`.
   */
  events(
    roomId: string,
    range: {
      userId: string;
      /** The syncing device: its own events carry `unsigned.transaction_id`. */
      deviceId?: string;
      after: number;
      upto: number;
      limit: number;
      newest: boolean;
      accept?: (event: ClientEvent) => boolean;
    },
  ): Promise<EventPage>;
  /** The room state after every event at a position `<= pos` (keyed `type\u0000state_key`). */
  stateAt(roomId: string, pos: number): Promise<Map<string, ClientEvent>>;
  /** The current state of the room. */
  currentState(roomId: string): Promise<Map<string, ClientEvent>>;
  /** The stripped state shown with an invite or knock (the membership event included). */
  strippedState(roomId: string, membershipEventId: string): Promise<Record<string, unknown>[]>;
  /** One event with its position, or null when unknown. */
  event(eventId: string): Promise<SyncEvent | null>;
  /** Users joined to the room now. */
  joinedMembers(roomId: string): Promise<string[]>;
}

/** The key of a state event in a state map. */
export function stateKeyOf(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}
