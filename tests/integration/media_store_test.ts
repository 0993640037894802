import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import {
  countKeys,
  download,
  hashStream,
  MEDIA_TEST_CONFIG,
  patternBytes,
  sha256Hex,
  upload,
} from "../support/media_support.ts";
import { MediaRepository } from "../../server/media/repository.ts";
import { BlobWriter, type UnownedRecord } from "../../server/media/blob_store.ts";
import { getUsage } from "../../server/media/media_store.ts";
import type { UserRecord } from "../../server/store/kv_store.ts";

Deno.test("dedup: identical uploads share chunks; deleting frees them with the last reference", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  const kv = server.hs.kv;
  const repo = MediaRepository.of(server.hs);
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const bytes = await patternBytes(30 * 65536 + 5, 42); // 31 chunks, several batches
    const a = await upload(server, alice.accessToken, bytes, { filename: "a.bin" });
    const b = await upload(server, bob.accessToken, bytes, { filename: "b.bin" });
    assert(a.body.content_uri !== b.body.content_uri, "two media IDs");
    await repo.idle();
    assertEquals(await countKeys(kv, ["media_chunk"]), 31, "one copy of the chunks");
    assertEquals(await countKeys(kv, ["media_blob"]), 1);
    assertEquals(await countKeys(kv, ["media_unowned"]), 0, "the duplicate's chunks were freed");
    assertEquals((await getUsage(kv, "@bob:localhost")).bytes, bytes.length, "each user pays");

    const other = await upload(server, alice.accessToken, await patternBytes(10, 1));
    await repo.idle();
    assertEquals(await countKeys(kv, ["media_chunk"]), 32);

    const [origin, id] = a.body.content_uri.slice(6).split("/");
    assert(await repo.delete(origin, id));
    await repo.idle();
    assertEquals(await countKeys(kv, ["media_chunk"]), 32, "bob still references them");
    const stillThere = await download(server, bob.accessToken, b.body.content_uri);
    assertEquals((await hashStream(stillThere.body!)).sha256, sha256Hex(bytes));
    const gone = await download(server, alice.accessToken, a.body.content_uri);
    assertEquals(gone.status, 404);
    await gone.body?.cancel();

    const [origin2, id2] = b.body.content_uri.slice(6).split("/");
    assert(await repo.delete(origin2, id2));
    await repo.idle();
    assertEquals(await countKeys(kv, ["media_chunk"]), 1, "only the other medium's chunk");
    assertEquals(await countKeys(kv, ["media_sha256"]), 1);
    assertEquals((await getUsage(kv, "@alice:localhost")).bytes, 10);
    assertEquals((await download(server, alice.accessToken, other.body.content_uri)).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("a crashed upload leaves no medium and its chunks are collected on start", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // An upload that wrote 30 chunks and then died (no final commit).
    const writer = new BlobWriter(kv);
    await writer.write(await patternBytes(30 * 65536, 9));
    await writer.drain();
    assertEquals(await countKeys(kv, ["media_chunk"]), 24, "two batches were committed");
    assertEquals(await countKeys(kv, ["media"]), 0, "no medium is visible");
    const marker = await kv.get<UnownedRecord>(["media_unowned", writer.blobId]);
    assert(marker.value !== null);
    // Pretend it died long ago (a fresh one belongs to an upload that may still be running).
    await kv.set(["media_unowned", writer.blobId], { touchedTs: 1 });

    const server = await startTestServer({ kv, config: MEDIA_TEST_CONFIG });
    const repo = MediaRepository.of(server.hs);
    await repo.idle();
    assertEquals(await countKeys(kv, ["media_chunk"]), 0);
    assertEquals(await countKeys(kv, ["media_unowned"]), 0);
    await server.close();
  } finally {
    kv.close();
  }
});

Deno.test("admin: delete a medium, purge a user, list the largest, purge remote cache", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  const kv = server.hs.kv;
  const repo = MediaRepository.of(server.hs);
  try {
    const admin = await server.register("admin");
    const record = await kv.get<UserRecord>(["user", admin.userId]);
    await kv.set(["user", admin.userId], { ...record.value!, admin: true });
    const alice = await server.register("alice");
    const sizes = [1000, 300_000, 70_000];
    const uris: string[] = [];
    for (const [i, size] of sizes.entries()) {
      uris.push(
        (await upload(server, alice.accessToken, await patternBytes(size, i + 1))).body
          .content_uri,
      );
    }
    const mine = (await upload(server, admin.accessToken, "admin's")).body.content_uri;

    const notAdmin = await server.request("GET", "/_synapse/admin/v1/media/largest", {
      token: alice.accessToken,
    });
    assertEquals(notAdmin.status, 403);

    const largest = await server.request("GET", "/_synapse/admin/v1/media/largest?limit=2", {
      token: admin.accessToken,
    });
    assertEquals(largest.status, 200);
    assertEquals(largest.body.media.map((m: { media_length: number }) => m.media_length), [
      300_000,
      70_000,
    ]);
    assertEquals(largest.body.media[0].user_id, alice.userId);

    const one = await server.request(
      "DELETE",
      `/_synapse/admin/v1/media/${uris[0].slice(6)}`,
      { token: admin.accessToken },
    );
    assertEquals(one.status, 200);
    assertEquals(one.body.total, 1);

    const purge = await server.request(
      "DELETE",
      `/_synapse/admin/v1/users/${encodeURIComponent(alice.userId)}/media`,
      { token: admin.accessToken },
    );
    assertEquals(purge.status, 200);
    assertEquals(purge.body.total, 2);
    await repo.idle();
    assertEquals((await getUsage(kv, alice.userId)).bytes, 0);
    assertEquals(await countKeys(kv, ["media_chunk"]), 1, "only the admin's medium remains");
    assertEquals((await download(server, admin.accessToken, mine)).status, 200);

    // Remote media in the cache (as federation will store it).
    const old = await repo.storeBytes(new TextEncoder().encode("old remote"), {
      contentType: "text/plain",
      fileName: null,
      origin: "remote.example",
      cachedTs: Date.now() - 40 * 86400_000,
    });
    const fresh = await repo.storeBytes(new TextEncoder().encode("fresh remote"), {
      contentType: "text/plain",
      fileName: null,
      origin: "remote.example",
      cachedTs: Date.now(),
    });
    const cachedRemote = await download(
      server,
      admin.accessToken,
      `mxc://remote.example/${fresh.mediaId}`,
    );
    assertEquals(await cachedRemote.text(), "fresh remote");
    const purged = await server.request(
      "POST",
      `/_synapse/admin/v1/purge_media_cache?before_ts=${Date.now() - 30 * 86400_000}`,
      { token: admin.accessToken },
    );
    assertEquals(purged.body, { deleted: 1 });
    const oldGone = await download(
      server,
      admin.accessToken,
      `mxc://remote.example/${old.mediaId}`,
    );
    assertEquals(oldGone.status, 404);
    await oldGone.body?.cancel();
  } finally {
    await server.close();
  }
});
