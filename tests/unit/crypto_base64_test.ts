import { assertEquals, assertThrows } from "./assert.ts";
import {
  Base64Error,
  decodeBase64,
  decodeBase64Url,
  encodeBase64,
  encodeBase64Url,
} from "../../crypto/base64.ts";

const text = (s: string) => new TextEncoder().encode(s);

// Appendix "Unpadded Base64": examples.
const SPEC_EXAMPLES: [string, string][] = [
  ["", ""],
  ["f", "Zg"],
  ["fo", "Zm8"],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg"],
  ["fooba", "Zm9vYmE"],
  ["foobar", "Zm9vYmFy"],
];

Deno.test("base64: spec examples encode and decode", () => {
  for (const [plain, encoded] of SPEC_EXAMPLES) {
    assertEquals(encodeBase64(text(plain)), encoded);
    assertEquals(decodeBase64(encoded), text(plain));
    assertEquals(encodeBase64Url(text(plain)), encoded);
    assertEquals(decodeBase64Url(encoded), text(plain));
  }
});

Deno.test("base64: padded input is accepted", () => {
  assertEquals(decodeBase64("Zg=="), text("f"));
  assertEquals(decodeBase64("Zm8="), text("fo"));
  assertEquals(decodeBase64("Zm9v"), text("foo"));
  assertEquals(decodeBase64Url("Zm9vYg=="), text("foob"));
});

Deno.test("base64: round trips for lengths 0..10 and all byte values", () => {
  for (let n = 0; n <= 10; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31 + 250) & 255);
    const encoded = encodeBase64(bytes);
    assertEquals(encoded.length, Math.ceil((n * 4) / 3));
    assertEquals(encoded.includes("="), false);
    assertEquals(decodeBase64(encoded), bytes);
    assertEquals(decodeBase64Url(encodeBase64Url(bytes)), bytes);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assertEquals(decodeBase64(encodeBase64(all)), all);
  assertEquals(decodeBase64Url(encodeBase64Url(all)), all);
});

Deno.test("base64: agrees with btoa on a large input", () => {
  const bytes = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 7919) & 255);
  const expected = btoa(String.fromCharCode(...bytes.subarray(0, 60_000))) +
    btoa(String.fromCharCode(...bytes.subarray(60_000)));
  // 60000 is a multiple of 3, so the two halves concatenate cleanly.
  assertEquals(encodeBase64(bytes), expected.replace(/=+$/, ""));
  assertEquals(decodeBase64(expected), bytes);
});

Deno.test("base64: standard and URL-safe alphabets differ only in 62 and 63", () => {
  const bytes = Uint8Array.of(0xfb, 0xff, 0xbf);
  assertEquals(encodeBase64(bytes), "+/+/");
  assertEquals(encodeBase64Url(bytes), "-_-_");
  assertEquals(decodeBase64("+/+/"), bytes);
  assertEquals(decodeBase64Url("-_-_"), bytes);
});

Deno.test("base64: alphabet mismatch is rejected", () => {
  assertThrows(() => decodeBase64("-_-_"), Base64Error);
  assertThrows(() => decodeBase64("ab-c"), Base64Error);
  assertThrows(() => decodeBase64Url("+/+/"), Base64Error);
  assertThrows(() => decodeBase64Url("ab/c"), Base64Error);
});

Deno.test("base64: invalid characters are rejected with M_INVALID_PARAM", () => {
  for (const bad of ["Zm9v!", "Zm 9v", "Zm9v\n", " Zm9v", "Zé9v", "Zm.v", "Zm9v\0"]) {
    const error = assertThrows(() => decodeBase64(bad), Base64Error);
    assertEquals((error as Base64Error).code, "M_INVALID_PARAM");
    assertThrows(() => decodeBase64Url(bad), Base64Error);
  }
});

Deno.test("base64: impossible lengths and malformed padding are rejected", () => {
  for (
    const bad of [
      "Z",
      "Zm9vY",
      "Zm9vYmFyZ",
      "Zg=",
      "Zg===",
      "Z===",
      "====",
      "=",
      "Zm9v=",
      "Zm9v====",
      "Zg==Zg==",
      "Z=g=",
    ]
  ) {
    assertThrows(() => decodeBase64(bad), Base64Error);
    assertThrows(() => decodeBase64Url(bad), Base64Error);
  }
});

Deno.test("base64: non-zero trailing bits are accepted (the spec's own test seed has them)", () => {
  // "Zh" and "Zg" both decode to "f": the low 4 bits of "h" are dropped.
  assertEquals(decodeBase64("Zh"), text("f"));
  assertEquals(decodeBase64("Zm9="), text("fo"));
  const seed = decodeBase64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1");
  assertEquals(seed.length, 32);
  // Re-encoding canonicalises the last character.
  assertEquals(encodeBase64(seed), "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0");
});
