/**
 * The types of the room pipeline's interface (`event_pipeline.ts`): what to admit and how,
 * what became of it, what subscribers are told, and the decision a mode hands to the commit
 * (`event_commit.ts`).
 *
 * @module
 */

import { type EventTemplate } from "../../federation/build_event.ts";
import { type RoomVersionRules } from "../../federation/room_versions.ts";
import { type RoomEvent, type StateMap } from "../../federation/types.ts";
import type { SigningKey } from "../../crypto/signing.ts";
import type { Notifier } from "../notifier.ts";
import type { StreamSequencer } from "../stream.ts";
import { type Placement } from "./event_write.ts";
import { Mutations } from "./mutations.ts";
import { type RoomStore, type StoredEvent } from "./room_store.ts";
import { type RoomRecord } from "./schema.ts";

/** Queues an outbound PDU for other servers inside the event's own commit. */
export type OutboxWriter = (
  m: Mutations,
  destinations: readonly string[],
  item: { eventId: string; roomId: string; pos: number },
) => void;

/** What the pipeline needs from the server. */
export interface PipelineDeps {
  kv: Deno.Kv;
  rooms: RoomStore;
  stream: StreamSequencer;
  notifier: Notifier;
  serverName: string;
  signingKey: SigningKey;
  /** Outbound federation queue (absent: the room stays local). */
  outbox?: OutboxWriter;
}

/** Reads the state before the event being admitted (inside the room's lock). */
export type StateReader = (type: string, stateKey: string) => Promise<StoredEvent | null>;

/** A transaction of a local device. */
export interface Txn {
  deviceId: string;
  txnId: string;
}

/** Options of {@link EventPipeline.sendEvent}. */
export interface SendEventOptions {
  /** The sending device's transaction: a repeat returns the first event. */
  txn?: Txn;
  /**
   * The event's `origin_server_ts` instead of the clock (an application service's `ts`,
   * spec "Timestamp massaging"); ordering in the room is unaffected.
   */
  originServerTs?: number;
}

/** What to admit, and how (see the module documentation). */
export type AdmitInput =
  | {
    mode: "local";
    roomId: string;
    template: EventTemplate;
    txn?: Txn;
    /** See {@link SendEventOptions.originServerTs}. */
    originServerTs?: number;
  }
  | {
    mode: "remote";
    event: RoomEvent;
    /**
     * Relay it to the room's other servers (the resident server of a `send_join`,
     * `send_leave` or `send_knock`): this server, not its origin, tells the room.
     */
    relayFrom?: string;
    /**
     * The state before the event, for an event whose prev_events could not be fetched (from
     * the origin's `/state_ids`); its events must be stored (as outliers at least).
     */
    stateBefore?: StateMap;
  }
  | { mode: "outlier"; room: RoomRecord; events: readonly RoomEvent[] }
  | {
    mode: "backfill";
    roomId: string;
    events: readonly RoomEvent[];
    /** The state before events whose prev_events are unknown (from `/state_ids`). */
    stateBefore?: ReadonlyMap<string, StateMap>;
  }
  | {
    mode: "join";
    room: RoomRecord;
    event: RoomEvent;
    state: readonly RoomEvent[];
    authChain: readonly RoomEvent[];
  };

/** What became of one event. */
export type Outcome = "accepted" | "rejected" | "soft_failed" | "outlier" | "duplicate";

/** One admitted event. */
export interface AdmitResult {
  stored: StoredEvent;
  outcome: Outcome;
}

/** A committed event, as subscribers see it (in commit order). */
export interface CommittedEvent {
  stored: StoredEvent;
  outcome: Outcome;
  /** Servers its PDU was queued for (local events in rooms with remote members). */
  destinations: readonly string[];
  /**
   * Its timeline position when it is visible to clients: a stream position, or a negative
   * position for a backfilled event; null for rejected, soft-failed and outlier events.
   */
  pos: number | null;
  /** The stream position it completed (new timeline events), else null. */
  streamPos: number | null;
  /** Local users whose membership in the room this event changed. */
  localMembershipChanges: readonly string[];
}

/** Events an event refers to are not stored (or have no state): fetch them and retry. */
export class MissingEventsError extends Error {
  readonly code = "M_MISSING_EVENTS";
  constructor(readonly missing: readonly string[], readonly kind: "prev_events" | "auth_events") {
    super(`${kind} not known here: ${missing.slice(0, 5).join(", ")}`);
    this.name = "MissingEventsError";
  }
}

/** An event whose commit is queued; `finish` awaits the commit, then publishes the event. */
export interface Admitted {
  finish(): Promise<AdmitResult>;
}

/** How one event is committed (decided by the mode's checks). */
export interface Decision {
  mode: AdmitInput["mode"];
  room: RoomRecord;
  rules: RoomVersionRules;
  newRoom: boolean;
  placement: Placement;
  stateBefore: StateMap;
  /** The stored group of `stateBefore`, or null when it is new (a merge, a join). */
  groupBefore: number | null;
  /** For a new `stateBefore`: a group to store it as a delta against. */
  deltaBase?: { group: number; state: StateMap };
  rejected: string | null;
  softFailed: boolean;
  txn?: Txn;
  /**
   * A remote message extending the room's head exactly (see the pipeline's fast path): no
   * event can refer to it yet, and its commit does not hold the room's lock.
   */
  onHead?: boolean;
  /** For a remote event this server relays to the room: the server it came from. */
  relayFrom?: string;
  /** For backfill: the timeline position (negative) and the counter behind it. */
  backfill?: { pos: number; counter: number };
}
