import { assertEquals } from "../unit/assert.ts";
import * as sdk from "matrix-js-sdk";
import { startTestServer } from "../support/test_server.ts";
import { MEDIA_TEST_CONFIG, patternBytes, sha256Hex } from "../support/media_support.ts";
import { testJpeg } from "../support/test_images.ts";
import { imageInfo } from "../../server/media/image_codecs.ts";
import { encodeBase64 } from "../../crypto/base64.ts";

async function authedGet(url: string, token: string): Promise<Response> {
  return await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
}

/**
 * Downloads `mxc` from the authenticated media URL the SDK makes for it (no redirects, direct
 * links allowed), with `token`.
 */
async function sdkDownload(
  client: sdk.MatrixClient,
  mxc: string,
  token: string,
): Promise<Response> {
  const url = client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true)!;
  return await authedGet(url, token);
}

Deno.test("matrix-js-sdk uploads an image; download and thumbnail through its URLs", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    const client = sdk.createClient({
      baseUrl: server.baseUrl,
      userId: alice.userId,
      accessToken: alice.accessToken,
    });
    const jpeg = testJpeg(640, 400);
    const { content_uri } = await client.uploadContent(new Blob([jpeg], { type: "image/jpeg" }), {
      name: "photo.jpg",
      type: "image/jpeg",
    });
    const original = await sdkDownload(client, content_uri, alice.accessToken);
    assertEquals(original.status, 200);
    assertEquals(original.headers.get("content-type"), "image/jpeg");
    assertEquals(original.headers.get("content-disposition"), 'inline; filename="photo.jpg"');
    assertEquals(sha256Hex(new Uint8Array(await original.arrayBuffer())), sha256Hex(jpeg));

    const thumbUrl = client.mxcUrlToHttp(content_uri, 96, 96, "crop", false, true, true)!;
    const thumb = await authedGet(thumbUrl, alice.accessToken);
    assertEquals(thumb.status, 200);
    const info = imageInfo(new Uint8Array(await thumb.arrayBuffer()));
    assertEquals([info?.width, info?.height], [96, 96]);
    client.stopClient();
  } finally {
    await server.close();
  }
});

Deno.test("matrix-js-sdk uploads an encrypted attachment; the server keeps the bytes opaque", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const client = sdk.createClient({
      baseUrl: server.baseUrl,
      userId: alice.userId,
      accessToken: alice.accessToken,
    });
    // As Matrix encrypted attachments: AES-256-CTR, a random 64-bit IV prefix and a zero counter,
    // and the SHA-256 of the ciphertext sent along with the key.
    const plaintext = await patternBytes(300_000, 77);
    const key = await crypto.subtle.generateKey({ name: "AES-CTR", length: 256 }, true, [
      "encrypt",
      "decrypt",
    ]);
    const iv = new Uint8Array(16);
    crypto.getRandomValues(iv.subarray(0, 8));
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, plaintext),
    );
    const file = {
      v: "v2",
      key: await crypto.subtle.exportKey("jwk", key),
      iv: encodeBase64(iv),
      hashes: {
        sha256: encodeBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", ciphertext))),
      },
    };
    const { content_uri } = await client.uploadContent(
      new Blob([ciphertext], { type: "application/octet-stream" }),
      { type: "application/octet-stream", includeFilename: false },
    );

    // Bob downloads (authenticated), checks the hash and decrypts.
    const res = await sdkDownload(client, content_uri, bob.accessToken);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "application/octet-stream");
    assertEquals(res.headers.get("content-disposition"), "attachment");
    const downloaded = new Uint8Array(await res.arrayBuffer());
    assertEquals(sha256Hex(downloaded), sha256Hex(ciphertext), "stored byte for byte");
    assertEquals(
      encodeBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", downloaded))),
      file.hashes.sha256,
    );
    const bobKey = await crypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, [
      "decrypt",
    ]);
    const decrypted = new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-CTR", counter: iv, length: 64 }, bobKey, downloaded),
    );
    assertEquals(sha256Hex(decrypted), sha256Hex(plaintext));
    client.stopClient();
  } finally {
    await server.close();
  }
});
