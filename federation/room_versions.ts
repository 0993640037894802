/**
 * The room versions this engine implements (1-12) as a table of rules. Every version-dependent
 * decision in the engine reads one of these flags, so adding a version is adding a row.
 *
 * @module
 */

/** The algorithms and rule switches of one room version. */
export interface RoomVersionRules {
  /** The version string, e.g. "12". */
  readonly id: string;
  /** "v1": events carry `event_id` and `[id, hashes]` reference pairs; "v3": hash-based IDs. */
  readonly eventFormat: "v1" | "v3";
  /** "v1": `$local:server`; "v3": standard unpadded base64 hash; "v4": URL-safe base64 hash. */
  readonly eventIdFormat: "v1" | "v3" | "v4";
  /** State resolution algorithm: v1 (room v1), v2 (v2-v11), v2.1 (v12). */
  readonly stateResolution: "v1" | "v2" | "v2.1";
  /** Redaction algorithm: v1 (v1-v5), v6 (v6-v7), v8 (v8), v9 (v9-v10), v11 (v11-v12). */
  readonly redaction: "v1" | "v6" | "v8" | "v9" | "v11";
  /** v1-v2: the auth rules include the m.room.redaction rule (moved out of auth in v3). */
  readonly authRedactionRule: boolean;
  /** v1-v5: m.room.aliases events have their own auth rule. */
  readonly specialCaseAliases: boolean;
  /** v6+: `notifications` power levels are checked on power-level changes. */
  readonly limitNotificationsPowerLevels: boolean;
  /** v6+: reject floats and integers outside [-(2^53)+1, (2^53)-1] in canonical JSON. */
  readonly strictCanonicalJson: boolean;
  /** v5+: signing keys must be valid (valid_until_ts) at the event's origin_server_ts. */
  readonly enforceKeyValidity: boolean;
  /** v7+: the `knock` membership and join rule. */
  readonly knocking: boolean;
  /** v8+: the `restricted` join rule and `join_authorised_via_users_server`. */
  readonly restrictedJoins: boolean;
  /** v10+: the `knock_restricted` join rule. */
  readonly knockRestricted: boolean;
  /** v10+: power level values must be JSON integers (no strings, no floats). */
  readonly integerPowerLevels: boolean;
  /** v1-v10: m.room.create content carries `creator`; v11+ uses the create event's sender. */
  readonly createHasCreator: boolean;
  /** v11+: m.room.redaction carries `redacts` in content, not at the top level. */
  readonly redactsInContent: boolean;
  /** v12: the room ID is `!` + URL-safe hash of the create event; create has no room_id. */
  readonly roomIdFromCreateEvent: boolean;
  /** v12: creators (create sender + additional_creators) have infinite power. */
  readonly privilegedCreators: boolean;
}

const V1: RoomVersionRules = {
  id: "1",
  eventFormat: "v1",
  eventIdFormat: "v1",
  stateResolution: "v1",
  redaction: "v1",
  authRedactionRule: true,
  specialCaseAliases: true,
  limitNotificationsPowerLevels: false,
  strictCanonicalJson: false,
  enforceKeyValidity: false,
  knocking: false,
  restrictedJoins: false,
  knockRestricted: false,
  integerPowerLevels: false,
  createHasCreator: true,
  redactsInContent: false,
  roomIdFromCreateEvent: false,
  privilegedCreators: false,
};
const V2: RoomVersionRules = { ...V1, id: "2", stateResolution: "v2" };
const V3: RoomVersionRules = {
  ...V2,
  id: "3",
  eventFormat: "v3",
  eventIdFormat: "v3",
  authRedactionRule: false,
};
const V4: RoomVersionRules = { ...V3, id: "4", eventIdFormat: "v4" };
const V5: RoomVersionRules = { ...V4, id: "5", enforceKeyValidity: true };
const V6: RoomVersionRules = {
  ...V5,
  id: "6",
  redaction: "v6",
  specialCaseAliases: false,
  limitNotificationsPowerLevels: true,
  strictCanonicalJson: true,
};
const V7: RoomVersionRules = { ...V6, id: "7", knocking: true };
const V8: RoomVersionRules = { ...V7, id: "8", redaction: "v8", restrictedJoins: true };
const V9: RoomVersionRules = { ...V8, id: "9", redaction: "v9" };
const V10: RoomVersionRules = { ...V9, id: "10", knockRestricted: true, integerPowerLevels: true };
const V11: RoomVersionRules = {
  ...V10,
  id: "11",
  redaction: "v11",
  createHasCreator: false,
  redactsInContent: true,
};
const V12: RoomVersionRules = {
  ...V11,
  id: "12",
  stateResolution: "v2.1",
  roomIdFromCreateEvent: true,
  privilegedCreators: true,
};

/** Every supported room version, by its version string. */
export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersionRules> = new Map(
  [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12].map((v) => [v.id, Object.freeze(v)]),
);

/** The version new rooms get unless the creator asks for another (the spec recommends 12). */
export const DEFAULT_ROOM_VERSION = "12";

/** Returns the rules of a supported version, or undefined for an unknown one. */
export function roomVersion(id: string): RoomVersionRules | undefined {
  return ROOM_VERSIONS.get(id);
}
