/**
 * The web app's encrypted attachments (web/src/matrix/attachments.ts): the spec's format, a
 * round trip, agreement with an independent AES-256-CTR (node:crypto), and refusal of files
 * whose ciphertext does not match the event's SHA-256.
 */

import { createCipheriv, createHash } from "node:crypto";
import {
  AttachmentError,
  decodeBase64,
  decryptAttachment,
  encodeUnpaddedBase64,
  encryptAttachment,
} from "../../web/src/matrix/attachments.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "./assert.ts";

function sample(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

Deno.test("web attachments: the EncryptedFile has the spec's shape", async () => {
  const { ciphertext, info } = await encryptAttachment(sample(1000));
  assertEquals(info.v, "v2");
  assertEquals(info.key.kty, "oct");
  assertEquals(info.key.alg, "A256CTR");
  assertEquals(info.key.ext, true);
  assertEquals(info.key.key_ops, ["encrypt", "decrypt"]);
  assert(/^[A-Za-z0-9_-]{43}$/.test(info.key.k), "k is URL-safe unpadded base64 of 32 bytes");
  assert(/^[A-Za-z0-9+/]{22}$/.test(info.iv), "iv is unpadded base64 of 16 bytes");
  const iv = decodeBase64(info.iv);
  assertEquals([...iv.subarray(8)], [0, 0, 0, 0, 0, 0, 0, 0], "the block counter starts at 0");
  assertEquals(ciphertext.length, 1000, "CTR keeps the length");
  const digest = createHash("sha256").update(ciphertext).digest("base64").replace(/=+$/, "");
  assertEquals(info.hashes.sha256, digest, "the hash is of the ciphertext");
});

Deno.test("web attachments: round trip, and an independent AES-256-CTR agrees", async () => {
  for (const size of [0, 1, 15, 16, 17, 70_000]) {
    const plaintext = sample(size);
    const { ciphertext, info } = await encryptAttachment(plaintext);
    if (size >= 16) assertNotEquals([...ciphertext], [...plaintext], `size ${size} is encrypted`);
    const back = new Uint8Array(await decryptAttachment(ciphertext, info));
    assertEquals(back.length, size);
    assertEquals(encodeUnpaddedBase64(back), encodeUnpaddedBase64(plaintext), `size ${size}`);

    const decipher = createCipheriv("aes-256-ctr", decodeBase64(info.key.k), decodeBase64(info.iv));
    const other = new Uint8Array([...decipher.update(ciphertext), ...decipher.final()]);
    assertEquals(encodeUnpaddedBase64(other), encodeUnpaddedBase64(plaintext), `node ${size}`);
  }
});

Deno.test("web attachments: every file gets its own key and IV", async () => {
  const a = await encryptAttachment(sample(64));
  const b = await encryptAttachment(sample(64));
  assertNotEquals(a.info.key.k, b.info.key.k);
  assertNotEquals(a.info.iv, b.info.iv);
  assertNotEquals(encodeUnpaddedBase64(a.ciphertext), encodeUnpaddedBase64(b.ciphertext));
});

Deno.test("web attachments: an altered ciphertext or a wrong hash is refused", async () => {
  const { ciphertext, info } = await encryptAttachment(sample(4096));
  const altered = ciphertext.slice();
  altered[100] ^= 1;
  const err = await assertRejects(() => decryptAttachment(altered, info), AttachmentError);
  assertEquals((err as AttachmentError).code, "hash_mismatch");

  const truncated = ciphertext.slice(0, 4000);
  const short = await assertRejects(() => decryptAttachment(truncated, info), AttachmentError);
  assertEquals((short as AttachmentError).code, "hash_mismatch");

  const otherHash = { ...info, hashes: { sha256: encodeUnpaddedBase64(new Uint8Array(32)) } };
  const wrong = await assertRejects(() => decryptAttachment(ciphertext, otherHash));
  assertEquals((wrong as AttachmentError).code, "hash_mismatch");
});

Deno.test("web attachments: unusable descriptions are refused", async () => {
  const { ciphertext, info } = await encryptAttachment(sample(32));
  const cases = [
    { ...info, v: "v1" },
    { ...info, hashes: {} },
    { ...info, iv: "AAAA" },
    { ...info, key: { ...info.key, alg: "A128CTR" } },
    { ...info, key: { ...info.key, key_ops: ["encrypt"] } },
  ];
  for (const bad of cases) {
    // deno-lint-ignore no-explicit-any
    const err = await assertRejects(() => decryptAttachment(ciphertext, bad as any));
    assertEquals((err as AttachmentError).code, "bad_file_info", JSON.stringify(bad));
  }
});
