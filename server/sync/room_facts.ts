/**
 * What sync needs to know about a room's state as a whole, computed once per state group and
 * kept in memory: member counts and heroes (the room summary), and the power levels and
 * create event that push rule conditions read. A state group never changes, so neither do its
 * facts; every member's sync after a message in a 500-member room reuses one computation.
 *
 * Memberships come from the room's current-state index (one range read, no event loads) when
 * it matches the group's member entries, else from the member events themselves.
 *
 * @module
 */

import {
  NO_POWER_LEVELS_EVENT,
  parsePowerLevels,
  powerLevelOf,
  type PowerLevels,
} from "../../federation/power_levels.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import { type RoomEvent, type StateMap, stateTupleKey } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import { LruCache } from "../rooms/lru.ts";

/** Most heroes in a room summary. */
export const MAX_HEROES = 5;
/** Memory for the facts of state groups (a few hundred bytes each). */
const FACTS_MAX_BYTES = 4 * 1024 * 1024;

const MEMBER_TYPE = "m.room.member";
const MEMBER_PREFIX = stateTupleKey(MEMBER_TYPE, "");
const POWER_LEVELS_KEY = stateTupleKey("m.room.power_levels", "");
const CREATE_KEY = stateTupleKey("m.room.create", "");

/** Facts of the state at one state group. */
export interface RoomFacts {
  joined: number;
  invited: number;
  /** The first {@link MAX_HEROES} + 1 joined or invited members, sorted. */
  heroes: string[];
  /** The first {@link MAX_HEROES} + 1 members who left or were banned, sorted. */
  departed: string[];
  /** Parsed power levels (undefined when the room has none). */
  powerLevels: PowerLevels | undefined;
  /** `notifications` of the power levels content (push rule `sender_notification_permission`). */
  notificationLevels: Record<string, number> | undefined;
  /** The create event and the room version's rules. */
  create: RoomEvent | undefined;
  rules: RoomVersionRules | undefined;
}

const caches = new WeakMap<Homeserver, {
  facts: LruCache<number, RoomFacts>;
  loading: Map<number, Promise<RoomFacts>>;
}>();

function cacheOf(hs: Homeserver) {
  let cache = caches.get(hs);
  if (!cache) {
    cache = {
      facts: new LruCache(Infinity, {
        maxBytes: FACTS_MAX_BYTES,
        idleBytes: FACTS_MAX_BYTES / 4,
        sizeOf: (facts) => 400 + 80 * (facts.heroes.length + facts.departed.length),
      }),
      loading: new Map(),
    };
    caches.set(hs, cache);
  }
  return cache;
}

function firstSorted(list: string[]): string[] {
  return list.sort().slice(0, MAX_HEROES + 1);
}

async function computeFacts(
  hs: Homeserver,
  roomId: string,
  state: StateMap,
): Promise<RoomFacts> {
  const members = new Map<string, string>();
  for (const [key, eventId] of state) {
    if (key.startsWith(MEMBER_PREFIX)) members.set(key.slice(MEMBER_PREFIX.length), eventId);
  }
  const memberships = new Map<string, string>();
  const entries = await hs.rooms.currentStateEntries(roomId, MEMBER_TYPE);
  const indexMatches = entries.length === members.size &&
    entries.every((e) => members.get(e.stateKey) === e.entry.eventId && e.entry.membership);
  if (indexMatches) {
    for (const e of entries) memberships.set(e.stateKey, e.entry.membership!);
  } else {
    const events = await hs.rooms.events(members.values());
    for (const [userId, eventId] of members) {
      const membership = events.get(eventId)?.event.content.membership;
      if (typeof membership === "string") memberships.set(userId, membership);
    }
  }
  let joined = 0;
  let invited = 0;
  const heroes: string[] = [];
  const departed: string[] = [];
  for (const [userId, membership] of memberships) {
    if (membership === "join") joined++;
    else if (membership === "invite") invited++;
    if (membership === "join" || membership === "invite") heroes.push(userId);
    else if (membership === "leave" || membership === "ban") departed.push(userId);
  }
  const ids = [state.get(POWER_LEVELS_KEY), state.get(CREATE_KEY)]
    .filter((id) => id !== undefined);
  const loaded = await hs.rooms.events(ids);
  const plEvent = loaded.get(state.get(POWER_LEVELS_KEY) ?? "");
  const create = loaded.get(state.get(CREATE_KEY) ?? "");
  const rules = create?.rules ?? plEvent?.rules;
  const powerLevels = plEvent && rules
    ? parsePowerLevels(plEvent.event.content, rules) ?? NO_POWER_LEVELS_EVENT
    : undefined;
  const notifications = plEvent?.event.content.notifications;
  return {
    joined,
    invited,
    heroes: firstSorted(heroes),
    departed: firstSorted(departed),
    powerLevels,
    notificationLevels: typeof notifications === "object" && notifications !== null &&
        !Array.isArray(notifications)
      ? notifications as Record<string, number>
      : undefined,
    create: create?.event,
    rules,
  };
}

/** The facts of `state`, the state of `group` in `roomId` (computed once per group). */
export function roomFacts(
  hs: Homeserver,
  where: { roomId: string; group: number | null; state: StateMap },
): Promise<RoomFacts> {
  if (where.group === null) return computeFacts(hs, where.roomId, where.state);
  const cache = cacheOf(hs);
  const group = where.group;
  const cached = cache.facts.get(group);
  if (cached) return Promise.resolve(cached);
  let loading = cache.loading.get(group);
  if (!loading) {
    loading = computeFacts(hs, where.roomId, where.state).then((facts) => {
      cache.facts.set(group, facts);
      return facts;
    }).finally(() => cache.loading.delete(group));
    cache.loading.set(group, loading);
  }
  return loading;
}

/** A user's power level under these facts (Infinity for v12 creators). */
export function powerLevelIn(facts: RoomFacts, userId: string): number {
  if (!facts.rules) return 0;
  return powerLevelOf(userId, facts.powerLevels, facts.create, facts.rules);
}

/** The `summary` of a room for `userId` (spec: "Syncing", RoomSummary). */
export function roomSummary(facts: RoomFacts, userId: string): Record<string, unknown> {
  const heroes = facts.heroes.filter((member) => member !== userId);
  const list = heroes.length > 0 ? heroes : facts.departed.filter((member) => member !== userId);
  return {
    "m.heroes": list.slice(0, MAX_HEROES),
    "m.joined_member_count": facts.joined,
    "m.invited_member_count": facts.invited,
  };
}
