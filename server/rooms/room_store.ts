/**
 * Reads of the rooms storage area: events with their metadata, current state, state at any
 * event, timelines by stream position and by depth, memberships by user, aliases. Writes go
 * through `event_pipeline.ts` only (and `directory.ts` for aliases and the public list).
 *
 * Sync, `/messages`, `/context` and federation read rooms through this class
 * (`hs.rooms`). Events come back as {@link StoredEvent}: the engine's `RoomEvent` plus the
 * server's metadata; turn them into client events with `server/client/client_event.ts` and
 * filter them with `server/rooms/visibility.ts`.
 *
 * @module
 */

import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { JsonObject, PduJson, RoomEvent, StateMap } from "../../federation/types.ts";
import { splitStateTupleKey, stateTupleKey } from "../../federation/types.ts";
import { LruCache } from "./lru.ts";
import { getManyChunked } from "../store/kv_batch.ts";
import {
  type AliasRecord,
  type CurrentStateEntry,
  type EventMeta,
  type EventRecord,
  type MembershipRecord,
  type RoomHead,
  roomKeys,
  type RoomRecord,
  type TimelineEntry,
} from "./schema.ts";
import { StateStore } from "./state_store.ts";

/** A stored PDU: the engine's view of it plus the server's metadata. */
export interface StoredEvent {
  readonly event: RoomEvent;
  readonly meta: EventMeta;
  readonly rules: RoomVersionRules;
}

/** Options of {@link RoomStore.timeline}. */
export interface TimelineOptions {
  /** Exclusive lower bound when paginating forwards, exclusive upper bound backwards. */
  from?: number;
  /** Inclusive other bound (the visible stream position for forward reads). */
  to?: number;
  /** "f" (oldest first) or "b" (newest first); default "b". */
  dir?: "f" | "b";
  /** At most this many entries (default 50). */
  limit?: number;
}

/**
 * The lowest timeline position: backfilled events take negative positions below every other
 * (`event_pipeline.ts`), local and newly received ones positive stream positions.
 */
export const MIN_TIMELINE_POSITION = -Number.MAX_SAFE_INTEGER + 1;

/** Most events kept parsed in memory. */
const EVENT_CACHE_ENTRIES = 20_000;
/**
 * Memory for parsed events. A 700-character member event costs about 1.7 KB parsed (with its
 * metadata), so this holds some 14,000 such events; events with large contents count as what
 * they are (see {@link storedEventBytes}).
 */
export const EVENT_CACHE_MAX_BYTES = 24 * 1024 * 1024;
/** What the event cache keeps once the server goes idle after a burst (server/memory_trim.ts). */
export const EVENT_CACHE_IDLE_BYTES = 4 * 1024 * 1024;

/** The read side of the rooms storage, with in-memory caches (one per server instance). */
export class RoomStore {
  readonly kv: Deno.Kv;
  /** State groups (shared with the pipeline). */
  readonly states: StateStore;
  readonly #events = new LruCache<string, StoredEvent>(EVENT_CACHE_ENTRIES, {
    maxBytes: EVENT_CACHE_MAX_BYTES,
    idleBytes: EVENT_CACHE_IDLE_BYTES,
    sizeOf: storedEventBytes,
  });
  readonly #rooms = new LruCache<string, RoomRecord>(10_000);

  /**
   * `[retention]` as the readers need it: with `enabled`, messages past their room's
   * max_lifetime are no longer served (`visibility.ts`), even before the purge job removes
   * them. Set by the server; null (the default) serves everything stored.
   */
  retention: { enabled: boolean; defaultMaxLifetimeMs: number | null } | null = null;

  constructor(kv: Deno.Kv) {
    this.kv = kv;
    this.states = new StateStore(kv);
  }

  /** The room's record (version, creator), or null for a room this server does not know. */
  async room(roomId: string): Promise<RoomRecord | null> {
    const cached = this.#rooms.get(roomId);
    if (cached) return cached;
    const entry = await this.kv.get<RoomRecord>(roomKeys.room(roomId));
    if (entry.value) this.#rooms.set(roomId, entry.value);
    return entry.value;
  }

  /** The version rules of a known room, or null. */
  async rulesOf(roomId: string): Promise<RoomVersionRules | null> {
    const room = await this.room(roomId);
    return room ? roomVersion(room.roomVersion) ?? null : null;
  }

  /** The room's head (extremities, current state group, last position), or null. */
  async head(roomId: string): Promise<RoomHead | null> {
    return (await this.kv.get<RoomHead>(roomKeys.head(roomId))).value;
  }

  /**
   * A stored event by ID (rejected and outlier events included; check `meta`), or null.
   * Redacted events come back in full: redact for clients with `client_event.ts`.
   */
  async event(eventId: string): Promise<StoredEvent | null> {
    const cached = this.#events.get(eventId);
    if (cached) return cached;
    const entry = await this.kv.get<EventRecord>(roomKeys.event(eventId));
    if (!entry.value) return null;
    return await this.#hydrate(eventId, entry.value);
  }

  /** Several events by ID; missing ones are absent from the map. */
  async events(eventIds: Iterable<string>): Promise<Map<string, StoredEvent>> {
    const found = new Map<string, StoredEvent>();
    const missing: string[] = [];
    for (const id of eventIds) {
      const cached = this.#events.get(id);
      if (cached) found.set(id, cached);
      else if (!found.has(id)) missing.push(id);
    }
    const entries = await getManyChunked<EventRecord>(
      this.kv,
      missing.map((id) => roomKeys.event(id)),
    );
    for (let i = 0; i < missing.length; i++) {
      const value = entries[i].value;
      if (value) found.set(missing[i], await this.#hydrate(missing[i], value));
    }
    return found;
  }

  /** The current state event for (type, stateKey), or null. */
  async currentStateEvent(
    roomId: string,
    type: string,
    stateKey: string,
  ): Promise<StoredEvent | null> {
    const entry = await this.kv.get<CurrentStateEntry>(
      roomKeys.currentState(roomId, type, stateKey),
    );
    return entry.value ? await this.event(entry.value.eventId) : null;
  }

  /** The current state's entries (of one type when given), without loading the events. */
  async currentStateEntries(
    roomId: string,
    type?: string,
  ): Promise<{ type: string; stateKey: string; entry: CurrentStateEntry }[]> {
    const out: { type: string; stateKey: string; entry: CurrentStateEntry }[] = [];
    const iter = this.kv.list<CurrentStateEntry>({ prefix: roomKeys.currentStateOf(roomId, type) });
    for await (const item of iter) {
      out.push({ type: item.key[2] as string, stateKey: item.key[3] as string, entry: item.value });
    }
    return out;
  }

  /** The current state as a map (type, state_key) -> event ID. */
  async currentStateMap(roomId: string): Promise<StateMap> {
    const head = await this.head(roomId);
    if (!head) return new Map();
    return new Map(await this.states.stateOf(head.stateGroup));
  }

  /** The current state events (of one type when given). */
  async currentStateEvents(roomId: string, type?: string): Promise<StoredEvent[]> {
    const entries = await this.currentStateEntries(roomId, type);
    const events = await this.events(entries.map((e) => e.entry.eventId));
    return entries.map((e) => events.get(e.entry.eventId)).filter((e) => e !== undefined);
  }

  /** The state after an event (its state group); null for unknown or outlier events. */
  async stateAfter(eventId: string): Promise<StateMap | null> {
    const stored = await this.event(eventId);
    if (!stored || stored.meta.stateGroup === null) return null;
    return await this.states.stateOf(stored.meta.stateGroup);
  }

  /** The state before an event; null for unknown or outlier events. */
  async stateBefore(eventId: string): Promise<StateMap | null> {
    const stored = await this.event(eventId);
    if (!stored || stored.meta.stateGroupBefore === null) return null;
    return await this.states.stateOf(stored.meta.stateGroupBefore);
  }

  /** One entry of a state map as a stored event, or null. */
  async stateEventIn(state: StateMap, type: string, stateKey: string): Promise<StoredEvent | null> {
    const id = state.get(stateTupleKey(type, stateKey));
    return id === undefined ? null : await this.event(id);
  }

  /** The events of a state map (optionally only some types). */
  async stateEventsIn(state: StateMap, types?: readonly string[]): Promise<StoredEvent[]> {
    const ids: string[] = [];
    for (const [key, id] of state) {
      if (types && !types.includes(splitStateTupleKey(key)[0])) continue;
      ids.push(id);
    }
    const events = await this.events(ids);
    return ids.map((id) => events.get(id)).filter((e) => e !== undefined);
  }

  /** A user's current membership in a room, or null when they never had one. */
  async membership(roomId: string, userId: string): Promise<MembershipRecord | null> {
    return (await this.kv.get<MembershipRecord>(roomKeys.userRoom(userId, roomId))).value;
  }

  /** All rooms a user has a membership in (any membership, forgotten ones included). */
  async roomsOfUser(userId: string): Promise<MembershipRecord[]> {
    const out: MembershipRecord[] = [];
    const iter = this.kv.list<MembershipRecord>({ prefix: roomKeys.userRoomsOf(userId) });
    for await (const entry of iter) out.push(entry.value);
    return out;
  }

  /** The rooms a user is joined to now. */
  async joinedRooms(userId: string): Promise<string[]> {
    return (await this.roomsOfUser(userId)).filter((m) => m.membership === "join")
      .map((m) => m.roomId);
  }

  /** Users whose current membership in the room is `membership` (default join). */
  async members(roomId: string, membership = "join"): Promise<string[]> {
    const entries = await this.currentStateEntries(roomId, "m.room.member");
    return entries.filter((e) => e.entry.membership === membership).map((e) => e.stateKey);
  }

  /**
   * A room's timeline by stream position. Backwards (default) from `from` (exclusive, default
   * the end) down to `to` (inclusive, default the oldest backfilled event); forwards from
   * `from` (exclusive, default before the oldest) up to `to` (inclusive).
   */
  async timeline(roomId: string, options: TimelineOptions = {}): Promise<TimelineEntry[]> {
    const dir = options.dir ?? "b";
    const limit = options.limit ?? 50;
    const prefix = roomKeys.timelineOf(roomId);
    // Backfilled events sit at negative positions: the default bounds include them.
    const [low, high] = dir === "f"
      ? [
        (options.from ?? MIN_TIMELINE_POSITION - 1) + 1,
        (options.to ?? Number.MAX_SAFE_INTEGER - 1) + 1,
      ]
      : [options.to ?? MIN_TIMELINE_POSITION, options.from ?? Number.MAX_SAFE_INTEGER];
    // Bounds that cross (a token older than the other bound) select nothing; KV would throw.
    if (low >= high) return [];
    const selector: Deno.KvListSelector = { start: [...prefix, low], end: [...prefix, high] };
    const out: TimelineEntry[] = [];
    const iter = this.kv.list<TimelineEntry>(selector, { limit, reverse: dir === "b" });
    for await (const entry of iter) out.push(entry.value);
    return out;
  }

  /** The stream position of a room's newest timeline event (0 when none). */
  async lastPosition(roomId: string): Promise<number> {
    return (await this.head(roomId))?.lastPos ?? 0;
  }

  /** Event IDs in topological order (by depth) from `fromDepth` downwards, for backfill. */
  async eventsByDepth(
    roomId: string,
    options: { fromDepth: number; limit: number },
  ): Promise<{ depth: number; eventId: string }[]> {
    const out: { depth: number; eventId: string }[] = [];
    const iter = this.kv.list({
      start: ["room_depth", roomId, 0],
      end: ["room_depth", roomId, options.fromDepth + 1],
    }, { reverse: true, limit: options.limit });
    for await (const entry of iter) {
      out.push({ depth: entry.key[2] as number, eventId: entry.key[3] as string });
    }
    return out;
  }

  /** The room an alias points to, or null. */
  async alias(alias: string): Promise<AliasRecord | null> {
    return (await this.kv.get<AliasRecord>(roomKeys.alias(alias))).value;
  }

  /** A room's local aliases. */
  async aliasesOf(roomId: string): Promise<string[]> {
    const out: string[] = [];
    for await (const entry of this.kv.list({ prefix: roomKeys.aliasesOfRoom(roomId) })) {
      out.push(entry.key[2] as string);
    }
    return out;
  }

  /** Whether the room is listed in the public room directory. */
  async isPublished(roomId: string): Promise<boolean> {
    return (await this.kv.get(roomKeys.publicRoom(roomId))).value !== null;
  }

  /** Caches an event the pipeline just committed (or updated, e.g. redacted). */
  cacheEvent(stored: StoredEvent): void {
    this.#events.set(stored.event.eventId, stored);
  }

  /** Drops a purged room's record and events from the caches (`server/admin/room_purge.ts`). */
  forgetRoom(roomId: string, eventIds: Iterable<string>): void {
    this.#rooms.delete(roomId);
    for (const id of eventIds) this.#events.delete(id);
  }

  /** Caches a room record the pipeline just committed. */
  cacheRoom(room: RoomRecord): void {
    this.#rooms.set(room.roomId, room);
  }

  async #hydrate(eventId: string, record: EventRecord): Promise<StoredEvent> {
    let text = record.pdu;
    if (text === null) {
      const parts: string[] = [];
      for await (const entry of this.kv.list<string>({ prefix: ["event_part", eventId] })) {
        parts.push(entry.value);
      }
      if (parts.length !== record.parts) {
        throw new Error(`event ${eventId} has ${parts.length}/${record.parts} parts`);
      }
      text = parts.join("");
    }
    const rules = await this.rulesOf(record.meta.roomId);
    if (!rules) throw new Error(`event ${eventId} belongs to unknown room ${record.meta.roomId}`);
    const stored: StoredEvent = {
      event: roomEventFromStored(eventId, record.meta.roomId, JSON.parse(text), rules),
      meta: record.meta,
      rules,
    };
    this.#events.set(eventId, stored);
    return stored;
  }
}

/**
 * Rebuilds the engine's `RoomEvent` from a stored (already validated) PDU without re-hashing:
 * storage is trusted, so only the normalisation `parsePdu` does is repeated.
 */
export function roomEventFromStored(
  eventId: string,
  roomId: string,
  pdu: PduJson,
  rules: RoomVersionRules,
): RoomEvent {
  const refs = (value: unknown): string[] =>
    Array.isArray(value)
      ? value.map((item) => (Array.isArray(item) ? String(item[0]) : String(item)))
      : [];
  const content = pdu.content as JsonObject;
  const redactsField = rules.redactsInContent ? content.redacts : pdu.redacts;
  return {
    eventId,
    roomId,
    type: pdu.type as string,
    stateKey: typeof pdu.state_key === "string" ? pdu.state_key : undefined,
    sender: pdu.sender as string,
    originServerTs: pdu.origin_server_ts as number,
    depth: pdu.depth as number,
    content,
    prevEvents: refs(pdu.prev_events),
    authEvents: refs(pdu.auth_events),
    redacts: pdu.type === "m.room.redaction" && typeof redactsField === "string"
      ? redactsField
      : undefined,
    pdu,
  };
}

/** Serialises an event record's PDU: inline when small enough, else split into parts. */
export function encodePdu(event: RoomEvent): { pdu: string | null; parts: string[] } {
  const text = JSON.stringify(event.pdu);
  // V8 serialises strings as Latin-1 or UTF-16: 2 bytes per unit bounds either.
  const MAX_UNITS = 30_000;
  if (text.length <= MAX_UNITS) return { pdu: text, parts: [] };
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += MAX_UNITS) parts.push(text.slice(i, i + MAX_UNITS));
  return { pdu: null, parts };
}

/**
 * Approximate retained bytes of a parsed event: its PDU and metadata walked as V8 lays them
 * out (objects and arrays by their slots, strings by their length; strings shared with other
 * events, such as the room ID, count in every event, which errs on the large side).
 */
export function storedEventBytes(stored: StoredEvent): number {
  const { event, meta } = stored;
  // The RoomEvent, its copies of the reference lists, the metadata and the entry's own
  // overhead (measured: about 600 bytes beyond the PDU's walk, tests/unit/memory_*).
  const ids = event.prevEvents.length + event.authEvents.length;
  return 600 + 8 * ids + approxBytes(event.pdu, 0) +
    (meta.strippedState ? approxBytes(meta.strippedState, 0) : 0);
}

/** Approximate heap bytes of a JSON value (nested values below depth 16 count as small). */
export function approxBytes(value: unknown, depth: number): number {
  if (typeof value === "string") return 16 + value.length;
  if (typeof value !== "object" || value === null) return 8;
  if (depth > 16) return 64;
  let bytes = 32;
  if (Array.isArray(value)) {
    for (const item of value) bytes += 8 + approxBytes(item, depth + 1);
    return bytes;
  }
  for (const key in value) {
    // The key itself is an internalised string shared by every object with that key.
    bytes += 16 + approxBytes((value as Record<string, unknown>)[key], depth + 1);
  }
  return bytes;
}
