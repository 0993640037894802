/**
 * What the rooms admin API tells about a room: Synapse's room list entry and details (names,
 * counts, rules) from the current state, and the room's size (timeline events and their
 * stored bytes), kept per server in memory and extended from the last position it counted.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import {
  type EventRecord,
  roomKeys,
  type RoomRecord,
  type TimelineEntry,
} from "../rooms/schema.ts";
import { getManyChunked } from "../store/kv_batch.ts";
import { countDevices } from "../store/devices.ts";

/** A room as Synapse's list room API shows it. */
export interface RoomListEntry {
  room_id: string;
  name: string | null;
  canonical_alias: string | null;
  joined_members: number;
  joined_local_members: number;
  version: string;
  creator: string;
  encryption: string | null;
  federatable: boolean;
  public: boolean;
  join_rules: string | null;
  guest_access: string | null;
  history_visibility: string | null;
  state_events: number;
  room_type: string | null;
}

/** The types whose content the list entry reads. */
const SUMMARY_TYPES = [
  "m.room.create",
  "m.room.name",
  "m.room.topic",
  "m.room.avatar",
  "m.room.canonical_alias",
  "m.room.join_rules",
  "m.room.guest_access",
  "m.room.history_visibility",
  "m.room.encryption",
];

function stringField(event: StoredEvent | undefined, field: string): string | null {
  const value = event?.event.content[field];
  return typeof value === "string" ? value : null;
}

/** A room's list entry and, for the details, its topic, avatar and local joined members. */
export async function roomSummary(
  hs: Homeserver,
  room: RoomRecord,
): Promise<RoomListEntry & { topic: string | null; avatar: string | null; localJoined: string[] }> {
  const entries = await hs.rooms.currentStateEntries(room.roomId);
  const wanted = entries.filter((e) => e.stateKey === "" && SUMMARY_TYPES.includes(e.type));
  const events = await hs.rooms.events(wanted.map((e) => e.entry.eventId));
  const byType = new Map<string, StoredEvent>();
  for (const e of wanted) {
    const stored = events.get(e.entry.eventId);
    if (stored) byType.set(e.type, stored);
  }
  const joined = entries.filter((e) => e.type === "m.room.member" && e.entry.membership === "join")
    .map((e) => e.stateKey);
  const localJoined = joined.filter((u) => serverNameOf(u) === hs.config.serverName);
  const create = byType.get("m.room.create")?.event.content ?? {};
  return {
    room_id: room.roomId,
    name: stringField(byType.get("m.room.name"), "name"),
    topic: stringField(byType.get("m.room.topic"), "topic"),
    avatar: stringField(byType.get("m.room.avatar"), "url"),
    canonical_alias: stringField(byType.get("m.room.canonical_alias"), "alias"),
    joined_members: joined.length,
    joined_local_members: localJoined.length,
    version: room.roomVersion,
    creator: room.creator,
    encryption: stringField(byType.get("m.room.encryption"), "algorithm"),
    federatable: create["m.federate"] !== false,
    public: await hs.rooms.isPublished(room.roomId),
    join_rules: stringField(byType.get("m.room.join_rules"), "join_rule"),
    guest_access: stringField(byType.get("m.room.guest_access"), "guest_access"),
    history_visibility: stringField(byType.get("m.room.history_visibility"), "history_visibility"),
    state_events: entries.length,
    room_type: typeof create.type === "string" ? create.type : null,
    localJoined,
  };
}

/** Synapse's room details: the summary plus devices and whether local users forgot it. */
export async function roomDetails(
  hs: Homeserver,
  room: RoomRecord,
): Promise<Record<string, unknown>> {
  const { localJoined, ...summary } = await roomSummary(hs, room);
  let devices = 0;
  for (const userId of localJoined) {
    devices += await countDevices(hs.kv, userId, { limit: 10_000 });
  }
  // Every local user with a membership has forgotten it (and none is joined).
  let forgotten = localJoined.length === 0;
  if (forgotten) {
    const members = await hs.rooms.currentStateEntries(room.roomId, "m.room.member");
    for (const m of members) {
      if (serverNameOf(m.stateKey) !== hs.config.serverName) continue;
      const record = await hs.rooms.membership(room.roomId, m.stateKey);
      if (record && !record.forgotten) forgotten = false;
    }
  }
  const size = await roomSizes(hs).of(room.roomId);
  return {
    ...summary,
    joined_local_devices: devices,
    forgotten,
    events: size.events,
    size_bytes: size.bytes,
  };
}

/** What a room takes: its timeline events and their stored bytes (approximate). */
export interface RoomSize {
  events: number;
  bytes: number;
}

interface CountedSize extends RoomSize {
  /** The timeline position counted up to. */
  upto: number;
}

/**
 * Room sizes per server, counted once from the timeline and then extended from the last
 * counted position. Events backfilled after the first count, outliers and rejected events are
 * not counted; a PDU split over parts counts at its parts' bound.
 */
export class RoomSizes {
  readonly #hs: Homeserver;
  readonly #cache = new LruCache<string, CountedSize>(10_000);

  constructor(hs: Homeserver) {
    this.#hs = hs;
  }

  /** The size of a room (zero for a room without a timeline). */
  async of(roomId: string): Promise<RoomSize> {
    const head = await this.#hs.rooms.head(roomId);
    if (!head) return { events: 0, bytes: 0 };
    const cached = this.#cache.get(roomId);
    if (cached && cached.upto >= head.lastPos) return cached;
    const counted: CountedSize = cached
      ? { ...cached }
      : { events: 0, bytes: 0, upto: -Number.MAX_SAFE_INTEGER };
    const prefix = roomKeys.timelineOf(roomId);
    const selector = { start: [...prefix, counted.upto + 1], end: [...prefix, head.lastPos + 1] };
    let batch: TimelineEntry[] = [];
    const flush = async () => {
      const records = await getManyChunked<EventRecord>(
        this.#hs.kv,
        batch.map((e) => roomKeys.event(e.eventId)),
      );
      for (const record of records) {
        if (!record.value) continue;
        counted.events++;
        counted.bytes += record.value.pdu?.length ?? record.value.parts * 30_000;
      }
      batch = [];
    };
    for await (const entry of this.#hs.kv.list<TimelineEntry>(selector)) {
      batch.push(entry.value);
      counted.upto = entry.value.pos;
      if (batch.length >= 200) await flush();
    }
    await flush();
    counted.upto = Math.max(counted.upto, head.lastPos);
    this.#cache.set(roomId, counted);
    return counted;
  }

  /** Forgets a room's count (after a purge). */
  forget(roomId: string): void {
    this.#cache.delete(roomId);
  }
}

const SIZES = new WeakMap<Homeserver, RoomSizes>();

/** The room size counter of a server. */
export function roomSizes(hs: Homeserver): RoomSizes {
  let sizes = SIZES.get(hs);
  if (!sizes) SIZES.set(hs, sizes = new RoomSizes(hs));
  return sizes;
}

/** Every room this server holds a record of. */
export async function allRooms(hs: Homeserver): Promise<RoomRecord[]> {
  const out: RoomRecord[] = [];
  for await (const entry of hs.kv.list<RoomRecord>({ prefix: ["room"] })) out.push(entry.value);
  return out;
}
