/** The retired signing keys file: parsing, and a rotation on disk. */

import { assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { SigningKey } from "../../crypto/signing.ts";
import {
  KeyRotationError,
  loadOldSigningKeys,
  parseOldSigningKeys,
  rotateSigningKey,
} from "../../server/federation/key_rotation.ts";

const KEY = "A".repeat(43);

Deno.test("key rotation: the retired keys file is read strictly", () => {
  assertEquals(parseOldSigningKeys(`# retired\n\ned25519 a_1 ${KEY} 1700000000000\n`), {
    "ed25519:a_1": { key: KEY, expiredTs: 1700000000000 },
  });
  assertThrows(() => parseOldSigningKeys("ed25519 a_1 short 1"), KeyRotationError, "line 1");
  assertThrows(() => parseOldSigningKeys(`rsa a_1 ${KEY} 1`), KeyRotationError);
  assertThrows(() => parseOldSigningKeys(`ed25519 a-1 ${KEY} 1`), KeyRotationError);
  assertThrows(() => parseOldSigningKeys(`ed25519 a_1 ${KEY}`), KeyRotationError);
});

Deno.test("key rotation: the old key is listed with its expiry, a new one written", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await assertRejects(() => rotateSigningKey({ dataDir }), KeyRotationError, "signing key");
    const first = await SigningKey.generate("first");
    await Deno.writeTextFile(`${dataDir}/signing.key`, first.toSeedString() + "\n");
    const one = await rotateSigningKey({ dataDir }, { now: 1000, version: "second" });
    assertEquals(one, { retired: "ed25519:first", current: "ed25519:second" });
    const two = await rotateSigningKey({ dataDir }, { now: 2000, version: "third" });
    assertEquals(two.retired, "ed25519:second");
    const old = await loadOldSigningKeys({ dataDir });
    assertEquals(Object.keys(old), ["ed25519:first", "ed25519:second"]);
    assertEquals(old["ed25519:first"], { key: first.publicKeyBase64, expiredTs: 1000 });
    const now = await SigningKey.fromSeedString(await Deno.readTextFile(`${dataDir}/signing.key`));
    assertEquals(now.keyId, "ed25519:third");
    // A version used before is refused.
    await assertRejects(
      () => rotateSigningKey({ dataDir }, { version: "first" }),
      KeyRotationError,
      "used before",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
