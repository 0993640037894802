/**
 * The redaction algorithm per room version family (v1, v6, v8, v9, v11), checked key by key,
 * and the appendix "Event Signing" test vectors (content hash + redact + sign).
 */
import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { redactContent, redactPdu } from "../../federation/redaction.ts";
import { ROOM_VERSIONS, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { JsonObject, PduJson } from "../../federation/types.ts";
import { decodeBase64 } from "../../crypto/base64.ts";
import { computeContentHash } from "../../crypto/hashes.ts";
import { SigningKey, signJson } from "../../crypto/signing.ts";

function rules(id: string): RoomVersionRules {
  return ROOM_VERSIONS.get(id)!;
}

/** One representative room version per redaction family. */
const FAMILIES = { v1: "1", v6: "6", v8: "8", v9: "9", v11: "11" } as const;
type Family = keyof typeof FAMILIES;
const ALL: Family[] = ["v1", "v6", "v8", "v9", "v11"];

async function testKey(): Promise<SigningKey> {
  return await SigningKey.fromSeed(
    "ed25519:1",
    decodeBase64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"),
  );
}

/** The spec's hash_and_sign_event: content hash, then sign the redacted copy. */
async function hashAndSign(event: PduJson, version: RoomVersionRules): Promise<PduJson> {
  const hashed: PduJson = { ...event, hashes: { sha256: computeContentHash(event) } };
  const signed = await signJson(redactPdu(hashed, version), "domain", await testKey());
  return { ...hashed, signatures: signed.signatures as JsonObject };
}

Deno.test("appendix vector: the minimally-sized event gets the spec's hash and signature", async () => {
  const event: PduJson = {
    room_id: "!x:domain",
    sender: "@a:domain",
    origin: "domain",
    origin_server_ts: 1000000,
    signatures: {},
    hashes: {},
    type: "X",
    content: {},
    prev_events: [],
    auth_events: [],
    depth: 3,
    unsigned: { age_ts: 1000000 },
  };
  const signed = await hashAndSign(event, rules("1"));
  assertEquals(signed.hashes, { sha256: "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos" });
  assertEquals(signed.signatures, {
    domain: {
      "ed25519:1":
        "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg",
    },
  });
  assertEquals(signed.unsigned, { age_ts: 1000000 });
  // The vector relies on `origin` being protected: the v11 algorithm drops it, so the
  // signature over the v11-redacted event differs.
  const v11 = await hashAndSign(event, rules("11"));
  assertNotEquals(v11.signatures, signed.signatures);
});

Deno.test("appendix vector: the message event's body is hashed but not signed", async () => {
  const event: PduJson = {
    content: { body: "Here is the message content" },
    event_id: "$0:domain",
    origin: "domain",
    origin_server_ts: 1000000,
    type: "m.room.message",
    room_id: "!r:domain",
    sender: "@u:domain",
    signatures: {},
    unsigned: { age_ts: 1000000 },
  };
  const signature =
    "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA";
  const signed = await hashAndSign(event, rules("1"));
  assertEquals(signed.hashes, { sha256: "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g" });
  assertEquals(signed.signatures, { domain: { "ed25519:1": signature } });
  assertEquals(signed.content, { body: "Here is the message content" });
  // Same signature in every family that keeps `origin` and `event_id` (v1-v10).
  for (const version of ["5", "6", "8", "10"]) {
    const again = await hashAndSign(event, rules(version));
    assertEquals(again.signatures, { domain: { "ed25519:1": signature } }, version);
  }
});

Deno.test("redactPdu: v1-v10 keep origin, membership and prev_state; v11 drops them", () => {
  const pdu: PduJson = {
    event_id: "$e:x",
    type: "m.room.member",
    room_id: "!r:x",
    sender: "@a:x",
    state_key: "@a:x",
    content: { membership: "join", displayname: "A" },
    hashes: { sha256: "h" },
    signatures: { x: { "ed25519:1": "s" } },
    depth: 4,
    prev_events: ["$p"],
    prev_state: [],
    auth_events: ["$a"],
    origin: "x",
    origin_server_ts: 7,
    membership: "join",
    unsigned: { age: 1 },
    redacts: "$r",
    custom_key: true,
  };
  const common = [
    "auth_events",
    "content",
    "depth",
    "event_id",
    "hashes",
    "origin_server_ts",
    "prev_events",
    "room_id",
    "sender",
    "signatures",
    "state_key",
    "type",
  ];
  const legacy = [...common, "membership", "origin", "prev_state"].sort();
  for (const family of ["v1", "v6", "v8", "v9"] as const) {
    assertEquals(Object.keys(redactPdu(pdu, rules(FAMILIES[family]))).sort(), legacy, family);
  }
  assertEquals(Object.keys(redactPdu(pdu, rules("11"))).sort(), common);
  assertEquals(Object.keys(redactPdu(pdu, rules("12"))).sort(), common);
  assertEquals(redactPdu(pdu, rules("11")).content, { membership: "join" });
});

/** [event type, content, the redacted content per family that keeps something]. */
interface ContentCase {
  name: string;
  type: string;
  content: JsonObject;
  /** Expected redacted content per family; a family not listed expects `{}`. */
  kept: Partial<Record<Family, JsonObject>>;
}

const CASES: ContentCase[] = [
  {
    name: "m.room.member membership",
    type: "m.room.member",
    content: { membership: "join", displayname: "Alice", avatar_url: "mxc://x/y" },
    kept: Object.fromEntries(ALL.map((f) => [f, { membership: "join" }])),
  },
  {
    name: "m.room.member join_authorised_via_users_server (v9+)",
    type: "m.room.member",
    content: { join_authorised_via_users_server: "@b:x" },
    kept: {
      v9: { join_authorised_via_users_server: "@b:x" },
      v11: { join_authorised_via_users_server: "@b:x" },
    },
  },
  {
    name: "m.room.member third_party_invite reduced to signed (v11)",
    type: "m.room.member",
    content: {
      membership: "invite",
      third_party_invite: { display_name: "bob@x", signed: { mxid: "@b:x", token: "t" } },
    },
    kept: {
      v1: { membership: "invite" },
      v6: { membership: "invite" },
      v8: { membership: "invite" },
      v9: { membership: "invite" },
      v11: { membership: "invite", third_party_invite: { signed: { mxid: "@b:x", token: "t" } } },
    },
  },
  {
    name: "m.room.create creator, and every other key in v11",
    type: "m.room.create",
    content: { creator: "@a:x", room_version: "9", "m.federate": false, predecessor: { a: 1 } },
    kept: {
      v1: { creator: "@a:x" },
      v6: { creator: "@a:x" },
      v8: { creator: "@a:x" },
      v9: { creator: "@a:x" },
      v11: { creator: "@a:x", room_version: "9", "m.federate": false, predecessor: { a: 1 } },
    },
  },
  {
    name: "m.room.join_rules join_rule, allow from v8",
    type: "m.room.join_rules",
    content: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: "!o:x" }] },
    kept: {
      v1: { join_rule: "restricted" },
      v6: { join_rule: "restricted" },
      v8: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: "!o:x" }] },
      v9: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: "!o:x" }] },
      v11: { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: "!o:x" }] },
    },
  },
  {
    name: "m.room.power_levels levels, invite only from v11, never notifications",
    type: "m.room.power_levels",
    content: {
      ban: 50,
      events: { "m.room.name": 50 },
      events_default: 0,
      kick: 50,
      redact: 50,
      state_default: 50,
      users: { "@a:x": 100 },
      users_default: 0,
      invite: 0,
      notifications: { room: 50 },
    },
    kept: Object.fromEntries(ALL.map((f) => {
      const levels: JsonObject = {
        ban: 50,
        events: { "m.room.name": 50 },
        events_default: 0,
        kick: 50,
        redact: 50,
        state_default: 50,
        users: { "@a:x": 100 },
        users_default: 0,
      };
      if (f === "v11") levels.invite = 0;
      return [f, levels];
    })),
  },
  {
    name: "m.room.aliases aliases (v1-v5 only)",
    type: "m.room.aliases",
    content: { aliases: ["#a:x"] },
    kept: { v1: { aliases: ["#a:x"] } },
  },
  {
    name: "m.room.history_visibility history_visibility",
    type: "m.room.history_visibility",
    content: { history_visibility: "shared", extra: 1 },
    kept: Object.fromEntries(ALL.map((f) => [f, { history_visibility: "shared" }])),
  },
  {
    name: "m.room.redaction content.redacts (v11)",
    type: "m.room.redaction",
    content: { redacts: "$gone", reason: "spam" },
    kept: { v11: { redacts: "$gone" } },
  },
  {
    name: "m.room.message keeps nothing",
    type: "m.room.message",
    content: { msgtype: "m.text", body: "hi" },
    kept: {},
  },
  {
    name: "m.room.topic keeps nothing",
    type: "m.room.topic",
    content: { topic: "t" },
    kept: {},
  },
];

for (const c of CASES) {
  Deno.test(`redactContent: ${c.name}`, () => {
    for (const family of ALL) {
      const got = redactContent(c.type, c.content, rules(FAMILIES[family]));
      assertEquals(got, c.kept[family] ?? {}, `${c.type} in family ${family}`);
    }
  });
}

Deno.test("redactContent: every room version maps to its family", () => {
  const families: Record<string, Family> = {
    "1": "v1",
    "2": "v1",
    "3": "v1",
    "4": "v1",
    "5": "v1",
    "6": "v6",
    "7": "v6",
    "8": "v8",
    "9": "v9",
    "10": "v9",
    "11": "v11",
    "12": "v11",
  };
  for (const [version, family] of Object.entries(families)) {
    for (const c of CASES) {
      const got = redactContent(c.type, c.content, rules(version));
      assertEquals(got, c.kept[family] ?? {}, `${c.name} in room version ${version}`);
    }
  }
});

Deno.test("redactContent: v11 third_party_invite without signed stays as an empty object", () => {
  const v11 = rules("11");
  const content = { membership: "invite", third_party_invite: { display_name: "d" } };
  assertEquals(redactContent("m.room.member", content, v11), {
    membership: "invite",
    third_party_invite: {},
  });
  assertEquals(redactContent("m.room.member", { third_party_invite: "odd" }, v11), {});
});

Deno.test("redactContent: absent protected keys are not invented", () => {
  assertEquals(redactContent("m.room.power_levels", { ban: 5 }, rules("11")), { ban: 5 });
  assertEquals(redactContent("m.room.member", {}, rules("9")), {});
});

Deno.test("redactPdu: the input is not modified and the output shares no objects with it", () => {
  const pdu: PduJson = {
    type: "m.room.power_levels",
    state_key: "",
    content: { users: { "@a:x": 100 }, notifications: { room: 50 } },
    prev_events: [["$p:x", { sha256: "h" }]],
    signatures: { x: { "ed25519:1": "s" } },
    unsigned: { age: 1 },
  };
  const before = JSON.stringify(pdu);
  const redacted = redactPdu(pdu, rules("1"));
  assertEquals(JSON.stringify(pdu), before);
  ((redacted.content as JsonObject).users as JsonObject)["@b:x"] = 1;
  ((redacted.prev_events as JsonObject[])[0] as unknown as string[])[0] = "$changed";
  (redacted.signatures as JsonObject).y = {};
  assertEquals(JSON.stringify(pdu), before);
});

Deno.test("redactPdu: a __proto__ key in v11 create content stays a plain key", () => {
  const content = JSON.parse('{"__proto__": {"polluted": true}, "room_version": "11"}');
  const pdu: PduJson = { type: "m.room.create", state_key: "", content };
  const redacted = redactPdu(pdu, rules("11"));
  const kept = redacted.content as JsonObject;
  assert(Object.hasOwn(kept, "__proto__"));
  assertEquals(Object.getPrototypeOf(kept), Object.prototype);
  assertEquals((kept as Record<string, unknown>).polluted, undefined);
});

Deno.test("redactPdu: content that is not an object is redacted to {}", () => {
  const redacted = redactPdu({ type: "m.room.member", content: "x" }, rules("9"));
  assertEquals(redacted, { type: "m.room.member", content: {} });
});
