/**
 * parsePdu: acceptance of valid PDUs for each event format (v1, v3, v4, v11, v12) and one
 * test per rejection class, each checking that the reason names the offending field.
 */
import { assert, assertEquals } from "./assert.ts";
import { isStateEvent, parsePdu, type ParseResult } from "../../federation/event_format.ts";
import { computeEventId, computeRoomIdV12 } from "../../federation/event_id.ts";
import { ROOM_VERSIONS, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { JsonObject, JsonValue, PduJson, RoomEvent } from "../../federation/types.ts";
import { canonicalJsonBytes } from "../../crypto/canonical_json.ts";
import { computeContentHash } from "../../crypto/hashes.ts";

function rules(id: string): RoomVersionRules {
  return ROOM_VERSIONS.get(id)!;
}

/** A syntactically valid event ID of the version's format, distinct per `n`. */
function ref(n: number, version: RoomVersionRules): string {
  const body = String(n).padStart(43, "A");
  if (version.eventIdFormat === "v1") return `$${n}:example.org`;
  return "$" + (version.eventIdFormat === "v3" ? body.slice(0, 42) + "+" : body.slice(0, 42) + "_");
}

const V12_ROOM = "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ";

/** A valid message PDU for the room version, with `overrides` applied (undefined deletes). */
function pduFor(version: RoomVersionRules, overrides: Record<string, JsonValue | undefined> = {}) {
  const refs = (ns: number[]): JsonValue =>
    ns.map((n) =>
      version.eventFormat === "v1" ? [ref(n, version), { sha256: "aGFzaA" }] : ref(n, version)
    );
  const pdu: PduJson = {
    room_id: version.roomIdFromCreateEvent ? V12_ROOM : "!room:example.org",
    sender: "@alice:example.org",
    origin: "example.org",
    origin_server_ts: 1700000000000,
    type: "m.room.message",
    content: { msgtype: "m.text", body: "hello" },
    depth: 7,
    prev_events: refs([1]),
    auth_events: refs([2, 3, 4]),
    hashes: { sha256: "" },
    signatures: { "example.org": { "ed25519:1": "c2ln" } },
    unsigned: { age: 5 },
  };
  if (version.eventFormat === "v1") pdu.event_id = "$msg1:example.org";
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete pdu[key];
    else pdu[key] = value;
  }
  if (isObject(pdu.hashes) && pdu.hashes.sha256 === "") {
    pdu.hashes = { sha256: computeContentHash(pdu) };
  }
  return pdu;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function accepted(result: ParseResult): RoomEvent {
  if (!result.ok) throw new Error(`expected acceptance, got: ${result.reason}`);
  return result.event;
}

/** Asserts rejection with a reason mentioning each of `words`. */
function assertRejected(result: ParseResult, ...words: string[]): void {
  if (result.ok) throw new Error(`expected rejection mentioning ${words.join(", ")}`);
  for (const word of words) {
    assert(result.reason.includes(word), `reason ${JSON.stringify(result.reason)} lacks ${word}`);
  }
  assert(/^[A-Zm].*\.$/.test(result.reason), `not a sentence: ${result.reason}`);
}

const VERSIONS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"].map(rules);

Deno.test("accepts a valid v1 PDU: event_id carried, reference pairs reduced to IDs", () => {
  const v1 = rules("1");
  const pdu = pduFor(v1, { type: "m.room.topic", state_key: "", content: { topic: "t" } });
  const before = JSON.stringify(pdu);
  const event = accepted(parsePdu(pdu, v1, { roomId: "!room:example.org" }));
  assertEquals(event.eventId, "$msg1:example.org");
  assertEquals(event.roomId, "!room:example.org");
  assertEquals(event.type, "m.room.topic");
  assertEquals(event.stateKey, "");
  assert(isStateEvent(event));
  assertEquals(event.sender, "@alice:example.org");
  assertEquals(event.originServerTs, 1700000000000);
  assertEquals(event.depth, 7);
  assertEquals(event.content, { topic: "t" });
  assertEquals(event.prevEvents, ["$1:example.org"]);
  assertEquals(event.authEvents, ["$2:example.org", "$3:example.org", "$4:example.org"]);
  assertEquals(event.redacts, undefined);
  assertEquals(event.pdu, pdu);
  assertEquals(event.pdu.event_id, "$msg1:example.org");
  assertEquals(JSON.stringify(pdu), before);
  // The parsed form is a copy: changing the input later does not reach it.
  (pdu.content as JsonObject).topic = "changed";
  assertEquals(event.content, { topic: "t" });
});

Deno.test("accepts valid v3, v4 and v11 PDUs with hash event IDs and no event_id", () => {
  for (const id of ["3", "4", "11"]) {
    const v = rules(id);
    const pdu = pduFor(v);
    const event = accepted(parsePdu(pdu, v));
    assertEquals(event.eventId, computeEventId(pdu, v), id);
    assert((id === "3" ? /^\$[A-Za-z0-9+/]{43}$/ : /^\$[A-Za-z0-9_-]{43}$/).test(event.eventId));
    assertEquals(event.prevEvents, [ref(1, v)]);
    assertEquals(event.authEvents, [ref(2, v), ref(3, v), ref(4, v)]);
    assert(!isStateEvent(event));
    assertEquals(event.stateKey, undefined);
    assertEquals(event.pdu, pdu);
  }
});

Deno.test("v3+: an event_id sent along is stripped from the wire form and ignored", () => {
  const v4 = rules("4");
  const pdu = pduFor(v4);
  const withId = { ...pdu, event_id: "$forged:example.org" };
  const event = accepted(parsePdu(withId, v4));
  assertEquals(event.eventId, computeEventId(pdu, v4));
  assertEquals(Object.hasOwn(event.pdu, "event_id"), false);
  assertEquals(withId.event_id, "$forged:example.org");
});

Deno.test("v12: a create event has no room_id and gets the hash room ID", () => {
  const v12 = rules("12");
  const create = pduFor(v12, {
    room_id: undefined,
    type: "m.room.create",
    state_key: "",
    content: { room_version: "12" },
    prev_events: [],
    auth_events: [],
    depth: 1,
  });
  const event = accepted(parsePdu(create, v12));
  assertEquals(event.roomId, computeRoomIdV12(create));
  assertEquals(event.roomId, "!" + event.eventId.slice(1));
  accepted(parsePdu(create, v12, { roomId: event.roomId }));
  assertRejected(parsePdu(create, v12, { roomId: V12_ROOM }), V12_ROOM);

  const message = pduFor(v12, { room_id: event.roomId });
  assertEquals(accepted(parsePdu(message, v12, { roomId: event.roomId })).roomId, event.roomId);
});

Deno.test("v12: a create event carrying a room_id is refused", () => {
  const v12 = rules("12");
  const create = pduFor(v12, {
    type: "m.room.create",
    state_key: "",
    content: { room_version: "12" },
    prev_events: [],
    auth_events: [],
  });
  assertRejected(parsePdu(create, v12), "m.room.create", "room_id");
});

Deno.test("room_id must have the version's form and match the expected room", () => {
  assertRejected(
    parsePdu(pduFor(rules("12"), { room_id: "!room:example.org" }), rules("12")),
    "room_id",
  );
  assertRejected(parsePdu(pduFor(rules("11"), { room_id: V12_ROOM }), rules("11")), "room_id");
  assertRejected(parsePdu(pduFor(rules("12"), { room_id: undefined }), rules("12")), "room_id");
  assertRejected(
    parsePdu(pduFor(rules("10")), rules("10"), { roomId: "!other:example.org" }),
    "!room:example.org",
    "!other:example.org",
  );
});

Deno.test("rejects input that is not a JSON object", () => {
  for (const bad of [null, [], "pdu", 5, undefined]) {
    assertRejected(parsePdu(bad, rules("10")), "JSON object");
  }
});

Deno.test("rejects a PDU missing any required field", () => {
  const required = [
    "room_id",
    "sender",
    "type",
    "content",
    "origin_server_ts",
    "depth",
    "prev_events",
    "auth_events",
    "hashes",
    "signatures",
  ];
  for (const v of VERSIONS) {
    for (const field of required) {
      if (field === "room_id" && v.roomIdFromCreateEvent) continue;
      assertRejected(parsePdu(pduFor(v, { [field]: undefined }), v), field);
    }
  }
  assertRejected(parsePdu(pduFor(rules("1"), { event_id: undefined }), rules("1")), "event_id");
  assertRejected(parsePdu(pduFor(rules("2"), { event_id: undefined }), rules("2")), "event_id");
});

Deno.test("rejects fields of the wrong type", () => {
  const v = rules("9");
  const cases: [string, JsonValue][] = [
    ["sender", 5],
    ["type", ["m.room.message"]],
    ["room_id", {}],
    ["content", []],
    ["content", "text"],
    ["origin_server_ts", "1700000000000"],
    ["depth", "7"],
    ["state_key", 0],
    ["state_key", null],
    ["hashes", "abc"],
    ["prev_events", "$x"],
    ["auth_events", {}],
    ["signatures", []],
    ["unsigned", "x"],
  ];
  for (const [field, value] of cases) {
    assertRejected(parsePdu(pduFor(v, { [field]: value }), v), field);
  }
  assertRejected(parsePdu(pduFor(v, { hashes: { sha256: 1 } }), v), "hashes.sha256");
  assertRejected(parsePdu(pduFor(v, { hashes: {} }), v), "hashes.sha256");
  assertRejected(parsePdu(pduFor(v, { signatures: { "example.org": "sig" } }), v), "example.org");
  assertRejected(
    parsePdu(pduFor(v, { signatures: { "example.org": { "ed25519:1": 1 } } }), v),
    "ed25519:1",
  );
  // Non-integers in v1-v5 pass canonical JSON but not the integer fields.
  assertRejected(
    parsePdu(pduFor(rules("1"), { origin_server_ts: 1.5 }), rules("1")),
    "origin_server_ts",
  );
});

Deno.test("depth must be a non-negative integer within the version's limit", () => {
  for (const v of VERSIONS) {
    assertRejected(parsePdu(pduFor(v, { depth: -1 }), v), "depth");
    accepted(parsePdu(pduFor(v, { depth: 0 }), v));
    accepted(parsePdu(pduFor(v, { depth: Number.MAX_SAFE_INTEGER }), v));
  }
  // Room versions 1-5 allow depths up to 2^63 - 1; from v6 canonical JSON caps integers.
  accepted(parsePdu(pduFor(rules("5"), { depth: 2 ** 60 }), rules("5")));
  assertRejected(parsePdu(pduFor(rules("6"), { depth: 2 ** 60 }), rules("6")), "canonical JSON");
  assertRejected(parsePdu(pduFor(rules("5"), { depth: 2 ** 64 }), rules("5")), "depth");
});

Deno.test("prev_events and auth_events: v1 pairs, v3+ strings, of the version's ID format", () => {
  const v1 = rules("1");
  const v3 = rules("3");
  const v4 = rules("4");
  assertRejected(parsePdu(pduFor(v1, { prev_events: [ref(1, v1)] }), v1), "prev_events[0]");
  assertRejected(parsePdu(pduFor(v1, { auth_events: [[ref(1, v1)]] }), v1), "auth_events[0]");
  assertRejected(
    parsePdu(pduFor(v1, { prev_events: [[ref(1, v1), { sha256: 5 }]] }), v1),
    "prev_events[0]",
  );
  // Synapse sends an empty hash object in v1/v2 references; that is accepted.
  const emptyHash = parsePdu(pduFor(v1, { prev_events: [[ref(1, v1), {}]] }), v1);
  assert(emptyHash.ok && emptyHash.event.prevEvents[0] === ref(1, v1));
  assertRejected(
    parsePdu(pduFor(v3, { prev_events: [[ref(1, v3), { sha256: "x" }]] }), v3),
    "prev_events[0]",
  );
  assertRejected(parsePdu(pduFor(v4, { auth_events: [ref(1, v4), 7] }), v4), "auth_events[1]");
  // A v3-style (standard base64 with +) ID cannot appear in a v4 room, nor a v1 ID in v3.
  assertRejected(parsePdu(pduFor(v4, { prev_events: [ref(1, v3)] }), v4), "prev_events[0]");
  assertRejected(parsePdu(pduFor(v3, { prev_events: [ref(1, v1)] }), v3), "prev_events[0]");
});

Deno.test("at most 20 prev_events and 10 auth_events", () => {
  for (const v of [rules("1"), rules("4"), rules("12")]) {
    const refs = (n: number): JsonValue =>
      Array.from(
        { length: n },
        (_, i) => v.eventFormat === "v1" ? [ref(i, v), { sha256: "aA" }] : ref(i, v),
      );
    accepted(parsePdu(pduFor(v, { prev_events: refs(20), auth_events: refs(10) }), v));
    assertRejected(parsePdu(pduFor(v, { prev_events: refs(21) }), v), "21", "prev_events");
    assertRejected(parsePdu(pduFor(v, { auth_events: refs(11) }), v), "11", "auth_events");
  }
});

Deno.test("the whole PDU is at most 65536 bytes of canonical JSON, signatures included", () => {
  const v = rules("10");
  const base = pduFor(v, { content: { body: "" } });
  const baseSize = canonicalJsonBytes(base).length;
  const exact = pduFor(v, { content: { body: "x".repeat(65536 - baseSize) } });
  assertEquals(canonicalJsonBytes(exact).length, 65536);
  accepted(parsePdu(exact, v));
  const over = pduFor(v, { content: { body: "x".repeat(65537 - baseSize) } });
  assertRejected(parsePdu(over, v), "65537", "65536");
  // Signatures count too.
  const signatures = { "example.org": { "ed25519:1": "c2ln", "ed25519:2": "c2ln" } };
  assertRejected(parsePdu({ ...exact, signatures }, v), "65536");
});

Deno.test("type, state_key and sender are limited to 255 bytes", () => {
  const v = rules("11");
  accepted(parsePdu(pduFor(v, { type: "t".repeat(255), state_key: "s".repeat(255) }), v));
  assertRejected(parsePdu(pduFor(v, { type: "t".repeat(256) }), v), "type", "255");
  assertRejected(parsePdu(pduFor(v, { state_key: "\u00e9".repeat(128) }), v), "state_key", "255");
  const longSender = "@" + "a".repeat(255 - "@:example.org".length + 1) + ":example.org";
  assertRejected(parsePdu(pduFor(v, { sender: longSender }), v), "sender");
});

Deno.test("sender must be a user ID; the historical grammar is accepted", () => {
  const v = rules("12");
  for (const bad of ["alice", "@alice", "@alice:bad host", "#alice:example.org", "@a\0:x.org"]) {
    assertRejected(parsePdu(pduFor(v, { sender: bad }), v), "sender");
  }
  for (const historical of ["@Alice:example.org", "@caf\u00e9:example.org", "@:example.org"]) {
    accepted(parsePdu(pduFor(v, { sender: historical }), v));
  }
});

Deno.test("v1-v2: event_id must be a $opaque:server_name event ID", () => {
  for (const bad of ["$nodomain", "abc:example.org", "$" + "A".repeat(43)]) {
    assertRejected(parsePdu(pduFor(rules("2"), { event_id: bad }), rules("2")), "event_id");
  }
  assertRejected(parsePdu(pduFor(rules("1"), { event_id: 12 }), rules("1")), "event_id");
});

Deno.test("floats and out-of-range integers: refused from v6, tolerated in v1-v5", () => {
  const floaty = { content: { msgtype: "m.text", body: "x", scale: 1.5 } };
  const huge = { content: { msgtype: "m.text", body: "x", n: 2 ** 53 } };
  for (const v of VERSIONS) {
    const float = parsePdu(pduFor(v, floaty), v);
    const big = parsePdu(pduFor(v, huge), v);
    if (v.strictCanonicalJson) {
      assertRejected(float, "canonical JSON", `room version ${v.id}`);
      assertRejected(big, "canonical JSON");
    } else {
      assertEquals(accepted(float).content.scale, 1.5);
      accepted(big);
    }
  }
  // Anywhere in the PDU, unsigned included.
  assertRejected(parsePdu(pduFor(rules("7"), { unsigned: { age: 0.5 } }), rules("7")), "canonical");
});

Deno.test("redacts: top level before v11, in content from v11, a string when present", () => {
  const target = "$target:example.org";
  for (const v of VERSIONS) {
    const topLevel = pduFor(v, { type: "m.room.redaction", redacts: target, content: {} });
    const inContent = pduFor(v, { type: "m.room.redaction", content: { redacts: target } });
    if (v.redactsInContent) {
      assertEquals(accepted(parsePdu(topLevel, v)).redacts, undefined, v.id);
      assertEquals(accepted(parsePdu(inContent, v)).redacts, target, v.id);
      assertRejected(
        parsePdu(pduFor(v, { type: "m.room.redaction", content: { redacts: 1 } }), v),
        "content.redacts",
      );
    } else {
      assertEquals(accepted(parsePdu(topLevel, v)).redacts, target, v.id);
      assertEquals(accepted(parsePdu(inContent, v)).redacts, undefined, v.id);
      assertRejected(
        parsePdu(pduFor(v, { type: "m.room.redaction", redacts: ["$x"], content: {} }), v),
        "redacts",
      );
    }
  }
  // A redacted redaction (v1-v10 lose top-level redacts) still parses.
  const redacted = pduFor(rules("5"), { type: "m.room.redaction", content: {} });
  assertEquals(accepted(parsePdu(redacted, rules("5"))).redacts, undefined);
  // Only m.room.redaction events redact.
  const message = pduFor(rules("5"), { redacts: target });
  assertEquals(accepted(parsePdu(message, rules("5"))).redacts, undefined);
});

Deno.test("strings that cannot be UTF-8 (lone surrogates) are refused", () => {
  const v = rules("3");
  const pdu = pduFor(v, { hashes: { sha256: "aGFzaA" }, content: { body: "\ud800" } });
  assertRejected(parsePdu(pdu, v), "canonical JSON");
});
