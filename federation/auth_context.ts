/**
 * What the auth rules know while checking one event: the state lookup, the create event, the
 * parsed current power levels and the creators, built once per check by auth_rules.ts and
 * shared with the membership rules.
 *
 * @module
 */

import { NO_POWER_LEVELS_EVENT, type PowerLevels } from "./power_levels.ts";
import type { RoomVersionRules } from "./room_versions.ts";
import type { RoomEvent, StateLookup } from "./types.ts";

/**
 * What a rule check knows about the room: the state lookup, the create event, the parsed
 * current power levels (undefined when the room has none) and the creators. Built once per
 * `checkAuth` call, so no rule parses power levels or scans membership again.
 */
export interface AuthContext {
  readonly event: RoomEvent;
  readonly state: StateLookup;
  readonly rules: RoomVersionRules;
  readonly create: RoomEvent;
  readonly powerLevels: PowerLevels | undefined;
  readonly creators: readonly string[];
}

/**
 * The power level of a user in the context's state; same result as `powerLevelOf` without
 * rebuilding the creators list on every call.
 */
export function contextPowerLevel(ctx: AuthContext, userId: string): number {
  const pl = ctx.powerLevels;
  if (pl !== undefined && !ctx.rules.privilegedCreators) {
    return pl.users.get(userId) ?? pl.levels.users_default;
  }
  if (ctx.creators.includes(userId)) return ctx.rules.privilegedCreators ? Infinity : 100;
  return pl === undefined ? 0 : pl.users.get(userId) ?? pl.levels.users_default;
}

/** The current power levels of the context, with the spec defaults when there is no event. */
export function contextLevels(ctx: AuthContext): PowerLevels {
  return ctx.powerLevels ?? NO_POWER_LEVELS_EVENT;
}

/** A user's membership in the context's state (`content.membership`), if any. */
export function membershipIn(state: StateLookup, userId: string): string | undefined {
  const membership = state("m.room.member", userId)?.content.membership;
  return typeof membership === "string" ? membership : undefined;
}
