import { assert, assertEquals, assertNotEquals, assertRejects } from "./assert.ts";
import { decodeBase64, encodeBase64 } from "../../crypto/base64.ts";
import {
  activePasswordHashes,
  DEFAULT_SCRYPT_COST,
  hashPassword,
  MAX_CONCURRENT_HASHES,
  MAX_PASSWORD_BYTES,
  needsRehash,
  parsePasswordHashCost,
  PasswordError,
  verifyPassword,
} from "../../crypto/password.ts";

/** Cheap parameters so the suite stays fast; one test below uses the default. */
const FAST = { cost: { ln: 10, r: 8, p: 1 } };
const SHAPE = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

Deno.test("password: hash then verify, right and wrong", async () => {
  const stored = await hashPassword("correct horse battery staple", FAST);
  assertEquals(await verifyPassword("correct horse battery staple", stored), true);
  assertEquals(await verifyPassword("correct horse battery stapler", stored), false);
  assertEquals(await verifyPassword("", stored), false);
  assertEquals(await verifyPassword("Correct horse battery staple", stored), false);
});

Deno.test("password: the stored string carries its parameters, salt and hash", async () => {
  const stored = await hashPassword("pw", FAST);
  const match = SHAPE.exec(stored);
  assert(match !== null, stored);
  assertEquals(match.slice(1, 4), ["10", "8", "1"]);
  assertEquals(decodeBase64(match[4]).length, 16);
  assertEquals(decodeBase64(match[5]).length, 32);
  assertEquals(parsePasswordHashCost(stored), { ln: 10, r: 8, p: 1 });
  // Fresh salt every time.
  assertNotEquals(await hashPassword("pw", FAST), stored);
});

Deno.test("password: the default cost", async () => {
  const stored = await hashPassword("default cost");
  const { ln, r, p } = DEFAULT_SCRYPT_COST;
  assert(stored.startsWith(`$scrypt$ln=${ln},r=${r},p=${p}$`), stored);
  assert(ln >= 15 && r >= 8 && p >= 1);
  assertEquals(await verifyPassword("default cost", stored), true);
  assertEquals(await verifyPassword("default cosT", stored), false);
  assertEquals(needsRehash(stored), false);
});

Deno.test("password: unicode and empty passwords", async () => {
  for (const password of ["", "pässwörd", "密码\u{1F511}", " leading space"]) {
    const stored = await hashPassword(password, FAST);
    assertEquals(await verifyPassword(password, stored), true, password);
  }
  // No normalisation: composed and decomposed é are different passwords.
  const stored = await hashPassword("caf\u00e9", FAST);
  assertEquals(await verifyPassword("cafe\u0301", stored), false);
});

Deno.test("password: malformed stored hashes verify false, never throw", async () => {
  const good = await hashPassword("pw", FAST);
  const [, , params, salt, hash] = good.split("$");
  const cases = [
    "",
    "pw",
    "$2b$12$abcdefghijklmnopqrstuuJ3pbXK1p6Tb0bTkqMO2Vjt8fKXbd4pO", // bcrypt (Synapse)
    `$scrypt$${params}$${salt}`,
    `$scrypt$${params}$${salt}$${hash}$`,
    `$scrypt$${params}$${salt}$${hash}xx`, // impossible Base64 length (45)
    `$scrypt$${params}$!!$${hash}`,
    `$scrypt$ln=10,r=8$${salt}$${hash}`,
    `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=99,r=8,p=1$${salt}$${hash}`,
    `$scrypt$ln=22,r=32,p=1$${salt}$${hash}`, // would need 16 GiB
    `$scrypt$ln=10,r=8,p=1$${salt}$${encodeBase64(new Uint8Array(8))}`, // hash too short
    `$scrypt$ln=10,r=8,p=1$${encodeBase64(new Uint8Array(4))}$${hash}`, // salt too short
    `$SCRYPT$${params}$${salt}$${hash}`,
    ` ${good}`,
    `${good}\n`,
  ];
  for (const stored of cases) {
    assertEquals(await verifyPassword("pw", stored), false, stored);
    assertEquals(needsRehash(stored), true, stored);
    assertEquals(parsePasswordHashCost(stored), null, stored);
  }
  assertEquals(await verifyPassword("pw", undefined as unknown as string), false);
  // The hash compare is on bytes: change one bit of the stored hash.
  const bytes = decodeBase64(hash);
  bytes[31] ^= 1;
  assertEquals(
    await verifyPassword("pw", `$scrypt$${params}$${salt}$${encodeBase64(bytes)}`),
    false,
  );
});

Deno.test("password: over-long passwords", async () => {
  const limit = "a".repeat(MAX_PASSWORD_BYTES);
  const stored = await hashPassword(limit, FAST);
  assertEquals(await verifyPassword(limit, stored), true);
  const error = await assertRejects(() => hashPassword(limit + "a", FAST), PasswordError);
  assertEquals((error as PasswordError).code, "M_INVALID_PARAM");
  // Bytes, not characters: 513 two-byte characters are 1026 bytes.
  await assertRejects(() => hashPassword("é".repeat(513), FAST), PasswordError);
  assertEquals(await verifyPassword(limit + "a", stored), false);
});

Deno.test("password: invalid cost parameters are refused", async () => {
  for (
    const cost of [{ ln: 0, r: 8, p: 1 }, { ln: 10, r: 0, p: 1 }, { ln: 10.5, r: 8, p: 1 }, {
      ln: 30,
      r: 8,
      p: 1,
    }]
  ) {
    await assertRejects(() => hashPassword("pw", { cost }), PasswordError);
  }
});

Deno.test("password: needsRehash compares against the current cost", async () => {
  const weak = await hashPassword("pw", FAST);
  assertEquals(needsRehash(weak), true);
  assertEquals(needsRehash(weak, FAST), false);
  assertEquals(needsRehash(weak, { cost: { ln: 10, r: 8, p: 2 } }), true);
  assertEquals(needsRehash(weak, { cost: { ln: 9, r: 8, p: 1 } }), false);
  const strongerR = await hashPassword("pw", { cost: { ln: 9, r: 16, p: 1 } });
  assertEquals(needsRehash(strongerR, FAST), true, "ln below the current one");
  assertEquals(await verifyPassword("pw", strongerR), true);
});

Deno.test("password: concurrent hashes are bounded by the number of cores", async () => {
  const cost = { ln: 12, r: 8, p: 1 };
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, activePasswordHashes());
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();
  const hashes = await Promise.all(
    Array.from({ length: MAX_CONCURRENT_HASHES * 4 }, (_, i) => hashPassword(`pw ${i}`, { cost })),
  );
  sampling = false;
  await sampler;
  assert(peak >= 1, "hashes were observed running");
  assert(peak <= MAX_CONCURRENT_HASHES, `peak ${peak} > ${MAX_CONCURRENT_HASHES}`);
  assertEquals(activePasswordHashes(), 0);
  // Every queued hash ran and verifies.
  for (let i = 0; i < hashes.length; i++) assert(await verifyPassword(`pw ${i}`, hashes[i]));
  assert(!(await verifyPassword("wrong", hashes[0])));
});
