import { assertEquals, assertNotEquals, assertThrows } from "./assert.ts";
import { decodeBase64, encodeBase64, encodeBase64Url } from "../../crypto/base64.ts";
import { canonicalJsonBytes, CanonicalJsonError } from "../../crypto/canonical_json.ts";
import { computeContentHash, referenceHash, sha256 } from "../../crypto/hashes.ts";
import { SigningKey, signJson, verifyJsonSignatureSync } from "../../crypto/signing.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Appendix "Cryptographic Test Vectors".
const SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";

Deno.test("sha256: FIPS 180-2 vectors", () => {
  assertEquals(
    hex(sha256(new Uint8Array())),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(
    hex(sha256(text("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    hex(sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assertEquals(sha256(text("abc")).length, 32);
  assertEquals(sha256(text("abc")) instanceof Uint8Array, true);
});

/**
 * Hash and sign as server-server-api.md "Adding hashes and signatures to outgoing events" says.
 * `redact` is the hand-applied redaction for these two simple events (room versions 1-10 rules):
 * every top-level key of the first event survives except `unsigned`; the second, an
 * m.room.message, also loses its content.
 */
async function hashAndSign<E extends Record<string, unknown>>(
  event: E,
  redact: (event: Record<string, unknown>) => Record<string, unknown>,
) {
  const key = await SigningKey.fromSeed("ed25519:1", decodeBase64(SEED));
  const hashed = { ...event, hashes: { sha256: computeContentHash(event) } };
  const signed = await signJson(redact(hashed), "domain", key);
  return { ...hashed, signatures: signed.signatures, key, redacted: redact(hashed) };
}

Deno.test("event signing vector: minimal event", async () => {
  const event = {
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
  const redact = ({ unsigned: _, ...rest }: Record<string, unknown>) => rest;
  const result = await hashAndSign(event, redact);
  assertEquals(result.hashes, { sha256: "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos" });
  assertEquals(result.signatures, {
    domain: {
      "ed25519:1":
        "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg",
    },
  });
  assertEquals(result.unsigned, { age_ts: 1000000 });
  // The full signed event verifies after redaction, and the content hash ignores signatures.
  const { key, redacted: _r, ...signedEvent } = result;
  assertEquals(
    verifyJsonSignatureSync(redact(signedEvent), "domain", "ed25519:1", key.publicKey),
    true,
  );
  assertEquals(computeContentHash(signedEvent), result.hashes.sha256);
});

Deno.test("event signing vector: event with redactable content", async () => {
  const event = {
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
  const redact = ({ unsigned: _, ...rest }: Record<string, unknown>) => ({ ...rest, content: {} });
  const result = await hashAndSign(event, redact);
  assertEquals(result.hashes, { sha256: "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g" });
  assertEquals(result.signatures, {
    domain: {
      "ed25519:1":
        "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA",
    },
  });
  assertEquals(result.content, { body: "Here is the message content" });
});

Deno.test("content hash: ignores unsigned, signatures and hashes; covers everything else", () => {
  const base = { type: "m.room.message", content: { body: "hi" }, depth: 1 };
  const h = computeContentHash(base);
  assertEquals(
    computeContentHash({
      ...base,
      unsigned: { age: 1 },
      signatures: { a: {} },
      hashes: { sha256: "x" },
    }),
    h,
  );
  assertEquals(h, encodeBase64(sha256(canonicalJsonBytes(base))));
  assertNotEquals(computeContentHash({ ...base, content: { body: "hi!" } }), h);
  assertNotEquals(computeContentHash({ ...base, event_id: "$x" }), h);
  // Unpadded standard Base64 of 32 bytes.
  assertEquals(h.length, 43);
  assertEquals(decodeBase64(h).length, 32);
});

Deno.test("content hash: strict mode rejects non-canonical numbers", () => {
  const event = { type: "x", content: { n: 2 ** 53 } };
  assertThrows(
    () => computeContentHash(event, { strict: true }),
    CanonicalJsonError,
    "$.content.n",
  );
  assertEquals(typeof computeContentHash(event), "string");
});

Deno.test("reference hash: removes only signatures and unsigned", () => {
  const redacted = {
    type: "m.room.member",
    state_key: "@a:x",
    content: { membership: "join" },
    hashes: { sha256: "abc" },
    depth: 4,
  };
  const expected = sha256(canonicalJsonBytes(redacted));
  assertEquals(referenceHash(redacted), expected);
  assertEquals(
    referenceHash({ ...redacted, signatures: { x: { "ed25519:1": "s" } }, unsigned: { age: 4 } }),
    expected,
  );
  // hashes are covered: a different content hash is a different event.
  assertNotEquals(referenceHash({ ...redacted, hashes: { sha256: "abd" } }), expected);
  assertEquals(referenceHash(redacted).length, 32);
  // Room version 4+ event ID shape.
  assertEquals(/^[A-Za-z0-9_-]{43}$/.test(encodeBase64Url(referenceHash(redacted))), true);
  assertThrows(() => referenceHash({ depth: 1.5 }, { strict: true }), CanonicalJsonError);
});
