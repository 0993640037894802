/**
 * The fuzzer's values: a JSON model that can also carry text `JSON.stringify` cannot write
 * (huge numbers, 5000 levels of nesting), the edge cases of each class the hardening issue
 * lists (over-long, unicode, empty, %-garbage, lone surrogates, wrong-kind identifiers, edge
 * numbers), and the plausible values of the fixture, chosen by the name of a parameter or field
 * (`roomId`, `room_id` and `room` all want a room ID) rather than by a per-route schema.
 *
 * @module
 */

import type { Rng } from "./rng.ts";

/** JSON text inserted verbatim by {@link toJsonText}. */
export class RawJson {
  /** @param text the JSON text, e.g. `1e400` or 5000 nested arrays */
  constructor(readonly text: string) {}
}

/** A JSON-like value the mutators build. */
export type FuzzValue =
  | null
  | boolean
  | number
  | string
  | RawJson
  | FuzzValue[]
  | { [key: string]: FuzzValue };

/** Serialises a {@link FuzzValue}; strings keep lone surrogates as `\ud800` escapes. */
export function toJsonText(value: FuzzValue): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${
      Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** Sets an own field, even one named `__proto__` (which plain assignment would not create). */
export function setField(object: Record<string, FuzzValue>, key: string, value: FuzzValue): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** A deep copy of a value (bodies from the corpus are mutated per request). */
export function cloneValue(value: FuzzValue): FuzzValue {
  if (value instanceof RawJson || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(cloneValue);
  const out: Record<string, FuzzValue> = {};
  for (const [k, v] of Object.entries(value)) setField(out, k, cloneValue(v));
  return out;
}

/** The kinds of plausible value the fixture provides. */
export type Category =
  | "userId"
  | "roomId"
  | "roomAlias"
  | "eventId"
  | "eventType"
  | "stateKey"
  | "deviceId"
  | "mediaId"
  | "mxc"
  | "serverName"
  | "txnId"
  | "filterId"
  | "backupVersion"
  | "sessionId"
  | "tag"
  | "receiptType"
  | "relType"
  | "pushKind"
  | "ruleId"
  | "profileKey"
  | "assetFile"
  | "streamToken"
  | "url"
  | "count"
  | "dir"
  | "boolean"
  | "membership"
  | "text";

/** Plausible values per category, filled by the fixture from what setup created. */
export type Plausible = Record<Category, string[]>;

/** The category a parameter, field or query key name asks for (naming conventions only). */
export function categoryOf(name: string): Category {
  const n = name.toLowerCase().replace(/[^a-z]/g, "");
  if (n.includes("alias")) return "roomAlias";
  if (n.includes("roomid") || n === "room" || n === "rooms") return "roomId";
  if (n.includes("userid") || n === "user" || n === "users" || n === "mxid") return "userId";
  if (n.includes("eventid") || n === "event") return "eventId";
  if (n.includes("eventtype") || n === "type" || n === "types") return "eventType";
  if (n.includes("statekey")) return "stateKey";
  if (n.includes("deviceid") || n === "device") return "deviceId";
  if (n.includes("mediaid")) return "mediaId";
  if (n.includes("servername") || n === "server" || n === "via") return "serverName";
  if (n.includes("txn")) return "txnId";
  if (n.includes("filter")) return "filterId";
  if (n === "version") return "backupVersion";
  if (n.includes("session")) return "sessionId";
  if (n === "tag") return "tag";
  if (n.includes("receipttype")) return "receiptType";
  if (n.includes("reltype")) return "relType";
  if (n === "kind") return "pushKind";
  if (n.includes("ruleid")) return "ruleId";
  if (n === "keyname") return "profileKey";
  if (n === "file" || n === "filename") return "assetFile";
  if (n.endsWith("url") || n === "uri") return n === "avatarurl" ? "mxc" : "url";
  if (["from", "to", "since", "nextbatch", "at", "before", "after", "token"].includes(n)) {
    return "streamToken";
  }
  if (["limit", "timeout", "width", "height", "ts", "score", "timeoutms"].includes(n)) {
    return "count";
  }
  if (n === "dir") return "dir";
  if (n.startsWith("is") || n.startsWith("include") || n.startsWith("allow") || n === "full") {
    return "boolean";
  }
  if (n.includes("membership")) return "membership";
  return "text";
}

/** Plausible values that need no fixture. */
export const STATIC_PLAUSIBLE: Partial<Plausible> = {
  eventType: ["m.room.message", "m.room.topic", "m.reaction", "org.example.custom"],
  stateKey: [""],
  txnId: ["txn1", "txn-fuzz"],
  tag: ["u.fuzz", "m.favourite"],
  receiptType: ["m.read", "m.read.private", "m.fully_read"],
  relType: ["m.annotation", "m.thread", "m.reference"],
  pushKind: ["override", "content", "room", "sender", "underride"],
  ruleId: [".m.rule.master", "fuzzrule", ".m.rule.contains_user_name"],
  profileKey: ["displayname", "avatar_url", "m.tz"],
  count: ["10", "1", "0"],
  dir: ["b", "f"],
  boolean: ["true", "false"],
  membership: ["join", "leave", "invite"],
  text: ["fuzz", "hello"],
};

/** Strings that break parsers: empty, controls, unicode, path tricks, syntax of every sigil. */
const EDGE_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\n",
  "\r\n",
  "\t",
  "\u007f",
  "é",
  "💥",
  "\u202e",
  "\ufeff",
  "ß\u0301",
  "中文",
  "\ud800",
  "\udc00x",
  "x\ud83d",
  ".",
  "..",
  "../../../etc/passwd",
  "a/b",
  "%",
  "%zz",
  "%E0%A4%A",
  "@",
  ":",
  "!",
  "$",
  "#",
  "+",
  "@a:",
  ":b",
  "@:",
  "!:",
  "$:x",
  "#:x",
  "null",
  "true",
  "0",
  "-1",
  "1e309",
  "NaN",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "${jndi:ldap://x}",
  "__proto__",
  "constructor",
  "toString",
];

/** Object keys with a meaning in JavaScript (prototype, conversions). */
export const PROTOTYPE_KEYS = [
  "toString",
  "valueOf",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "length",
  "then",
];

/** Identifier-shaped strings of every kind, for "an ID of the wrong kind". */
const SYNTHETIC_IDS = [
  "@nobody:localhost",
  "@fuzz:other.example",
  "@UPPER:localhost",
  "@a:[::1]",
  "@a:1.2.3.4:99999",
  "!nowhere:localhost",
  "!x:other.example",
  "$nonexistent",
  "$abc:localhost",
  "#nowhere:localhost",
  "#a:b:c",
  "mxc://localhost/nothing",
  "mxc://other.example/x",
  "localhost",
  "localhost:8448",
  "[::1]:8008",
  "other.example",
  "syt_notatoken_abc",
];

/** Edge numbers, some only writable as raw JSON text. */
export function edgeNumber(rng: Rng): FuzzValue {
  return rng.pick<FuzzValue>([
    0,
    -1,
    1.5,
    -0.5,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    -(2 ** 53),
    Number.MAX_SAFE_INTEGER,
    1e-7,
    new RawJson("9007199254740993"),
    new RawJson("123456789012345678901234567890"),
    new RawJson("1e309"),
    new RawJson("-1e309"),
    new RawJson("-0"),
    new RawJson("1E2"),
    new RawJson("1.0"),
  ]);
}

/** Length classes of over-long strings: past 255 bytes, past KV's 2 KiB keys, huge. */
export const LONG_LENGTHS = [300, 3000, 60_000, 70_000];

/** An over-long string, of identifier-safe characters or of multi-byte ones. */
export function longString(rng: Rng, length = rng.pick(LONG_LENGTHS)): string {
  const unit = rng.weighted([[6, "a"], [1, "é"], [1, "💥"], [1, "%41"], [1, "ab:"]] as const);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** One edge-case string. */
export function edgeString(rng: Rng, plausible: Plausible): string {
  return rng.weighted<() => string>([
    [5, () => rng.pick(EDGE_STRINGS)],
    [3, () => longString(rng)],
    [3, () => wrongKindId(rng, plausible)],
    [1, () => rng.string(rng.int(1, 40), "abcdefghijklmnopqrstuvwxyz0123456789._=-/+:@!$#")],
  ])();
}

/** A real or synthetic identifier, of any kind (usually not the one the field wants). */
export function wrongKindId(rng: Rng, plausible: Plausible): string {
  if (rng.chance(0.5)) return rng.pick(SYNTHETIC_IDS);
  const kinds: Category[] = ["userId", "roomId", "roomAlias", "eventId", "deviceId", "mxc"];
  const values = plausible[rng.pick(kinds)];
  return values.length > 0 ? rng.pick(values) : rng.pick(SYNTHETIC_IDS);
}

/** Nesting beyond any sane depth (the issue's stack overflows took a few thousand levels). */
export function deepJson(rng: Rng, depth = rng.pick([1000, 5000, 20_000])): RawJson {
  return rng.chance(0.5)
    ? new RawJson("[".repeat(depth) + "]".repeat(depth))
    : new RawJson('{"a":'.repeat(depth) + "1" + "}".repeat(depth));
}

/** A plausible value for a name, as a string (path parameters and query values). */
export function plausibleString(rng: Rng, name: string, plausible: Plausible): string {
  const values = plausible[categoryOf(name)];
  return values.length > 0 ? rng.pick(values) : rng.pick(plausible.text);
}

/** Any JSON value, nested at most `depth` levels. */
export function randomValue(rng: Rng, plausible: Plausible, depth = 2): FuzzValue {
  return rng.weighted<() => FuzzValue>([
    [1, () => null],
    [1, () => rng.chance(0.5)],
    [2, () => edgeNumber(rng)],
    [3, () => edgeString(rng, plausible)],
    [1, () => wrongKindId(rng, plausible)],
    [
      1,
      () =>
        depth > 0
          ? Array.from({ length: rng.int(0, 3) }, () => randomValue(rng, plausible, depth - 1))
          : [],
    ],
    [1, () => {
      if (depth <= 0) return {};
      const out: Record<string, FuzzValue> = {};
      for (let i = rng.int(0, 3); i > 0; i--) {
        const key = rng.chance(0.8) ? rng.pick(FIELD_POOL) : edgeString(rng, plausible);
        setField(out, key, randomValue(rng, plausible, depth - 1));
      }
      return out;
    }],
  ])();
}

/** A value of the type a field's name suggests, from the fixture where it has one. */
export function plausibleValue(rng: Rng, name: string, plausible: Plausible): FuzzValue {
  const category = categoryOf(name);
  if (category === "count") return rng.int(0, 20);
  if (category === "boolean") return rng.chance(0.5);
  return plausibleString(rng, name, plausible);
}

/**
 * Field names common across the Client-Server API: the generic pool bodies are built from,
 * besides the fields the probe learns from the server's own error messages.
 */
export const FIELD_POOL = (
  "type content body msgtype user_id room_id event_id device_id state_key reason limit " +
  "filter auth session username password displayname avatar_url name topic visibility " +
  "preset invite room_alias_name is_direct membership m.relates_to rel_type algorithm keys " +
  "signatures one_time_keys device_keys fallback_keys timeout presence status_msg typing " +
  "m.fully_read m.read search_term search_categories rooms messages version auth_data etag " +
  "new_version score kind app_id pushkey data actions conditions pattern enabled identifier " +
  "refresh_token token initial_state power_level_content_override creation_content " +
  "room_version via server since event_fields event_format account_data logout_devices " +
  "thread_id"
).split(" ");

/** Query keys common across the Client-Server API, fuzzed on every route. */
export const QUERY_POOL = (
  "limit from to dir filter since timeout full_state set_presence server server_name via " +
  "version url ts width height method animated membership not_membership at kind include " +
  "recurse format next_batch user_id access_token allow_remote timeout_ms"
).split(" ");
