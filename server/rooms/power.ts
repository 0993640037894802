/**
 * Power level questions the server asks outside the auth rules (may this user redact others'
 * events? upgrade the room?), answered with the engine's own power level parsing.
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
import type { StateReader } from "./event_pipeline.ts";

/** A room's power levels at some state. */
export interface PowerView {
  /** A user's level (Infinity for v12 creators). */
  levelOf(userId: string): number;
  /** The parsed levels (defaults when the room has none). */
  levels: PowerLevels;
}

/** Reads the power levels and create event from a state reader. */
export async function powerView(state: StateReader, rules: RoomVersionRules): Promise<PowerView> {
  const [plEvent, createEvent] = await Promise.all([
    state("m.room.power_levels", ""),
    state("m.room.create", ""),
  ]);
  const pl = plEvent
    ? parsePowerLevels(plEvent.event.content, rules) ?? NO_POWER_LEVELS_EVENT
    : undefined;
  return {
    levelOf: (userId) => powerLevelOf(userId, pl, createEvent?.event, rules),
    levels: pl ?? NO_POWER_LEVELS_EVENT,
  };
}
