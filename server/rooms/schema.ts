/**
 * The KV key layout and record types of the rooms storage area. Every key the room code reads
 * or writes is built here; ARCHITECTURE.md ("Storage: rooms and events") documents the same
 * schema in prose.
 *
 * @module
 */

/** A room this server knows, written once with its create event. */
export interface RoomRecord {
  roomId: string;
  /** The room version string ("1".."12"). */
  roomVersion: string;
  createEventId: string;
  /** The create event's sender. */
  creator: string;
  createdTs: number;
}

/** Everything the server knows about one stored PDU besides its wire form. */
export interface EventMeta {
  roomId: string;
  /**
   * Global stream position at which the event entered the room's timeline; null for outliers
   * (events known only as auth or state events, e.g. fetched during a remote join).
   */
  pos: number | null;
  /** The event's depth (a copy of the PDU field, for topological ordering). */
  depth: number;
  /** The state group of the state before the event; null for outliers. */
  stateGroupBefore: number | null;
  /**
   * The state group of the state after the event (equal to `stateGroupBefore` for message
   * events and rejected events); null for outliers.
   */
  stateGroup: number | null;
  /** Why the event was rejected by the auth rules; null when accepted. */
  rejected: string | null;
  /**
   * True for a remote event that passed the checks against the state before it but not
   * against the room's current state (spec: "soft failure"): kept in the graph, never shown
   * to clients, never built on.
   */
  softFailed?: boolean;
  /**
   * The room's current state group just before this timeline event, when it is not
   * `stateGroupBefore` (the event's own branch): what sync shows as the state before it.
   */
  roomStateBefore?: number;
  /**
   * The room's current state group after this timeline event, when it is not `stateGroup`
   * (a merge resolved the room's branches): the room's state at this position.
   */
  roomStateAfter?: number;
  /** True when the event is not part of the room's timeline (see `pos`). */
  outlier: boolean;
  /** For events sent by a local client with a transaction ID: the sending device and txn. */
  txn: { deviceId: string; txnId: string } | null;
  /** The ID of the accepted m.room.redaction that redacts this event, if any. */
  redactedBy: string | null;
  /** Milliseconds since the epoch when this server stored the event. */
  receivedTs: number;
  /** For accepted state events: the event it replaced at its (type, state_key), if any. */
  replacesState: string | null;
  /**
   * For invite and knock membership events: stripped state of the room at the event
   * (`unsigned.invite_room_state` / `knock_room_state`, and sync's invite and knock state).
   */
  strippedState?: StrippedStateEvent[];
}

/**
 * State types whose events an invitee or knocker is shown as stripped state (with the
 * sender's member event).
 */
export const STRIPPED_STATE_TYPES: readonly string[] = [
  "m.room.create",
  "m.room.name",
  "m.room.avatar",
  "m.room.topic",
  "m.room.join_rules",
  "m.room.canonical_alias",
  "m.room.encryption",
];

/** A stripped state event (spec: "Stripped state"). */
export interface StrippedStateEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}

/**
 * The value at `roomKeys.event(eventId)`: the metadata plus the PDU as JSON text (with
 * `event_id` for room versions 1-2, without for v3+). A PDU too large for one KV value
 * (64 KiB) is split: `pdu` is null and `parts` chunks live at `roomKeys.eventPart`.
 */
export interface EventRecord {
  meta: EventMeta;
  pdu: string | null;
  parts: number;
}

/** One entry of a room's timeline by stream position: enough to filter without the event. */
export interface TimelineEntry {
  pos: number;
  eventId: string;
  type: string;
  sender: string;
  /** Present for state events. */
  stateKey?: string;
  /** For m.room.member events: the new membership. */
  membership?: string;
}

/** The value of a current-state entry: the event and, for members, the membership. */
export interface CurrentStateEntry {
  eventId: string;
  /** For m.room.member: `content.membership`. */
  membership?: string;
}

/** The per-room head: what the next event builds on. Rewritten by every accepted event. */
export interface RoomHead {
  /** Forward extremities (event IDs with no accepted child yet). */
  extremities: string[];
  /** State group of the current state (the state after the extremities). */
  stateGroup: number;
  /** Stream position of the newest timeline event. */
  lastPos: number;
  /** The greatest depth in the room. */
  maxDepth: number;
}

/** A user's membership in one room (current state), indexed by user. */
export interface MembershipRecord {
  roomId: string;
  userId: string;
  /** join, invite, knock, leave or ban. */
  membership: string;
  /** The m.room.member event that set it. */
  eventId: string;
  /** Its stream position. */
  pos: number;
  /** The sender of the membership event (who invited, kicked, banned). */
  sender: string;
  /** Stream position of the user's latest join to this room (null if never joined). */
  lastJoinPos: number | null;
  /** Set by `/forget`: the room no longer appears in the user's sync or lists. */
  forgotten?: boolean;
}

/**
 * A state group: the state of a room at some events, stored as a delta against `prev`, or as a
 * full snapshot (`prev` null) split over `roomKeys.stateSnapshot` chunks.
 */
export interface StateGroupRecord {
  roomId: string;
  /** The group this one is a delta against; null for a snapshot. */
  prev: number | null;
  /** (state tuple key, event ID) pairs that differ from `prev`; null event ID removes. */
  delta: [string, string | null][];
  /** Deltas between this group and the nearest snapshot below it (0 for a snapshot). */
  chainLength: number;
  /** For snapshots: the number of chunks at `roomKeys.stateSnapshot(group, i)`. */
  chunks: number;
}

/** A room alias in the local directory. */
export interface AliasRecord {
  roomId: string;
  /** The user who created the alias (may delete it without power). */
  creator: string;
  createdTs: number;
}

/** A transaction ID's outcome: the event it produced. */
export interface TxnRecord {
  eventId: string;
  createdTs: number;
}

/** How long a transaction ID keeps its event (the spec asks for idempotency "for a while"). */
export const TXN_TTL_MS = 7 * 24 * 3600_000;

/**
 * `["meta","backfill"]` -> Deno.KvU64: how many backfilled events have been placed; the n-th
 * sits at timeline position -n, below every stream position.
 */
export const BACKFILL_COUNTER_KEY: Deno.KvKey = ["meta", "backfill"];

/** Key builders for the rooms storage area. */
export const roomKeys = {
  /** `["room", roomId]` -> RoomRecord. */
  room: (roomId: string): Deno.KvKey => ["room", roomId],
  /** `["room_head", roomId]` -> RoomHead. */
  head: (roomId: string): Deno.KvKey => ["room_head", roomId],
  /** `["event", eventId]` -> EventRecord. */
  event: (eventId: string): Deno.KvKey => ["event", eventId],
  /** `["event_part", eventId, i]` -> string: chunk i of a PDU too large for one value. */
  eventPart: (eventId: string, i: number): Deno.KvKey => ["event_part", eventId, i],
  /** `["pending_redaction", eventId, redactionId]` -> null: a redaction whose target is unknown. */
  pendingRedaction: (eventId: string, redactionId: string): Deno.KvKey => [
    "pending_redaction",
    eventId,
    redactionId,
  ],
  /** `["room_timeline", roomId, pos]` -> TimelineEntry. */
  timeline: (roomId: string, pos: number): Deno.KvKey => ["room_timeline", roomId, pos],
  /** The prefix of a room's timeline. */
  timelineOf: (roomId: string): Deno.KvKey => ["room_timeline", roomId],
  /** `["room_depth", roomId, depth, eventId]` -> null: topological order (backfill). */
  depth: (roomId: string, depth: number, eventId: string): Deno.KvKey => [
    "room_depth",
    roomId,
    depth,
    eventId,
  ],
  /** `["room_state", roomId, type, stateKey]` -> CurrentStateEntry. */
  currentState: (roomId: string, type: string, stateKey: string): Deno.KvKey => [
    "room_state",
    roomId,
    type,
    stateKey,
  ],
  /** The prefix of a room's current state (optionally of one type). */
  currentStateOf: (roomId: string, type?: string): Deno.KvKey =>
    type === undefined ? ["room_state", roomId] : ["room_state", roomId, type],
  /** `["state_group", group]` -> StateGroupRecord. */
  stateGroup: (group: number): Deno.KvKey => ["state_group", group],
  /** `["state_snap", group, i]` -> [tupleKey, eventId][]: chunk i of a snapshot. */
  stateSnapshot: (group: number, i: number): Deno.KvKey => ["state_snap", group, i],
  /** `["user_room", userId, roomId]` -> MembershipRecord. */
  userRoom: (userId: string, roomId: string): Deno.KvKey => ["user_room", userId, roomId],
  /** The prefix of a user's rooms. */
  userRoomsOf: (userId: string): Deno.KvKey => ["user_room", userId],
  /** `["txn", userId, deviceId, roomId, txnId]` -> TxnRecord (expires after TXN_TTL_MS). */
  txn: (userId: string, deviceId: string, roomId: string, txnId: string): Deno.KvKey => [
    "txn",
    userId,
    deviceId,
    roomId,
    txnId,
  ],
  /** `["room_alias", alias]` -> AliasRecord. */
  alias: (alias: string): Deno.KvKey => ["room_alias", alias],
  /** `["room_alias_by_room", roomId, alias]` -> null: a room's local aliases. */
  aliasOfRoom: (roomId: string, alias: string): Deno.KvKey => [
    "room_alias_by_room",
    roomId,
    alias,
  ],
  /** The prefix of a room's local aliases. */
  aliasesOfRoom: (roomId: string): Deno.KvKey => ["room_alias_by_room", roomId],
  /** `["room_public", roomId]` -> {since: ts}: listed in the public room directory. */
  publicRoom: (roomId: string): Deno.KvKey => ["room_public", roomId],
  /** The prefix of all published rooms. */
  publicRooms: (): Deno.KvKey => ["room_public"],
  /**
   * `["event_ref", eventId]` -> null: an accepted event lists `eventId` in its prev_events, so
   * it is no forward extremity (the extremity index).
   */
  referenced: (eventId: string): Deno.KvKey => ["event_ref", eventId],
  /** `["meta","state_group"]` -> Deno.KvU64: the highest state group allocated. */
  stateGroupCounter: (): Deno.KvKey => ["meta", "state_group"],
} as const;
