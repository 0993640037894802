/**
 * The redaction algorithm of each room version family: which top-level PDU keys survive, and
 * which `content` keys survive for each event type. Used for signing, signature checks,
 * reference hashes (event IDs) and for serving redacted events.
 *
 * Families: v1 (rooms v1-v5), v6 (v6-v7, drops `m.room.aliases`), v8 (adds join_rules
 * `allow`), v9 (v9-v10, adds member `join_authorised_via_users_server`), v11 (v11-v12: fewer
 * top-level keys, whole create content, power levels `invite`, redaction `redacts`, member
 * `third_party_invite.signed`).
 *
 * @module
 */

import type { JsonObject, JsonValue, PduJson } from "./types.ts";
import type { RoomVersionRules } from "./room_versions.ts";

type RedactionFamily = RoomVersionRules["redaction"];

/** Top-level keys kept by the v1-v10 algorithms. */
const TOP_LEVEL_V1: ReadonlySet<string> = new Set([
  "event_id",
  "type",
  "room_id",
  "sender",
  "state_key",
  "content",
  "hashes",
  "signatures",
  "depth",
  "prev_events",
  "prev_state",
  "auth_events",
  "origin",
  "origin_server_ts",
  "membership",
]);

/** Top-level keys kept from v11: `origin`, `membership` and `prev_state` are no longer kept. */
const TOP_LEVEL_V11: ReadonlySet<string> = new Set([
  "event_id",
  "type",
  "room_id",
  "sender",
  "state_key",
  "content",
  "hashes",
  "signatures",
  "depth",
  "prev_events",
  "auth_events",
  "origin_server_ts",
]);

const POWER_LEVELS_V1 = [
  "ban",
  "events",
  "events_default",
  "kick",
  "redact",
  "state_default",
  "users",
  "users_default",
];

/** Per family: event type -> content keys kept ("*" keeps the whole content). */
const CONTENT_KEYS: Record<RedactionFamily, Record<string, readonly string[] | "*">> = {
  v1: {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule"],
    "m.room.power_levels": POWER_LEVELS_V1,
    "m.room.aliases": ["aliases"],
    "m.room.history_visibility": ["history_visibility"],
  },
  v6: {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule"],
    "m.room.power_levels": POWER_LEVELS_V1,
    "m.room.history_visibility": ["history_visibility"],
  },
  v8: {
    "m.room.member": ["membership"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule", "allow"],
    "m.room.power_levels": POWER_LEVELS_V1,
    "m.room.history_visibility": ["history_visibility"],
  },
  v9: {
    "m.room.member": ["membership", "join_authorised_via_users_server"],
    "m.room.create": ["creator"],
    "m.room.join_rules": ["join_rule", "allow"],
    "m.room.power_levels": POWER_LEVELS_V1,
    "m.room.history_visibility": ["history_visibility"],
  },
  v11: {
    // third_party_invite.signed is handled separately in redactContent.
    "m.room.member": ["membership", "join_authorised_via_users_server"],
    "m.room.create": "*",
    "m.room.join_rules": ["join_rule", "allow"],
    "m.room.power_levels": [...POWER_LEVELS_V1, "invite"],
    "m.room.history_visibility": ["history_visibility"],
    "m.room.redaction": ["redacts"],
  },
};

/**
 * Returns the content an event of `type` keeps after redaction under `rules`: a new object
 * holding deep copies of the protected keys that were present. The input is not modified.
 */
export function redactContent(
  type: string,
  content: JsonObject,
  rules: RoomVersionRules,
  options: RedactOptions = {},
): JsonObject {
  const cloneJson = options.share ? shareJson : deepCopy;
  const kept = CONTENT_KEYS[rules.redaction][type];
  if (kept === "*") return options.share ? { ...content } : cloneJson(content) as JsonObject;
  const result: JsonObject = {};
  if (kept === undefined) return result;
  for (const key of kept) {
    if (Object.hasOwn(content, key)) result[key] = cloneJson(content[key]);
  }
  if (rules.redaction === "v11" && type === "m.room.member") {
    // v11 keeps third_party_invite, reduced to its `signed` key.
    const invite = content.third_party_invite;
    if (isJsonObject(invite)) {
      const reduced: JsonObject = {};
      if (Object.hasOwn(invite, "signed")) reduced.signed = cloneJson(invite.signed);
      result.third_party_invite = reduced;
    }
  }
  return result;
}

/**
 * Redacts a PDU under `rules`: removes every top-level key not in the version's list and
 * strips `content` with {@link redactContent}. Returns a new object (deep copies); the input
 * is not modified. A PDU whose `content` is not an object gets `{}` (nothing of it is kept).
 */
export function redactPdu(
  pdu: PduJson,
  rules: RoomVersionRules,
  options: RedactOptions = {},
): PduJson {
  const cloneJson = options.share ? shareJson : deepCopy;
  const keep = rules.redaction === "v11" ? TOP_LEVEL_V11 : TOP_LEVEL_V1;
  const result: PduJson = {};
  for (const key of Object.keys(pdu)) {
    if (!keep.has(key)) continue;
    if (key === "content") {
      const content = pdu.content;
      const type = typeof pdu.type === "string" ? pdu.type : "";
      result.content = isJsonObject(content) ? redactContent(type, content, rules, options) : {};
    } else {
      result[key] = cloneJson(pdu[key]);
    }
  }
  return result;
}

/** Options of {@link redactPdu} and {@link redactContent}. */
export interface RedactOptions {
  /**
   * Keep the input's own values instead of deep copies: for a result that is only encoded
   * (hashed or signed) and dropped, never changed or kept.
   */
  share?: boolean;
}

function shareJson(value: JsonValue): JsonValue {
  return value;
}

function deepCopy(value: JsonValue): JsonValue {
  return cloneJson(value);
}

/** A deep copy of a JSON value (objects and arrays are new; primitives are shared). */
export function cloneJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (value !== null && typeof value === "object") {
    const copy: JsonObject = {};
    for (const key of Object.keys(value)) {
      if (key === "__proto__") {
        // defineProperty, so that an own "__proto__" key stays a key and never sets a
        // prototype. Only there: objects built by defineProperty are slower to read and copy.
        Object.defineProperty(copy, key, {
          value: cloneJson(value[key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else copy[key] = cloneJson(value[key]);
    }
    return copy;
  }
  return value;
}

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
