/**
 * Filters (spec: "Filtering"): the `Filter`, `RoomFilter`, `EventFilter` and `RoomEventFilter`
 * objects validated into typed values, and pure matching functions that `/sync`, `/messages`,
 * `/context` and `/search` share. No storage, no clock.
 *
 * @module
 */

import { badJson } from "../errors.ts";

/** An event as the filters see it (client format). */
export interface FilterableEvent {
  type: string;
  sender?: string;
  room_id?: string;
  content?: unknown;
}

/** A predicate over one string (exact or with `*` wildcards). */
type Matcher = (value: string) => boolean;

/** `EventFilter`: which events of a kind (presence, account data) to include. */
export interface EventFilter {
  /** Maximum events to return; undefined means the endpoint's default. */
  readonly limit?: number;
  readonly types?: readonly string[];
  readonly notTypes?: readonly string[];
  readonly senders?: readonly string[];
  readonly notSenders?: readonly string[];
  /** Compiled `types` (undefined: all types). */
  readonly typeMatcher?: Matcher;
  /** Compiled `not_types` (undefined: none excluded). */
  readonly notTypeMatcher?: Matcher;
}

/** `RoomEventFilter`: an {@link EventFilter} with room, URL and lazy-loading options. */
export interface RoomEventFilter extends EventFilter {
  readonly rooms?: readonly string[];
  readonly notRooms?: readonly string[];
  /** true: only events with `content.url`; false: only events without; undefined: any. */
  readonly containsUrl?: boolean;
  readonly lazyLoadMembers: boolean;
  readonly includeRedundantMembers: boolean;
  readonly unreadThreadNotifications: boolean;
}

/** `RoomFilter`: which rooms, and the filters of each section of a room. */
export interface RoomFilter {
  readonly rooms?: readonly string[];
  readonly notRooms?: readonly string[];
  readonly includeLeave: boolean;
  readonly ephemeral: RoomEventFilter;
  readonly state: RoomEventFilter;
  readonly timeline: RoomEventFilter;
  readonly accountData: RoomEventFilter;
}

/** `Filter`: the whole filter of a `/sync` request. */
export interface SyncFilter {
  /** Dot-separated paths of the fields to keep; undefined keeps everything. */
  readonly eventFields?: readonly string[];
  readonly eventFormat: "client" | "federation";
  readonly presence: EventFilter;
  readonly accountData: EventFilter;
  readonly room: RoomFilter;
}

/** The largest `limit` a filter may carry (endpoints apply their own, lower caps). */
export const MAX_FILTER_LIMIT = 100_000;

/** The filter that lets everything through. */
export const EMPTY_ROOM_EVENT_FILTER: RoomEventFilter = {
  lazyLoadMembers: false,
  includeRedundantMembers: false,
  unreadThreadNotifications: false,
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, path: string): Json {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw badJson(`'${path}' must be a JSON object`);
  return value;
}

function stringList(
  body: Json,
  key: string,
  path: string,
  prefix?: string,
): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw badJson(`'${path}${key}' must be an array of strings`);
  }
  if (prefix !== undefined) {
    const bad = value.find((item: string) => !item.startsWith(prefix));
    if (bad !== undefined) {
      throw badJson(`'${path}${key}' entries must start with '${prefix}' (got '${bad}')`);
    }
  }
  return value as string[];
}

function flag(body: Json, key: string, path: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw badJson(`'${path}${key}' must be true or false`);
  return value;
}

/** Compiles type patterns where `*` matches any sequence of characters. */
export function compileTypePatterns(patterns: readonly string[]): Matcher {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of patterns) {
    if (!pattern.includes("*")) {
      exact.add(pattern);
      continue;
    }
    const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    globs.push(new RegExp(`^${source}$`, "s"));
  }
  return (value) => exact.has(value) || globs.some((glob) => glob.test(value));
}

/** Validates an `EventFilter` object. */
export function parseEventFilter(value: unknown, path = ""): EventFilter {
  const body = objectAt(value, path || "filter");
  const prefix = path ? `${path}.` : "";
  let limit: number | undefined;
  if (body.limit !== undefined && body.limit !== null) {
    // The spec asks for more than 0, but clients send 0 for "no timeline, just the state"
    // (Synapse takes it), so 0 is read as that rather than refused.
    if (!Number.isInteger(body.limit) || (body.limit as number) < 0) {
      throw badJson(`'${prefix}limit' must be a non-negative integer`);
    }
    limit = Math.min(body.limit as number, MAX_FILTER_LIMIT);
  }
  const types = stringList(body, "types", prefix);
  const notTypes = stringList(body, "not_types", prefix);
  return {
    limit,
    types,
    notTypes,
    senders: stringList(body, "senders", prefix, "@"),
    notSenders: stringList(body, "not_senders", prefix, "@"),
    typeMatcher: types ? compileTypePatterns(types) : undefined,
    notTypeMatcher: notTypes ? compileTypePatterns(notTypes) : undefined,
  };
}

/** Validates a `RoomEventFilter` object (as `/messages` takes it, or a section of a room). */
export function parseRoomEventFilter(value: unknown, path = ""): RoomEventFilter {
  const body = objectAt(value, path || "filter");
  const prefix = path ? `${path}.` : "";
  return {
    ...parseEventFilter(body, path),
    rooms: stringList(body, "rooms", prefix, "!"),
    notRooms: stringList(body, "not_rooms", prefix, "!"),
    containsUrl: flag(body, "contains_url", prefix),
    lazyLoadMembers: flag(body, "lazy_load_members", prefix) ?? false,
    includeRedundantMembers: flag(body, "include_redundant_members", prefix) ?? false,
    unreadThreadNotifications: flag(body, "unread_thread_notifications", prefix) ?? false,
  };
}

/** Validates a whole `Filter` object (what `POST /user/{userId}/filter` stores). */
export function parseSyncFilter(value: unknown): SyncFilter {
  const body = objectAt(value, "filter");
  const format = body.event_format ?? "client";
  if (format !== "client" && format !== "federation") {
    throw badJson("'event_format' must be 'client' or 'federation'");
  }
  const room = objectAt(body.room, "room");
  return {
    eventFields: stringList(body, "event_fields", ""),
    eventFormat: format,
    presence: parseEventFilter(body.presence, "presence"),
    accountData: parseEventFilter(body.account_data, "account_data"),
    room: {
      rooms: stringList(room, "rooms", "room.", "!"),
      notRooms: stringList(room, "not_rooms", "room.", "!"),
      includeLeave: flag(room, "include_leave", "room.") ?? false,
      ephemeral: parseRoomEventFilter(room.ephemeral, "room.ephemeral"),
      state: parseRoomEventFilter(room.state, "room.state"),
      timeline: parseRoomEventFilter(room.timeline, "room.timeline"),
      accountData: parseRoomEventFilter(room.account_data, "room.account_data"),
    },
  };
}

/** Whether a room passes a filter's `rooms`/`not_rooms`. */
export function roomAllowed(
  filter: { readonly rooms?: readonly string[]; readonly notRooms?: readonly string[] },
  roomId: string,
): boolean {
  if (filter.notRooms?.includes(roomId)) return false;
  return filter.rooms === undefined || filter.rooms.includes(roomId);
}

/** Whether an event type passes `types`/`not_types`. */
export function typeAllowed(filter: EventFilter, type: string): boolean {
  if (filter.notTypeMatcher?.(type)) return false;
  return filter.typeMatcher === undefined || filter.typeMatcher(type);
}

/** Whether a sender passes `senders`/`not_senders`. */
export function senderAllowed(filter: EventFilter, sender: string | undefined): boolean {
  if (sender === undefined) return filter.senders === undefined;
  if (filter.notSenders?.includes(sender)) return false;
  return filter.senders === undefined || filter.senders.includes(sender);
}

/** Whether an event passes an {@link EventFilter} (types and senders). */
export function eventAllowed(filter: EventFilter, event: FilterableEvent): boolean {
  return typeAllowed(filter, event.type) && senderAllowed(filter, event.sender);
}

/**
 * Whether an event passes a {@link RoomEventFilter}: types, senders, rooms (when the event
 * names its room) and `contains_url`.
 */
export function roomEventAllowed(filter: RoomEventFilter, event: FilterableEvent): boolean {
  if (!eventAllowed(filter, event)) return false;
  if (event.room_id !== undefined && !roomAllowed(filter, event.room_id)) return false;
  if (filter.containsUrl !== undefined) {
    const content = event.content;
    const hasUrl = isObject(content) && typeof content.url === "string";
    if (hasUrl !== filter.containsUrl) return false;
  }
  return true;
}

/**
 * Splits a dot-separated property path (appendices: "Dot-separated property paths"): `.`
 * separates, `\.` is a literal dot and `\\` a literal backslash.
 */
export function splitPropertyPath(path: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch === "\\" && (path[i + 1] === "." || path[i + 1] === "\\")) {
      current += path[++i];
    } else if (ch === ".") {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/**
 * Keeps only the `event_fields` of an event (a copy; the input is not changed). Paths that do
 * not exist are ignored; a path that names an object keeps the whole object.
 */
export function projectEventFields(
  event: Record<string, unknown>,
  fields: readonly string[] | undefined,
): Record<string, unknown> {
  if (fields === undefined) return event;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const parts = splitPropertyPath(field);
    let source: unknown = event;
    for (const part of parts) {
      source = isObject(source) ? source[part] : undefined;
      if (source === undefined) break;
    }
    if (source === undefined) continue;
    let target = out;
    for (const part of parts.slice(0, -1)) {
      if (!isObject(target[part])) target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts[parts.length - 1]] = structuredClone(source);
  }
  return out;
}
