/**
 * Event IDs per room version (v1/v2 carried, v3 standard base64, v4+ URL-safe reference
 * hashes) and the v12 room ID derived from the create event.
 */
import { assert, assertEquals, assertNotEquals, assertThrows } from "./assert.ts";
import { computeEventId, computeRoomIdV12, EventIdError } from "../../federation/event_id.ts";
import { redactPdu } from "../../federation/redaction.ts";
import { ROOM_VERSIONS, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { JsonObject, PduJson } from "../../federation/types.ts";
import { computeContentHash } from "../../crypto/hashes.ts";
import { CanonicalJsonError } from "../../crypto/canonical_json.ts";

function rules(id: string): RoomVersionRules {
  return ROOM_VERSIONS.get(id)!;
}

/** A message PDU with a correct content hash. */
function message(body: string, ts = 1700000000000): PduJson {
  const pdu: PduJson = {
    auth_events: ["$auth"],
    content: { body, msgtype: "m.text" },
    depth: 5,
    origin_server_ts: ts,
    prev_events: ["$prev"],
    room_id: "!room:example.org",
    sender: "@alice:example.org",
    type: "m.room.message",
    hashes: {},
    signatures: { "example.org": { "ed25519:1": "sig" } },
    unsigned: { age: 10 },
  };
  pdu.hashes = { sha256: computeContentHash(pdu) };
  return pdu;
}

/** SHA-256 via WebCrypto and base64 via btoa: a path independent of crypto/. */
async function independentId(canonical: string, urlSafe: boolean): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)),
  );
  let b64 = btoa(String.fromCharCode(...digest)).replace(/=+$/, "");
  if (urlSafe) b64 = b64.replaceAll("+", "-").replaceAll("/", "_");
  return "$" + b64;
}

Deno.test("v1/v2: the event ID is the PDU's own event_id", () => {
  const pdu = { ...message("hi"), event_id: "$abc:example.org" };
  assertEquals(computeEventId(pdu, rules("1")), "$abc:example.org");
  assertEquals(computeEventId(pdu, rules("2")), "$abc:example.org");
  const missing = message("hi");
  assertThrows(() => computeEventId(missing, rules("1")), EventIdError, "event_id");
  assertThrows(
    () => computeEventId({ ...missing, event_id: "$nodomain" }, rules("2")),
    EventIdError,
  );
  assertThrows(() => computeEventId({ ...missing, event_id: 5 }, rules("1")), EventIdError);
});

Deno.test("v4: the ID matches an independently computed hash of hand-written canonical JSON", async () => {
  const pdu = message("secret body");
  const hash = (pdu.hashes as JsonObject).sha256 as string;
  // Redacted (content emptied, unsigned dropped), signatures removed, keys sorted.
  const canonical = '{"auth_events":["$auth"],"content":{},"depth":5,' +
    `"hashes":{"sha256":"${hash}"},"origin_server_ts":1700000000000,` +
    '"prev_events":["$prev"],"room_id":"!room:example.org","sender":"@alice:example.org",' +
    '"type":"m.room.message"}';
  assertEquals(computeEventId(pdu, rules("4")), await independentId(canonical, true));
  assertEquals(computeEventId(pdu, rules("3")), await independentId(canonical, false));
  // v11 redaction keeps the same keys for this event, so the hash is the same.
  assertEquals(computeEventId(pdu, rules("11")), computeEventId(pdu, rules("4")));
});

Deno.test("v3 uses standard base64, v4+ the URL-safe alphabet, for the same hash", () => {
  let pdu = message("x", 0);
  // Find a timestamp whose hash encodes with a + or / so the alphabets visibly differ.
  for (let ts = 1; !/[+/]/.test(computeEventId(pdu, rules("3"))); ts++) pdu = message("x", ts);
  const v3 = computeEventId(pdu, rules("3"));
  const v4 = computeEventId(pdu, rules("4"));
  assert(/^\$[A-Za-z0-9+/]{43}$/.test(v3), v3);
  assert(/^\$[A-Za-z0-9_-]{43}$/.test(v4), v4);
  assertEquals(v4, v3.replaceAll("+", "-").replaceAll("/", "_"));
});

Deno.test("event IDs are stable: same event, reordered keys, new signatures or unsigned", () => {
  const v = rules("10");
  const pdu = message("hello");
  const id = computeEventId(pdu, v);
  assertEquals(computeEventId(message("hello"), v), id);
  const reordered = Object.fromEntries(Object.entries(pdu).reverse()) as PduJson;
  assertEquals(computeEventId(reordered, v), id);
  const resigned = { ...pdu, signatures: { other: { "ed25519:2": "x" } }, unsigned: { age: 99 } };
  assertEquals(computeEventId(resigned, v), id);
  // An event_id sent along anyway (some servers do) is not part of the hash.
  assertEquals(computeEventId({ ...pdu, event_id: "$whatever" }, v), id);
  // The redacted copy of an event keeps its ID: that is what makes redaction safe.
  assertEquals(computeEventId(redactPdu(pdu, v), v), id);
});

Deno.test("a message's content reaches the ID only through hashes.sha256", () => {
  const v = rules("4");
  const original = message("one");
  const id = computeEventId(original, v);
  // New body, stale content hash: the redacted form is unchanged, so is the ID (such an event
  // fails the hash check on receipt and is treated as its redacted form).
  const tampered = { ...original, content: { body: "two", msgtype: "m.text" } };
  assertEquals(computeEventId(tampered, v), id);
  // New body with its content hash recomputed: a different event.
  assertNotEquals(computeEventId(message("two"), v), id);
  // Protected keys are hashed directly.
  assertNotEquals(computeEventId({ ...original, depth: 6 }, v), id);
});

Deno.test("v6+ hashes with strict canonical JSON; v3-v5 do not", () => {
  const pdu = { ...message("x"), depth: 2.5 };
  assertThrows(() => computeEventId(pdu, rules("6")), CanonicalJsonError);
  assert(computeEventId(pdu, rules("5")).startsWith("$"));
  // A float inside redacted-away content does not reach the reference hash at all.
  const floaty = { ...message("x"), content: { body: "x", weight: 0.5 } };
  assert(computeEventId(floaty, rules("6")).startsWith("$"));
});

Deno.test("v12: the room ID is the create event's ID with ! for $", () => {
  const create: PduJson = {
    auth_events: [],
    content: { room_version: "12" },
    depth: 1,
    origin_server_ts: 1700000000000,
    prev_events: [],
    sender: "@alice:example.org",
    state_key: "",
    type: "m.room.create",
    hashes: { sha256: "placeholder" },
    signatures: {},
  };
  const roomId = computeRoomIdV12(create);
  assert(/^![A-Za-z0-9_-]{43}$/.test(roomId), roomId);
  assertEquals(roomId, "!" + computeEventId(create, rules("12")).slice(1));
  // v12 keeps all create content through redaction, so the content changes the room ID.
  const other = { ...create, content: { room_version: "12", additional_creators: ["@b:x"] } };
  assertNotEquals(computeRoomIdV12(other), roomId);
  assertEquals(computeRoomIdV12({ ...create, signatures: { x: {} } }), roomId);
});
