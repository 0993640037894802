/**
 * The authorisation rules of room versions 1-12 (rooms/v1 ... rooms/v12, "Authorisation
 * rules"), as two pure checks:
 *
 * - {@link checkAuthEvents}: the rules about an event's own `auth_events` list;
 * - {@link checkAuth}: every other numbered rule, against a state the caller chooses (the
 *   event's auth events, the state before the event, or the current state).
 *
 * Each version difference reads a flag of {@link RoomVersionRules}. Every rejection names the
 * rule it comes from. The membership rules live in auth_rules_member.ts.
 *
 * @module
 */

import {
  type AuthContext,
  contextLevels,
  contextPowerLevel,
  membershipIn,
} from "./auth_context.ts";
import { authEventTypes } from "./auth_events.ts";
import { checkMembership } from "./auth_rules_member.ts";
import { isValidUserId, serverNameOf } from "./identifiers.ts";
import {
  checkPowerLevelsContent,
  creatorsOf,
  parsePowerLevels,
  POWER_LEVEL_NAMES,
  type PowerLevels,
  requiredPowerForEvent,
} from "./power_levels.ts";
import { roomVersion, type RoomVersionRules } from "./room_versions.ts";
import type { RoomEvent, StateLookup, Verdict } from "./types.ts";
import { ACCEPT, reject, stateTupleKey } from "./types.ts";

function isCreateEvent(event: RoomEvent): boolean {
  return event.type === "m.room.create";
}

/**
 * The auth rules about an event's own `auth_events` (rule 2 of v1-v11, rule 3 of v12): no two
 * entries for one (type, state_key); only entries the auth events selection allows for this
 * event; the create event present (v1-v11) or absent (v12: the room ID stands for it); every
 * entry in the same room. `authEvents` are the events the event lists; the caller has
 * already fetched them and rejects the event if any of them was itself rejected. The create
 * event is judged by its own rule and is accepted here.
 */
export function checkAuthEvents(
  event: RoomEvent,
  authEvents: readonly RoomEvent[],
  rules: RoomVersionRules,
): Verdict {
  if (isCreateEvent(event)) return ACCEPT;
  const allowed = new Set<string>();
  for (const [type, stateKey] of authEventTypes(event, rules)) {
    allowed.add(stateTupleKey(type, stateKey));
  }
  const seen = new Set<string>();
  let hasCreate = false;
  for (const authEvent of authEvents) {
    const id = authEvent.eventId;
    if (!event.authEvents.includes(id)) {
      return reject(`auth events: ${id} is not listed in the event's auth_events`);
    }
    if (authEvent.stateKey === undefined) {
      return reject(`auth events: ${id} (${authEvent.type}) is not a state event`);
    }
    const key = stateTupleKey(authEvent.type, authEvent.stateKey);
    if (seen.has(key)) {
      return reject(
        `auth events: duplicate entries for (${authEvent.type}, ${
          JSON.stringify(authEvent.stateKey)
        })`,
      );
    }
    seen.add(key);
    if (authEvent.type === "m.room.create") {
      hasCreate = true;
      if (rules.roomIdFromCreateEvent) {
        return reject(
          `auth events: room version ${rules.id} must not list the m.room.create event`,
        );
      }
    }
    if (!allowed.has(key)) {
      return reject(
        `auth events: (${authEvent.type}, ${
          JSON.stringify(authEvent.stateKey)
        }) is not selected for this event by the auth events selection`,
      );
    }
    if (authEvent.roomId !== event.roomId) {
      return reject(`auth events: ${id} belongs to room ${authEvent.roomId}, not ${event.roomId}`);
    }
  }
  if (!rules.roomIdFromCreateEvent && !hasCreate) {
    return reject("auth events: there is no m.room.create event among the auth events");
  }
  return ACCEPT;
}

/** Rule 1: the m.room.create event. */
function checkCreate(event: RoomEvent, rules: RoomVersionRules): Verdict {
  if (event.prevEvents.length > 0) return reject("m.room.create: it has prev_events");
  if (rules.roomIdFromCreateEvent) {
    if (event.pdu.room_id !== undefined) return reject("m.room.create: it has a room_id");
  } else {
    const roomDomain = serverNameOf(event.roomId);
    if (roomDomain === undefined || roomDomain !== serverNameOf(event.sender)) {
      return reject("m.room.create: the room_id domain does not match the sender's domain");
    }
  }
  const version = event.content.room_version;
  if (version !== undefined && (typeof version !== "string" || !roomVersion(version))) {
    return reject(
      `m.room.create: content.room_version ${JSON.stringify(version)} is not a known version`,
    );
  }
  if (rules.privilegedCreators && event.content.additional_creators !== undefined) {
    const additional = event.content.additional_creators;
    if (
      !Array.isArray(additional) ||
      !additional.every((u) => typeof u === "string" && isValidUserId(u, { historical: true }))
    ) {
      return reject("m.room.create: additional_creators is not an array of user IDs");
    }
  }
  if (rules.createHasCreator && event.content.creator === undefined) {
    return reject("m.room.create: content has no creator");
  }
  return ACCEPT;
}

/** Rule 4 of v1-v5: m.room.aliases. */
function checkAliases(event: RoomEvent): Verdict {
  if (event.stateKey === undefined) return reject("m.room.aliases: it has no state_key");
  if (serverNameOf(event.sender) !== event.stateKey) {
    return reject("m.room.aliases: the sender's domain does not match the state_key");
  }
  return ACCEPT;
}

/** The m.room.power_levels rule (rule 10 of v1-v5 and v10-v12, rule 9 of v6-v9). */
function checkPowerLevelsChange(ctx: AuthContext, senderLevel: number): Verdict {
  const { event, rules } = ctx;
  const validity = checkPowerLevelsContent(event.content, rules);
  if (!validity.ok) return reject(`m.room.power_levels: ${validity.reason}`);
  const next = parsePowerLevels(event.content, rules)!;
  if (rules.privilegedCreators) {
    for (const creator of ctx.creators) {
      if (next.users.has(creator)) {
        return reject(`m.room.power_levels: users must not list the room creator ${creator}`);
      }
    }
  }
  const current = ctx.powerLevels;
  if (current === undefined) return ACCEPT;
  for (const name of POWER_LEVEL_NAMES) {
    const before = current.explicit[name];
    const after = next.explicit[name];
    if (before === after) continue;
    if (before !== undefined && before > senderLevel) {
      return reject(`m.room.power_levels: current ${name} ${before} is above the sender's level`);
    }
    if (after !== undefined && after > senderLevel) {
      return reject(`m.room.power_levels: new ${name} ${after} is above the sender's level`);
    }
  }
  const maps: Array<[string, ReadonlyMap<string, number>, ReadonlyMap<string, number>]> = [
    ["events", current.events, next.events],
  ];
  if (rules.limitNotificationsPowerLevels) {
    maps.push(["notifications", current.notifications, next.notifications]);
  }
  for (const [name, before, after] of maps) {
    for (const [key, level] of before) {
      if (after.get(key) !== level && level > senderLevel) {
        return reject(
          `m.room.power_levels: current ${name}[${key}] ${level} is above the sender's level`,
        );
      }
    }
    for (const [key, level] of after) {
      if (before.get(key) !== level && level > senderLevel) {
        return reject(
          `m.room.power_levels: new ${name}[${key}] ${level} is above the sender's level`,
        );
      }
    }
  }
  for (const [user, level] of current.users) {
    if (user === event.sender || next.users.get(user) === level) continue;
    if (level >= senderLevel) {
      return reject(
        `m.room.power_levels: cannot change or remove ${user} at ${level}, not below the sender`,
      );
    }
  }
  for (const [user, level] of next.users) {
    if (current.users.get(user) !== level && level > senderLevel) {
      return reject(`m.room.power_levels: new level ${level} for ${user} is above the sender's`);
    }
  }
  return ACCEPT;
}

/** Rule 11 of v1-v2: m.room.redaction needs the redact level or the same event ID domain. */
function checkRedaction(ctx: AuthContext, senderLevel: number): Verdict {
  if (senderLevel >= contextLevels(ctx).levels.redact) return ACCEPT;
  const redacts = ctx.event.redacts;
  const domain = redacts === undefined ? undefined : serverNameOf(redacts);
  if (domain !== undefined && domain === serverNameOf(ctx.event.eventId)) return ACCEPT;
  return reject(
    "m.room.redaction: the sender is below the redact level and the redacted event is from " +
      "another domain",
  );
}

/**
 * Checks an event against the auth rules of its room version, given a state: all numbered
 * rules except those about the `auth_events` list itself ({@link checkAuthEvents}), in spec
 * order. `state` answers (type, state_key) lookups; callers pass the event's auth events, the
 * state before the event, or the current state. In room version 12 the lookup must also
 * answer ("m.room.create", "") with the room's create event (which the room ID names), since
 * v12 events do not cite it; the caller ensures that event was not itself rejected.
 *
 * Only the few state entries the rules need are looked up, and the current power levels are
 * parsed once, so a check costs the same in a room of ten or ten thousand members.
 */
export function checkAuth(event: RoomEvent, state: StateLookup, rules: RoomVersionRules): Verdict {
  if (isCreateEvent(event)) return checkCreate(event, rules);

  const create = state("m.room.create", "");
  if (create === undefined) return reject("there is no m.room.create event in the auth state");
  if (rules.roomIdFromCreateEvent && event.roomId !== `!${create.eventId.slice(1)}`) {
    return reject("the room_id is not the ID of the room's m.room.create event");
  }
  if (
    create.content["m.federate"] === false &&
    serverNameOf(event.sender) !== serverNameOf(create.sender)
  ) {
    return reject("m.federate is false and the sender is not on the creator's server");
  }
  if (rules.specialCaseAliases && event.type === "m.room.aliases") return checkAliases(event);

  const plEvent = state("m.room.power_levels", "");
  let powerLevels: PowerLevels | undefined;
  if (plEvent !== undefined) {
    powerLevels = parsePowerLevels(plEvent.content, rules);
    if (powerLevels === undefined) {
      return reject(`the current m.room.power_levels event ${plEvent.eventId} is malformed`);
    }
  }
  const ctx: AuthContext = {
    event,
    state,
    rules,
    create,
    powerLevels,
    creators: creatorsOf(create, rules),
  };

  if (event.type === "m.room.member") return checkMembership(ctx);

  if (membershipIn(state, event.sender) !== "join") {
    return reject(`the sender ${event.sender} is not joined to the room`);
  }
  const senderLevel = contextPowerLevel(ctx, event.sender);
  const levels = contextLevels(ctx);
  if (event.type === "m.room.third_party_invite") {
    if (senderLevel >= levels.levels.invite) return ACCEPT;
    return reject("m.room.third_party_invite: the sender is below the invite level");
  }
  const required = requiredPowerForEvent(event.type, event.stateKey !== undefined, levels);
  if (required > senderLevel) {
    return reject(
      `${event.type}: requires power level ${required}, the sender has ${senderLevel}`,
    );
  }
  if (event.stateKey !== undefined && event.stateKey.startsWith("@")) {
    if (event.stateKey !== event.sender) {
      return reject("the state_key is a user ID other than the sender");
    }
  }
  if (event.type === "m.room.power_levels") {
    return checkPowerLevelsChange(ctx, senderLevel);
  }
  if (rules.authRedactionRule && event.type === "m.room.redaction") {
    return checkRedaction(ctx, senderLevel);
  }
  return ACCEPT;
}
