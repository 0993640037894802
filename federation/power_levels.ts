/**
 * Power levels as the auth rules read them: parsing an `m.room.power_levels` content per room
 * version (v1-v9 accept integer-like strings, v1-v5 also floats, v10+ integers only), the
 * defaults when a level or the whole event is absent, the creators of a room, and a user's
 * effective power level (infinite for v12 creators).
 *
 * @module
 */

import { isValidUserId } from "./identifiers.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { JsonObject, JsonValue, RoomEvent, StateLookup, Verdict } from "./types.ts";
import { ACCEPT, reject } from "./types.ts";

/** The top-level integer properties of a power levels content. */
export type PowerLevelName =
  | "users_default"
  | "events_default"
  | "state_default"
  | "ban"
  | "kick"
  | "redact"
  | "invite";

/** Every top-level integer property, in the order the auth rules list them. */
export const POWER_LEVEL_NAMES: readonly PowerLevelName[] = Object.freeze([
  "users_default",
  "events_default",
  "state_default",
  "ban",
  "redact",
  "kick",
  "invite",
]);

/** The spec's default for each top-level level when the property (or the event) is absent. */
export const POWER_LEVEL_DEFAULTS: Readonly<Record<PowerLevelName, number>> = Object.freeze({
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
});

/** The default level for `notifications.room` (an `@room` mention). */
export const ROOM_NOTIFICATION_DEFAULT = 50;

/** A parsed `m.room.power_levels` content: every value an integer, defaults filled in. */
export interface PowerLevels {
  /** Effective top-level levels (explicit value or the spec default). */
  readonly levels: Readonly<Record<PowerLevelName, number>>;
  /** Only the top-level levels present in the content, parsed; used to detect alterations. */
  readonly explicit: Readonly<Partial<Record<PowerLevelName, number>>>;
  /** `users`: user ID -> level. */
  readonly users: ReadonlyMap<string, number>;
  /** `events`: event type -> level required to send it. */
  readonly events: ReadonlyMap<string, number>;
  /** `notifications`: notification key -> level (defaults are not filled in here). */
  readonly notifications: ReadonlyMap<string, number>;
}

/**
 * The power levels of a room with no `m.room.power_levels` event: every spec default and no
 * entries. (The room creators' own level is handled by {@link userPowerLevel}.)
 */
export const NO_POWER_LEVELS_EVENT: PowerLevels = Object.freeze({
  levels: POWER_LEVEL_DEFAULTS,
  explicit: Object.freeze({}),
  users: new Map<string, number>(),
  events: new Map<string, number>(),
  notifications: new Map<string, number>(),
});

/**
 * Integer-like strings (v1-v9, "stringy power levels"): an optional sign, base 10 digits with
 * any leading zeroes, and any whitespace around.
 */
const INTEGER_STRING = /^\s*[+-]?[0-9]+\s*$/;

/**
 * Reads one power level value per room version, or undefined if the version does not accept
 * it: v10+ only JSON integers; v1-v9 also integer-like strings; v1-v5 (no canonical JSON
 * enforcement) also finite floats, truncated toward zero.
 */
export function parsePowerLevelValue(
  value: JsonValue | undefined,
  rules: RoomVersionRules,
): number | undefined {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
    // Floats are only possible where canonical JSON is not enforced (v1-v5).
    if (!rules.strictCanonicalJson && Number.isFinite(value)) return Math.trunc(value) + 0;
    return undefined;
  }
  if (typeof value === "string" && !rules.integerPowerLevels && INTEGER_STRING.test(value)) {
    const n = Number(value.trim());
    return Number.isSafeInteger(n) ? n + 0 : undefined;
  }
  return undefined;
}

type ParseMode = "integers" | "stringy" | "stringy_floaty";

function parseModeOf(rules: RoomVersionRules): ParseMode {
  if (rules.integerPowerLevels) return "integers";
  return rules.strictCanonicalJson ? "stringy" : "stringy_floaty";
}

/*
 * Parsing is memoised per content object: checkAuth runs for every event and each check needs
 * the room's current power levels, whose `users` map can be large. Events are immutable, so a
 * content object always parses to the same value; the WeakMap lets unused contents be freed.
 */
const parseCache: Record<ParseMode, WeakMap<JsonObject, PowerLevels | string>> = {
  integers: new WeakMap(),
  stringy: new WeakMap(),
  stringy_floaty: new WeakMap(),
};

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseLevelMap(
  value: JsonValue | undefined,
  name: string,
  rules: RoomVersionRules,
  keyIsUserId: boolean,
): Map<string, number> | string {
  const map = new Map<string, number>();
  if (value === undefined) return map;
  if (!isObject(value)) return `"${name}" is not an object`;
  for (const key in value) {
    if (keyIsUserId && !isValidUserId(key, { historical: true })) {
      return `"${name}" has a key that is not a valid user ID: ${JSON.stringify(key)}`;
    }
    const level = parsePowerLevelValue(value[key], rules);
    if (level === undefined) {
      return `"${name}.${key}" is not a valid power level in room version ${rules.id}: ${
        JSON.stringify(value[key])
      }`;
    }
    map.set(key, level);
  }
  return map;
}

function parseUncached(content: JsonObject, rules: RoomVersionRules): PowerLevels | string {
  const explicit: Partial<Record<PowerLevelName, number>> = {};
  const levels: Record<PowerLevelName, number> = { ...POWER_LEVEL_DEFAULTS };
  for (const name of POWER_LEVEL_NAMES) {
    const raw = content[name];
    if (raw === undefined) continue;
    const level = parsePowerLevelValue(raw, rules);
    if (level === undefined) {
      return `"${name}" is not a valid power level in room version ${rules.id}: ${
        JSON.stringify(raw)
      }`;
    }
    explicit[name] = level;
    levels[name] = level;
  }
  const users = parseLevelMap(content.users, "users", rules, true);
  if (typeof users === "string") return users;
  const events = parseLevelMap(content.events, "events", rules, false);
  if (typeof events === "string") return events;
  const notifications = parseLevelMap(content.notifications, "notifications", rules, false);
  if (typeof notifications === "string") return notifications;
  return Object.freeze({
    levels: Object.freeze(levels),
    explicit: Object.freeze(explicit),
    users,
    events,
    notifications,
  });
}

function parseOrReason(content: JsonObject, rules: RoomVersionRules): PowerLevels | string {
  const cache = parseCache[parseModeOf(rules)];
  let parsed = cache.get(content);
  if (parsed === undefined) {
    parsed = parseUncached(content, rules);
    cache.set(content, parsed);
  }
  return parsed;
}

/**
 * Parses an `m.room.power_levels` content for a room version, filling in the spec defaults
 * (users_default 0, events_default 0, state_default 50, ban/kick/redact 50, invite 0).
 * Returns undefined when any level is not a value the version accepts (see
 * {@link parsePowerLevelValue}), when `users`, `events` or `notifications` is not an object,
 * or when a `users` key is not a user ID; {@link checkPowerLevelsContent} says why.
 */
export function parsePowerLevels(
  content: JsonObject,
  rules: RoomVersionRules,
): PowerLevels | undefined {
  const parsed = parseOrReason(content, rules);
  return typeof parsed === "string" ? undefined : parsed;
}

/** Like {@link parsePowerLevels}, as a verdict with a readable reason when invalid. */
export function checkPowerLevelsContent(content: JsonObject, rules: RoomVersionRules): Verdict {
  const parsed = parseOrReason(content, rules);
  return typeof parsed === "string" ? reject(`invalid m.room.power_levels: ${parsed}`) : ACCEPT;
}

/**
 * The level required to send an event of this type: its `events` entry, else `state_default`
 * for state events and `events_default` for message events.
 */
export function requiredPowerForEvent(type: string, isState: boolean, pl: PowerLevels): number {
  return pl.events.get(type) ??
    (isState ? pl.levels.state_default : pl.levels.events_default);
}

/** The level required for a notification key (`room` defaults to 50 when absent). */
export function notificationPowerLevel(key: string, pl: PowerLevels): number | undefined {
  return pl.notifications.get(key) ?? (key === "room" ? ROOM_NOTIFICATION_DEFAULT : undefined);
}

/**
 * The room creators named by a create event: `content.creator` (v1-v10), the create event's
 * sender (v11), or the sender plus `content.additional_creators` (v12). Malformed entries are
 * skipped; the create event's own auth rule rejects them.
 */
export function creatorsOf(createEvent: RoomEvent, rules: RoomVersionRules): readonly string[] {
  if (rules.createHasCreator) {
    const creator = createEvent.content.creator;
    return typeof creator === "string" ? [creator] : [];
  }
  if (!rules.privilegedCreators) return [createEvent.sender];
  const creators = [createEvent.sender];
  const additional = createEvent.content.additional_creators;
  if (Array.isArray(additional)) {
    for (const user of additional) {
      if (typeof user === "string" && !creators.includes(user)) creators.push(user);
    }
  }
  return creators;
}

/**
 * A user's power level given the parsed power levels (undefined: the room has no power levels
 * event) and the create event. v12 creators are infinitely powerful; without a power levels
 * event, the creator(s) have 100 (v1-v11) and everyone else 0.
 */
export function powerLevelOf(
  userId: string,
  pl: PowerLevels | undefined,
  createEvent: RoomEvent | undefined,
  rules: RoomVersionRules,
): number {
  if (rules.privilegedCreators && createEvent && creatorsOf(createEvent, rules).includes(userId)) {
    return Infinity;
  }
  if (pl === undefined) {
    if (createEvent && creatorsOf(createEvent, rules).includes(userId)) return 100;
    return 0;
  }
  return pl.users.get(userId) ?? pl.levels.users_default;
}

/**
 * A user's power level in the given state (see {@link powerLevelOf}). A malformed current
 * power levels event counts as the defaults; the auth rules reject events checked against one.
 */
export function userPowerLevel(
  userId: string,
  state: StateLookup,
  rules: RoomVersionRules,
): number {
  const plEvent = state("m.room.power_levels", "");
  const pl = plEvent
    ? parsePowerLevels(plEvent.content, rules) ?? NO_POWER_LEVELS_EVENT
    : undefined;
  return powerLevelOf(userId, pl, state("m.room.create", ""), rules);
}
