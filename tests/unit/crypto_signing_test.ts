import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "./assert.ts";
import { decodeBase64, encodeBase64 } from "../../crypto/base64.ts";
import { canonicalJsonBytes, CanonicalJsonError } from "../../crypto/canonical_json.ts";
import {
  decodePublicKey,
  type JsonSignatures,
  SigningError,
  SigningKey,
  signJson,
  verifyEd25519,
  verifyEd25519Sync,
  verifyJsonSignature,
  verifyJsonSignatureSync,
} from "../../crypto/signing.ts";

// Appendix "Cryptographic Test Vectors".
const SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";
const SERVER_NAME = "domain";
const KEY_ID = "ed25519:1";
const SIG_EMPTY =
  "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ";
const SIG_ONE_TWO =
  "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw";

function specKey(): Promise<SigningKey> {
  return SigningKey.fromSeed(KEY_ID, decodeBase64(SEED));
}

Deno.test("signing: spec vector, empty object", async () => {
  const key = await specKey();
  const signed = await signJson({}, SERVER_NAME, key);
  assertEquals(signed, { signatures: { domain: { "ed25519:1": SIG_EMPTY } } });
});

Deno.test("signing: spec vector, object with data", async () => {
  const key = await specKey();
  const input = { one: 1, two: "Two" };
  const signed = await signJson(input, SERVER_NAME, key);
  assertEquals(signed, {
    one: 1,
    signatures: { domain: { "ed25519:1": SIG_ONE_TWO } },
    two: "Two",
  });
  assertEquals(input, { one: 1, two: "Two" }, "input must not be modified");
});

Deno.test("signing: both verifiers accept the spec signatures", async () => {
  const key = await specKey();
  const cases = [
    { signatures: { domain: { "ed25519:1": SIG_EMPTY } } },
    { one: 1, two: "Two", signatures: { domain: { "ed25519:1": SIG_ONE_TWO } } },
  ];
  for (const object of cases) {
    assertEquals(await verifyJsonSignature(object, SERVER_NAME, KEY_ID, key.publicKey), true);
    assertEquals(verifyJsonSignatureSync(object, SERVER_NAME, KEY_ID, key.publicKey), true);
    // unsigned is not covered by the signature.
    const withUnsigned = { ...object, unsigned: { age_ts: 5 } };
    assertEquals(await verifyJsonSignature(withUnsigned, SERVER_NAME, KEY_ID, key.publicKey), true);
    assertEquals(verifyJsonSignatureSync(withUnsigned, SERVER_NAME, KEY_ID, key.publicKey), true);
  }
});

Deno.test("signing: tampering, wrong key, wrong name and malformed signatures fail", async () => {
  const key = await specKey();
  const other = await SigningKey.generate();
  const good = { one: 1, two: "Two", signatures: { domain: { "ed25519:1": SIG_ONE_TWO } } };
  const flipped = decodeBase64(SIG_ONE_TWO);
  flipped[10] ^= 1;
  const bad: [Record<string, unknown>, string, string, Uint8Array][] = [
    [{ ...good, two: "two" }, SERVER_NAME, KEY_ID, key.publicKey],
    [{ ...good, three: 3 }, SERVER_NAME, KEY_ID, key.publicKey],
    [good, SERVER_NAME, KEY_ID, other.publicKey],
    [good, "other.server", KEY_ID, key.publicKey],
    [good, SERVER_NAME, "ed25519:2", key.publicKey],
    [good, SERVER_NAME, KEY_ID, key.publicKey.subarray(0, 31)],
    [
      { ...good, signatures: { domain: { "ed25519:1": encodeBase64(flipped) } } },
      SERVER_NAME,
      KEY_ID,
      key.publicKey,
    ],
    [
      { ...good, signatures: { domain: { "ed25519:1": "!!notbase64" } } },
      SERVER_NAME,
      KEY_ID,
      key.publicKey,
    ],
    [
      { ...good, signatures: { domain: { "ed25519:1": SIG_ONE_TWO.slice(0, 40) } } },
      SERVER_NAME,
      KEY_ID,
      key.publicKey,
    ],
    [{ ...good, signatures: { domain: { "ed25519:1": 42 } } }, SERVER_NAME, KEY_ID, key.publicKey],
    [{ ...good, signatures: { domain: "x" } }, SERVER_NAME, KEY_ID, key.publicKey],
    [{ ...good, signatures: [] }, SERVER_NAME, KEY_ID, key.publicKey],
    [{ one: 1, two: "Two" }, SERVER_NAME, KEY_ID, key.publicKey],
    [{ ...good, x: 1.5 }, SERVER_NAME, KEY_ID, key.publicKey], // not canonical under strict
    [
      // Inherited members (Object.prototype.toString) are not signatures.
      { ...good, signatures: { domain: {} } },
      SERVER_NAME,
      "toString",
      key.publicKey,
    ],
    [{ ...good, signatures: {} }, "constructor", KEY_ID, key.publicKey],
    [
      { ...good, signatures: { domain: { "ed25519:1": SIG_ONE_TWO } } },
      SERVER_NAME,
      KEY_ID,
      key.publicKey.subarray(0, 31),
    ],
  ];
  for (const [i, [object, name, keyId, publicKey]] of bad.entries()) {
    const options = { strict: true };
    assertEquals(
      await verifyJsonSignature(object, name, keyId, publicKey, options),
      false,
      `#${i}`,
    );
    assertEquals(verifyJsonSignatureSync(object, name, keyId, publicKey, options), false, `#${i}`);
  }
  // An all-zero "public key" is not a usable point; still false, not a throw.
  assertEquals(await verifyJsonSignature(good, SERVER_NAME, KEY_ID, new Uint8Array(32)), false);
  assertEquals(verifyJsonSignatureSync(good, SERVER_NAME, KEY_ID, new Uint8Array(32)), false);
});

Deno.test("signing: signJson keeps other signatures and replaces its own", async () => {
  const a = await SigningKey.generate("a");
  const b = await SigningKey.generate("b");
  const start: { body: string; unsigned: { age: number }; signatures: JsonSignatures } = {
    body: "x",
    unsigned: { age: 1 },
    signatures: { "other.org": { "ed25519:z": "sig" }, "me.org": { "ed25519:old": "sig2" } },
  };
  const once = await signJson(start, "me.org", a);
  const twice = await signJson(once, "me.org", b);
  const again = await signJson(twice, "third.org", a);
  assertEquals(Object.keys(again.signatures).sort(), ["me.org", "other.org", "third.org"]);
  assertEquals(Object.keys(again.signatures["me.org"]).sort(), [
    "ed25519:a",
    "ed25519:b",
    "ed25519:old",
  ]);
  assertEquals(again.signatures["other.org"], { "ed25519:z": "sig" });
  assertEquals(again.unsigned, { age: 1 });
  assertEquals(start.signatures["me.org"], { "ed25519:old": "sig2" }, "input untouched");
  assertEquals(await verifyJsonSignature(again, "me.org", "ed25519:a", a.publicKey), true);
  assertEquals(await verifyJsonSignature(again, "me.org", "ed25519:b", b.publicKey), true);
  assertEquals(verifyJsonSignatureSync(again, "third.org", "ed25519:a", a.publicKey), true);
  // Re-signing with the same key is deterministic (Ed25519) and overwrites in place.
  const resigned = await signJson(again, "me.org", a);
  assertEquals(resigned.signatures["me.org"]["ed25519:a"], again.signatures["me.org"]["ed25519:a"]);
});

Deno.test("signing: signJson rejects malformed signatures and non-canonical objects", async () => {
  const key = await SigningKey.generate();
  await assertRejects(() => signJson({ signatures: "x" }, "me", key), SigningError);
  await assertRejects(() => signJson({ signatures: { me: 1 } }, "me", key), SigningError);
  await assertRejects(() => signJson({ n: 1.5 }, "me", key, { strict: true }), CanonicalJsonError);
  const loose = await signJson({ n: 1.5 }, "me", key);
  assertEquals(await verifyJsonSignature(loose, "me", key.keyId, key.publicKey), true);
});

Deno.test("signing: key from the spec seed, seed string round trip", async () => {
  const key = await specKey();
  assertEquals(key.keyId, "ed25519:1");
  assertEquals(key.version, "1");
  assertEquals(key.publicKey.length, 32);
  assertEquals(key.publicKeyBase64, encodeBase64(key.publicKey));
  // Re-encoding canonicalises the seed's last character (its spare bits are dropped).
  assertEquals(key.toSeedString(), "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0");
  const parsed = await SigningKey.fromSeedString(`ed25519 1 ${SEED}\n`);
  assertEquals(parsed.publicKey, key.publicKey);
  assertEquals(parsed.keyId, KEY_ID);
  const fresh = await SigningKey.generate();
  const back = await SigningKey.fromSeedString(fresh.toSeedString());
  assertEquals(back.publicKey, fresh.publicKey);
  assertEquals(back.keyId, fresh.keyId);
  assert(/^ed25519:a_[A-Za-z0-9]{4}$/.test(fresh.keyId), fresh.keyId);
  assertNotEquals(fresh.publicKey, (await SigningKey.generate()).publicKey);
});

Deno.test("signing: the seed never leaks through JSON or inspection", async () => {
  const key = await SigningKey.generate("v1");
  const seed = key.toSeedString().split(" ")[2];
  const shown = [
    JSON.stringify(key),
    String(key),
    Deno.inspect(key),
    Deno.inspect(key, { showHidden: true }),
  ];
  for (const text of shown) assert(!text.includes(seed), text);
  assertEquals(JSON.parse(JSON.stringify(key)), {
    keyId: "ed25519:v1",
    publicKey: key.publicKeyBase64,
  });
});

Deno.test("signing: bad key ids, seeds and seed strings are rejected", async () => {
  const seed = new Uint8Array(32);
  for (const id of ["1", "rsa:1", "ed25519:", "ed25519:a-b", "ed25519:a b", "ED25519:1"]) {
    await assertRejects(() => SigningKey.fromSeed(id, seed), SigningError);
  }
  await assertRejects(() => SigningKey.fromSeed("ed25519:1", new Uint8Array(31)), SigningError);
  for (
    const text of [
      "",
      "ed25519 1",
      "ed25519 1 !!!",
      "curve25519 1 " + SEED,
      "ed25519 1 Zm9v",
      "ed25519 1 a b",
    ]
  ) {
    await assertRejects(() => SigningKey.fromSeedString(text), SigningError);
  }
});

Deno.test("signing: raw Ed25519 verify, async and sync, with cached keys", async () => {
  const key = await specKey();
  const message = canonicalJsonBytes({ one: 1, two: "Two" });
  const signature = decodeBase64(SIG_ONE_TWO);
  assertEquals(await key.sign(message), signature);
  for (let i = 0; i < 3; i++) {
    assertEquals(await verifyEd25519(key.publicKey, message, signature), true);
    assertEquals(verifyEd25519Sync(key.publicKey, message, signature), true);
  }
  const tampered = message.slice();
  tampered[1] ^= 0x20;
  assertEquals(await verifyEd25519(key.publicKey, tampered, signature), false);
  assertEquals(verifyEd25519Sync(key.publicKey, tampered, signature), false);
  assertEquals(await verifyEd25519(key.publicKey, message, signature.subarray(1)), false);
  // Concurrent first use of many keys (exceeds nothing, but exercises the shared import).
  const keys = await Promise.all(Array.from({ length: 5 }, () => SigningKey.generate()));
  const results = await Promise.all(
    keys.flatMap((k) =>
      [0, 1].map(async () => verifyEd25519(k.publicKey, message, await k.sign(message)))
    ),
  );
  assertEquals(results.every((ok) => ok), true);
});

Deno.test("signing: the key cache stays correct beyond its bound", async () => {
  const message = new TextEncoder().encode("hot path");
  const keys = await Promise.all(Array.from({ length: 600 }, () => SigningKey.generate()));
  const signatures = await Promise.all(keys.map((k) => k.sign(message)));
  for (let i = 0; i < keys.length; i++) {
    assert(await verifyEd25519(keys[i].publicKey, message, signatures[i]));
    assert(verifyEd25519Sync(keys[i].publicKey, message, signatures[i]));
    // A signature by a different key must not verify under a (possibly cached) neighbour.
    assert(!verifyEd25519Sync(keys[i].publicKey, message, signatures[(i + 1) % keys.length]));
  }
  assert(await verifyEd25519(keys[0].publicKey, message, signatures[0]));
});

Deno.test("signing: decodePublicKey", () => {
  assertEquals(
    decodePublicKey(encodeBase64(new Uint8Array(32).fill(7))),
    new Uint8Array(32).fill(7),
  );
  assertEquals(decodePublicKey("Zm9v"), null);
  assertEquals(decodePublicKey(42), null);
  assertEquals(decodePublicKey("!!"), null);
  assertThrows(() => {
    throw new SigningError("x");
  }, SigningError);
});

Deno.test("signing: node:crypto signatures equal WebCrypto's byte for byte", async () => {
  const prefix = Uint8Array.from(
    "302e020100300506032b657004220420".match(/../g)!,
    (pair) => parseInt(pair, 16),
  );
  for (let i = 0; i < 20; i++) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const key = await SigningKey.fromSeed("ed25519:t", seed);
    const pkcs8 = new Uint8Array(48);
    pkcs8.set(prefix);
    pkcs8.set(seed, 16);
    const web = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, [
      "sign",
    ]);
    const message = crypto.getRandomValues(new Uint8Array(1 + i * 37));
    const expected = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, web, message));
    assertEquals(key.signSync(message), expected);
    assertEquals(await key.sign(message), expected);
    const object = { i, text: `event ${i}`, nested: { list: [1, 2, i] } };
    const signed = await signJson(object, "example.org", key);
    assertEquals(
      await verifyJsonSignature(signed, "example.org", key.keyId, key.publicKey),
      true,
    );
    assertEquals(verifyJsonSignatureSync(signed, "example.org", key.keyId, key.publicKey), true);
  }
});
