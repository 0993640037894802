import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import {
  countKeys,
  download,
  MEDIA_TEST_CONFIG,
  sha256Hex,
  upload,
} from "../support/media_support.ts";
import { testGif, testJpeg, testPng, testWebp } from "../support/test_images.ts";
import { imageInfo } from "../../server/media/image_codecs.ts";
import { MediaRepository } from "../../server/media/repository.ts";

const FORMATS = {
  jpeg: { type: "image/jpeg", make: testJpeg },
  png: { type: "image/png", make: (w: number, h: number) => testPng(w, h) },
  gif: { type: "image/gif", make: testGif },
  webp: { type: "image/webp", make: testWebp },
} as const;

async function thumbnail(server: TestServer, token: string, mxc: string, query: string) {
  const res = await download(server, token, mxc, {
    path: "/_matrix/client/v1/media/thumbnail",
    query,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { res, bytes, info: res.status === 200 ? imageInfo(bytes) : null };
}

// [query, expected width, expected height]: the source is 400x300.
const CASES: [string, number, number][] = [
  ["?width=32&height=32&method=crop", 32, 32],
  ["?width=96&height=96&method=crop", 96, 96],
  ["?width=50&height=40&method=crop", 96, 96], // the next standard crop size
  ["?width=150&height=100&method=crop", 150, 100], // no standard size: made on demand
  ["?width=600&height=100&method=crop", 400, 67], // never upscaled
  ["?width=320&height=240&method=scale", 320, 240],
  ["?width=100&height=100&method=scale", 320, 240], // the next standard scale size
  ["?width=350&height=350", 350, 263], // scale is the default method
];

for (const [format, { type, make }] of Object.entries(FORMATS)) {
  Deno.test(`thumbnails of a ${format}: dimensions for crop and scale`, async () => {
    const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
    try {
      const alice = await server.register("alice");
      const original = make(400, 300);
      const mxc = (await upload(server, alice.accessToken, original, { contentType: type })).body
        .content_uri;
      await MediaRepository.of(server.hs).idle();
      // 32x32 crop, 96x96 crop and 320x240 scale apply; 640x480 and 800x600 exceed the source.
      assertEquals(await countKeys(server.hs.kv, ["media_thumbnail"]), 3, "pre-generated");
      for (const [query, width, height] of CASES) {
        const { res, info } = await thumbnail(server, alice.accessToken, mxc, query);
        assertEquals(res.status, 200, `${format} ${query}`);
        assertEquals(res.headers.get("content-type"), "image/jpeg", `${format} ${query}`);
        assertEquals(res.headers.get("content-disposition"), 'inline; filename="thumbnail.jpg"');
        assertEquals(
          [info?.format, info?.width, info?.height],
          ["jpeg", width, height],
          `${format} ${query}`,
        );
      }
      // Larger than the source in both dimensions: the original itself.
      const big = await thumbnail(server, alice.accessToken, mxc, "?width=1000&height=800");
      assertEquals(big.res.status, 200);
      assertEquals(big.res.headers.get("content-type"), type);
      assertEquals(sha256Hex(big.bytes), sha256Hex(original));
    } finally {
      await server.close();
    }
  });
}

Deno.test("thumbnails keep transparency as PNG", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    const mxc = (await upload(server, alice.accessToken, testPng(300, 200, true), {
      contentType: "image/png",
    })).body.content_uri;
    const { res, info } = await thumbnail(
      server,
      alice.accessToken,
      mxc,
      "?width=96&height=96&method=crop",
    );
    assertEquals(res.headers.get("content-type"), "image/png");
    assertEquals([info?.format, info?.width, info?.height], ["png", 96, 96]);
  } finally {
    await server.close();
  }
});

Deno.test("thumbnails: non-images, pixel bombs and bad parameters are refused", async () => {
  const server = await startTestServer({
    config: { ...MEDIA_TEST_CONFIG, media: { max_image_pixels: 100_000 } },
  });
  try {
    const alice = await server.register("alice");
    const token = alice.accessToken;
    const text = (await upload(server, token, "not an image", { contentType: "image/png" })).body
      .content_uri;
    const notImage = await thumbnail(server, token, text, "?width=32&height=32");
    assertEquals(notImage.res.status, 400);

    const large = (await upload(server, token, testJpeg(400, 300))).body.content_uri;
    const tooMany = await thumbnail(server, token, large, "?width=32&height=32");
    assertEquals(tooMany.res.status, 413);

    // A PNG header claiming 50000x50000 pixels with almost nothing behind it: refused from
    // the header, before any decoding.
    const bomb = testPng(2, 2);
    new DataView(bomb.buffer).setUint32(16, 50000);
    new DataView(bomb.buffer).setUint32(20, 50000);
    const bombMxc = (await upload(server, token, bomb, { contentType: "image/png" })).body
      .content_uri;
    const refused = await thumbnail(server, token, bombMxc, "?width=32&height=32");
    assertEquals(refused.res.status, 413);
    assert(new TextDecoder().decode(refused.bytes).includes("M_TOO_LARGE"));

    const small = (await upload(server, token, testPng(200, 100))).body.content_uri;
    for (const query of ["?width=0&height=10", "?width=10", "?width=10&height=10&method=zoom"]) {
      const bad = await thumbnail(server, token, small, query);
      assertEquals(bad.res.status, 400, query);
    }
  } finally {
    await server.close();
  }
});
