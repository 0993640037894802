import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import {
  download,
  hashStream,
  MEDIA_TEST_CONFIG,
  patternBytes,
  patternStream,
  sha256Hex,
  upload,
} from "../support/media_support.ts";
import { MediaRepository } from "../../server/media/repository.ts";

Deno.test("uploads of 1 byte, 64 KiB, 64 KiB + 1 and 1 MiB + 3 come back identical", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    for (const size of [1, 65536, 65537, 3 * 65536, (1 << 20) + 3]) {
      const bytes = await patternBytes(size, size);
      const res = await upload(server, alice.accessToken, bytes, {
        contentType: "application/octet-stream",
      });
      assertEquals(res.status, 200, `upload of ${size}: ${JSON.stringify(res.body)}`);
      assert(/^mxc:\/\/localhost\/[A-Za-z0-9_-]+$/.test(res.body.content_uri));
      const got = await download(server, alice.accessToken, res.body.content_uri);
      assertEquals(got.status, 200);
      assertEquals(got.headers.get("content-length"), String(size));
      const { sha256, size: read } = await hashStream(got.body!);
      assertEquals(read, size);
      assertEquals(sha256, sha256Hex(bytes), `size ${size}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("a streamed upload without Content-Length is stored while it arrives", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    const size = 5 * 65536 * 12 + 17; // several chunk batches plus a partial chunk
    const source = patternStream(size, 7, 40_000);
    const res = await upload(server, alice.accessToken, source.stream, {
      contentType: "video/mp4",
      filename: "clip.mp4",
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    const got = await download(server, alice.accessToken, res.body.content_uri);
    assertEquals(got.headers.get("content-type"), "video/mp4");
    assertEquals(got.headers.get("content-disposition"), 'inline; filename="clip.mp4"');
    assertEquals((await hashStream(got.body!)).sha256, await source.digest);
  } finally {
    await server.close();
  }
});

Deno.test("an empty upload is a valid empty medium", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    const res = await upload(server, alice.accessToken, new Uint8Array(0));
    assertEquals(res.status, 200);
    const got = await download(server, alice.accessToken, res.body.content_uri);
    assertEquals(got.status, 200);
    assertEquals((await got.arrayBuffer()).byteLength, 0);
    assertEquals(got.headers.get("content-type"), "application/octet-stream");
  } finally {
    await server.close();
  }
});

Deno.test("uploads need an access token", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const res = await fetch(`${server.baseUrl}/_matrix/media/v3/upload`, {
      method: "POST",
      body: "x",
    });
    assertEquals(res.status, 401);
    assertEquals((await res.json()).errcode, "M_MISSING_TOKEN");
  } finally {
    await server.close();
  }
});

Deno.test("max_upload_size: 413 M_TOO_LARGE, declared or streamed, and nothing is left", async () => {
  const server = await startTestServer({
    config: { ...MEDIA_TEST_CONFIG, media: { max_upload_size: 100_000 } },
  });
  try {
    const alice = await server.register("alice");
    const config = await server.request("GET", "/_matrix/client/v1/media/config", {
      token: alice.accessToken,
    });
    assertEquals(config.body, { "m.upload.size": 100_000 });

    const declared = await upload(server, alice.accessToken, new Uint8Array(100_001));
    assertEquals(declared.status, 413);
    assertEquals(declared.body.errcode, "M_TOO_LARGE");

    const streamed = await upload(server, alice.accessToken, patternStream(900_000, 3).stream);
    assertEquals(streamed.status, 413);
    assertEquals(streamed.body.errcode, "M_TOO_LARGE");

    const exact = await upload(server, alice.accessToken, new Uint8Array(100_000));
    assertEquals(exact.status, 200);

    await MediaRepository.of(server.hs).idle();
    let chunks = 0;
    for await (const _ of server.hs.kv.list({ prefix: ["media_chunk"] })) chunks++;
    assertEquals(chunks, 2, "only the accepted upload's chunks remain");
    let unowned = 0;
    for await (const _ of server.hs.kv.list({ prefix: ["media_unowned"] })) unowned++;
    assertEquals(unowned, 0);
  } finally {
    await server.close();
  }
});

Deno.test("per-user quota: 403 M_FORBIDDEN once the user's media would exceed it", async () => {
  const server = await startTestServer({
    config: { ...MEDIA_TEST_CONFIG, media: { user_quota_bytes: 150_000 } },
  });
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const first = await upload(server, alice.accessToken, await patternBytes(100_000, 1));
    assertEquals(first.status, 200);
    const second = await upload(server, alice.accessToken, await patternBytes(60_000, 2));
    assertEquals(second.status, 403);
    assertEquals(second.body.errcode, "M_FORBIDDEN");
    const streamed = await upload(server, alice.accessToken, patternStream(60_000, 3).stream);
    assertEquals(streamed.status, 403);
    const small = await upload(server, alice.accessToken, await patternBytes(40_000, 4));
    assertEquals(small.status, 200);
    const other = await upload(server, bob.accessToken, await patternBytes(100_000, 5));
    assertEquals(other.status, 200, "the quota is per user");
  } finally {
    await server.close();
  }
});

Deno.test("upload rate limit: 429 M_LIMIT_EXCEEDED with retry_after_ms", async () => {
  const server = await startTestServer({
    config: { rate_limits: { media_upload: { per_second: 0.01, burst: 2 } } },
  });
  try {
    const alice = await server.register("alice");
    assertEquals((await upload(server, alice.accessToken, "a")).status, 200);
    assertEquals((await upload(server, alice.accessToken, "b")).status, 200);
    const limited = await upload(server, alice.accessToken, "c");
    assertEquals(limited.status, 429);
    assertEquals(limited.body.errcode, "M_LIMIT_EXCEEDED");
    assert(limited.body.retry_after_ms > 0);
  } finally {
    await server.close();
  }
});

Deno.test("async upload: create, wait on download, PUT, overwrite refused", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const created = await server.request("POST", "/_matrix/media/v1/create", {
      token: alice.accessToken,
    });
    assertEquals(created.status, 200);
    const mxc: string = created.body.content_uri;
    assert(created.body.unused_expires_at > Date.now());

    const early = await download(server, alice.accessToken, mxc, { query: "?timeout_ms=100" });
    assertEquals(early.status, 504);
    assertEquals((await early.json()).errcode, "M_NOT_YET_UPLOADED");

    // A download that waits is answered as soon as the upload commits.
    const waiting = download(server, bob.accessToken, mxc, { query: "?timeout_ms=10000" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const wrongUser = await upload(server, bob.accessToken, "nope", { mxc });
    assertEquals(wrongUser.status, 403);
    assertEquals(wrongUser.body.errcode, "M_FORBIDDEN");

    const put = await upload(server, alice.accessToken, "late bytes", {
      mxc,
      contentType: "text/plain",
      filename: "late.txt",
    });
    assertEquals(put.status, 200, JSON.stringify(put.body));
    assertEquals(put.body, {});
    const answered = await waiting;
    assertEquals(answered.status, 200);
    assertEquals(await answered.text(), "late bytes");
    assertEquals(answered.headers.get("content-disposition"), 'inline; filename="late.txt"');

    const again = await upload(server, alice.accessToken, "again", { mxc });
    assertEquals(again.status, 409);
    assertEquals(again.body.errcode, "M_CANNOT_OVERWRITE_MEDIA");

    const unknown = await upload(server, alice.accessToken, "x", {
      mxc: "mxc://localhost/doesnotexist",
    });
    assertEquals(unknown.status, 404);
    assertEquals(unknown.body.errcode, "M_NOT_FOUND");
  } finally {
    await server.close();
  }
});

Deno.test("async upload: pending media IDs per user are limited (429)", async () => {
  const server = await startTestServer({
    config: { ...MEDIA_TEST_CONFIG, media: { max_pending_uploads: 2 } },
  });
  try {
    const alice = await server.register("alice");
    const create = () =>
      server.request("POST", "/_matrix/media/v1/create", { token: alice.accessToken });
    const a = await create();
    assertEquals((await create()).status, 200);
    const third = await create();
    assertEquals(third.status, 429);
    assertEquals(third.body.errcode, "M_LIMIT_EXCEEDED");
    assertEquals(
      (await upload(server, alice.accessToken, "x", { mxc: a.body.content_uri }))
        .status,
      200,
    );
    assertEquals((await create()).status, 200, "an uploaded ID no longer counts");
  } finally {
    await server.close();
  }
});
