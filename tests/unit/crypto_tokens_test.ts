import { assert, assertEquals, assertNotEquals, assertThrows } from "./assert.ts";
import { decodeBase64Url } from "../../crypto/base64.ts";
import {
  ALPHANUMERIC,
  constantTimeEqual,
  hmacSha1Hex,
  hmacSha256,
  randomBytes,
  randomString,
  randomToken,
} from "../../crypto/tokens.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("tokens: randomBytes lengths, including beyond one getRandomValues call", () => {
  assertEquals(randomBytes(0).length, 0);
  assertEquals(randomBytes(16).length, 16);
  const big = randomBytes(200_000);
  assertEquals(big.length, 200_000);
  // The tail past the first 64 KiB chunk is filled too.
  assert(big.subarray(150_000).some((b) => b !== 0));
  assertNotEquals(randomBytes(16), randomBytes(16));
  assertThrows(() => randomBytes(-1), RangeError);
  assertThrows(() => randomBytes(1.5), RangeError);
});

Deno.test("tokens: randomToken is URL-safe unpadded Base64 of the requested bytes", () => {
  const token = randomToken();
  assertEquals(token.length, 43);
  assert(/^[A-Za-z0-9_-]+$/.test(token), token);
  assertEquals(decodeBase64Url(token).length, 32);
  assertEquals(decodeBase64Url(randomToken(16)).length, 16);
  assertNotEquals(randomToken(), randomToken());
});

Deno.test("tokens: randomString length and alphabet", () => {
  assertEquals(randomString(0), "");
  const s = randomString(1000);
  assertEquals(s.length, 1000);
  assert([...s].every((c) => ALPHANUMERIC.includes(c)));
  assertEquals(randomString(50, "x"), "x".repeat(50));
  const hexString = randomString(64, "0123456789abcdef");
  assert(/^[0-9a-f]{64}$/.test(hexString), hexString);
  // Astral characters count as one symbol each.
  const emoji = randomString(10, "\u{1F600}\u{1F601}");
  assertEquals([...emoji].length, 10);
  assert([...emoji].every((c) => c === "\u{1F600}" || c === "\u{1F601}"));
  // A large alphabet (over 256 symbols) uses 16-bit samples.
  const wide = Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x4e00 + i)).join("");
  const w = randomString(500, wide);
  assertEquals(w.length, 500);
  assert([...w].every((c) => wide.includes(c)));
  assertThrows(() => randomString(5, ""), RangeError);
  assertThrows(() => randomString(5, "aab"), RangeError);
  assertThrows(() => randomString(-1), RangeError);
});

Deno.test("tokens: randomString is roughly uniform (no modulo bias)", () => {
  // With a 62-symbol alphabet, naive `byte % 62` gives the first 8 symbols 5/256 instead of
  // 4/256 chance: 25% more. Over 124000 draws (2000 expected each) that is ~+500, far beyond
  // the ~±200 (4.5 sigma) this bound allows.
  const counts = new Map<string, number>();
  for (const c of randomString(124_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
  assertEquals(counts.size, 62);
  for (const [c, n] of counts) assert(n > 1800 && n < 2200, `${c}: ${n}`);
});

Deno.test("tokens: constantTimeEqual", () => {
  assertEquals(constantTimeEqual("secret", "secret"), true);
  assertEquals(constantTimeEqual("secret", "secreT"), false);
  assertEquals(constantTimeEqual("Secret", "secret"), false);
  assertEquals(constantTimeEqual("secret", "secrets"), false);
  assertEquals(constantTimeEqual("secrets", "secret"), false);
  assertEquals(constantTimeEqual("", ""), true);
  assertEquals(constantTimeEqual("", "a"), false);
  assertEquals(constantTimeEqual("a", ""), false);
  assertEquals(constantTimeEqual(text("é"), "é"), true);
  assertEquals(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)), true);
  assertEquals(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)), false);
  assertEquals(constantTimeEqual(Uint8Array.of(0), new Uint8Array()), false);
  // A prefix padded with zero bytes is still unequal.
  assertEquals(constantTimeEqual(Uint8Array.of(1, 0), Uint8Array.of(1)), false);
});

Deno.test("tokens: HMAC-SHA1 hex, RFC 2202 test cases 1 and 2", async () => {
  // Case 2: key "Jefe".
  assertEquals(
    await hmacSha1Hex("Jefe", "what do ya want for nothing?"),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  );
  assertEquals(
    await hmacSha1Hex("Jefe", text("what do ya want for nothing?")),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  );
  // Case 1: key 0x0b * 20 (valid UTF-8, so expressible as a string), data "Hi There".
  assertEquals(
    await hmacSha1Hex("\x0b".repeat(20), "Hi There"),
    "b617318655057264e28bc0b6fb378c8ef146be00",
  );
});

Deno.test("tokens: Synapse shared-secret registration MAC shape", async () => {
  // nonce NUL user NUL password NUL admin|notadmin, as Synapse's register_new_matrix_user builds it.
  const mac = await hmacSha1Hex("shared", "abcd\0alice\0pw\0notadmin");
  assert(/^[0-9a-f]{40}$/.test(mac), mac);
  assertNotEquals(mac, await hmacSha1Hex("shared", "abcd\0alice\0pw\0admin"));
});

Deno.test("tokens: HMAC-SHA256, RFC 4231 test cases 1 and 2", async () => {
  assertEquals(
    hex(await hmacSha256(new Uint8Array(20).fill(0x0b), text("Hi There"))),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  assertEquals(
    hex(await hmacSha256(text("Jefe"), text("what do ya want for nothing?"))),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});
