/**
 * Media across two (and three) gemeng nodes: a file uploaded on A is downloaded and
 * thumbnailed by B's client through federation, cached on B with its origin (served again with
 * A stopped, dropped by the admin purge of cached remote media), with B's size limit; A's
 * federation media endpoints answer multipart to signed requests and 401 to unsigned ones; the
 * legacy download is served to other servers on the TLS listener only.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "../unit/assert.ts";
import { signRequest } from "../../federation/request_auth.ts";
import { purgeRemoteCache } from "../../server/admin/media_admin.ts";
import { imageInfo } from "../../server/media/image_codecs.ts";
import { getMedium } from "../../server/media/media_store.ts";
import {
  buildMultipart,
  dispositionFileName,
  multipartBoundary,
  MultipartError,
  parseMultipart,
} from "../../server/media/multipart.ts";
import { MediaRepository } from "../../server/media/repository.ts";
import { testPng } from "../support/test_images.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless, testCa } from "./support/peers.ts";

async function upload(node: GemengNode, user: NodeUser, bytes: Uint8Array, name: string) {
  const res = await fetch(
    `${node.baseUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "image/png" },
      body: bytes as Uint8Array<ArrayBuffer>,
    },
  );
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return (body.content_uri as string).slice("mxc://".length).split("/")[1];
}

async function get(node: GemengNode, user: NodeUser, path: string) {
  const res = await fetch(`${node.baseUrl}${path}`, {
    headers: { Authorization: `Bearer ${user.accessToken}` },
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json = null;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch { /* media bytes */ }
  return { status: res.status, headers: res.headers, bytes, json };
}

const download = (origin: string, id: string) =>
  `/_matrix/client/v1/media/download/${encodeURIComponent(origin)}/${id}`;
const thumbnail = (origin: string, id: string, query: string) =>
  `/_matrix/client/v1/media/thumbnail/${encodeURIComponent(origin)}/${id}?${query}`;

Deno.test({
  name: "media of another gemeng node: fetched over federation, cached, purged, limited",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const small = await startGemengNode({ config: { media: { max_upload_size: 1000 } } });
    let aClosed = false;
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const png = testPng(300, 200);
      assert(png.byteLength > 1000, "the image must be over the small node's limit");
      const id = await upload(a, alice, png, "chat photo.png");

      // Download through B: the same bytes, type and name.
      const first = await get(b, bob, download(a.serverName, id));
      assertEquals(first.status, 200, JSON.stringify(first.json));
      assertEquals(first.bytes, png);
      assertEquals(first.headers.get("content-type"), "image/png");
      assert(first.headers.get("content-disposition")?.includes("chat photo.png"));
      const cached = await getMedium(b.hs.kv, a.serverName, id);
      assertEquals(cached?.origin, a.serverName);
      assertEquals(cached?.uploader, null);
      assert(typeof cached?.cachedTs === "number", "the cache records when it was filled");

      // A thumbnail through B, made from the cached original.
      const thumb = await get(
        b,
        bob,
        thumbnail(a.serverName, id, "width=64&height=64&method=crop"),
      );
      assertEquals(thumb.status, 200, JSON.stringify(thumb.json));
      const info = imageInfo(thumb.bytes);
      assert(info !== null && info.width <= 96 && info.height <= 96, JSON.stringify(info));

      // An unknown media ID of A is a 404 on B; allow_remote=false does not ask A.
      const unknown = await get(b, bob, download(a.serverName, "NoSuchMediaHere"));
      assertEquals([unknown.status, unknown.json?.errcode], [404, "M_NOT_FOUND"]);
      const id2 = await upload(a, alice, testPng(20, 20), "two.png");
      const local = await get(b, bob, `${download(a.serverName, id2)}?allow_remote=false`);
      assertEquals(local.status, 404);

      // B's size limit holds for remote media: over it, nothing is cached.
      const carol = await small.register("carol");
      const tooBig = await get(small, carol, download(a.serverName, id));
      assertEquals([tooBig.status, tooBig.json?.errcode], [502, "M_TOO_LARGE"]);
      assertEquals(await getMedium(small.hs.kv, a.serverName, id), null);

      // With A stopped, B still serves its cached copy (download and thumbnail).
      await a.close();
      aClosed = true;
      const again = await get(b, bob, download(a.serverName, id));
      assertEquals(again.status, 200);
      assertEquals(again.bytes, png);
      const thumbAgain = await get(
        b,
        bob,
        thumbnail(a.serverName, id, "width=32&height=32&method=scale"),
      );
      assertEquals(thumbAgain.status, 200);
      // The 404 from A is remembered for a while: B does not ask again.
      const unknownAgain = await get(b, bob, download(a.serverName, "NoSuchMediaHere"));
      assertEquals(unknownAgain.status, 404);
      const gone = await get(b, bob, download(a.serverName, id2));
      assertEquals(gone.status, 502, "uncached media of a stopped server cannot be had");

      // The admin purge of cached remote media drops it; then it cannot be served any more.
      const repo = MediaRepository.of(b.hs);
      assertEquals(await purgeRemoteCache(repo, b.hs.kv, Date.now() + 1), 1);
      await repo.idle();
      assertEquals(await getMedium(b.hs.kv, a.serverName, id), null);
      const purged = await get(b, bob, download(a.serverName, id));
      assertEquals(purged.status, 502);
    } finally {
      if (!aClosed) await a.close();
      await b.close();
      await small.close();
    }
  },
});

Deno.test({
  name: "federation media endpoints: multipart to signed requests, 401 unsigned, local only",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const ca = await testCa();
    const http = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
    try {
      const alice = await a.register("alice");
      const png = testPng(120, 80);
      const id = await upload(a, alice, png, "x.png");

      const signed = (path: string) =>
        b.hs.federation.client.request(a.serverName, { method: "GET", path });
      // The federation client keeps JSON only; the raw answer is checked with a plain fetch
      // below, so here only the status of a signed request is asserted.
      assertEquals((await signed(`/_matrix/federation/v1/media/download/${id}`)).status, 200);
      const missing = await signed("/_matrix/federation/v1/media/download/NoSuchMedia");
      assertEquals([missing.status, (missing.json as { errcode: string }).errcode], [
        404,
        "M_NOT_FOUND",
      ]);
      const thumbStatus = await signed(
        `/_matrix/federation/v1/media/thumbnail/${id}?width=32&height=32&method=scale`,
      );
      assertEquals(thumbStatus.status, 200);

      // Unsigned: 401.
      for (const path of [`download/${id}`, `thumbnail/${id}?width=32&height=32`]) {
        const res = await fetch(`${a.federationUrl}/_matrix/federation/v1/media/${path}`, {
          client: http,
        });
        const body = await res.json();
        assertEquals([res.status, body.errcode], [401, "M_UNAUTHORIZED"]);
      }

      // The multipart answer itself, through B's fetch path: JSON part, then the bytes.
      const bob = await b.register("bob");
      const viaB = await get(b, bob, download(a.serverName, id));
      assertEquals(viaB.bytes, png);
      const raw = await rawSigned(b, a, `/_matrix/federation/v1/media/download/${id}`, http);
      const boundary = multipartBoundary(raw.headers.get("content-type"));
      assert(boundary, raw.headers.get("content-type") ?? "no content type");
      const parts = parseMultipart(raw.bytes, boundary);
      assertEquals(parts.length, 2);
      assertEquals(parts[0].headers.get("content-type"), "application/json");
      assertEquals(JSON.parse(new TextDecoder().decode(parts[0].body)), {});
      assertEquals(parts[1].headers.get("content-type"), "image/png");
      assertEquals(parts[1].body, png);

      // B does not hand on A's media it cached: B's endpoint knows only B's own media.
      const onB = await a.hs.federation.client.request(b.serverName, {
        method: "GET",
        path: `/_matrix/federation/v1/media/download/${id}`,
      });
      assertEquals(onB.status, 404);

      // The legacy download is served to other servers (signed) on the TLS listener; the
      // freeze holds for anything else.
      const legacy = `/_matrix/media/v3/download/${encodeURIComponent(a.serverName)}/${id}`;
      assertEquals((await rawSigned(b, a, legacy, http)).bytes, png);
      assertEquals((await rawSigned(b, a, legacy.replace("/v3/", "/r0/"), http)).bytes, png);
      for (const url of [`${a.federationUrl}${legacy}`, `${a.baseUrl}${legacy}`]) {
        const unsigned = await fetch(url, { client: http });
        assertEquals(unsigned.status, 404, url);
        await unsigned.body?.cancel();
      }
      const forged = await fetch(`${a.federationUrl}${legacy}`, {
        client: http,
        headers: {
          Authorization: `X-Matrix origin="${b.serverName}",key="ed25519:x",sig="AAAA"`,
        },
      });
      assertEquals(forged.status, 401);
      await forged.body?.cancel();
      // ...and only for its own media (B cached A's medium but does not hand it on).
      const relay = await fetch(`${b.federationUrl}${legacy}`, { client: http });
      assertEquals(relay.status, 404);
      await relay.body?.cancel();
    } finally {
      http.close();
      await a.close();
      await b.close();
    }
  },
});

/** A GET from `from` to `to`'s TLS listener, signed as `from`, answered with raw bytes. */
async function rawSigned(from: GemengNode, to: GemengNode, path: string, http: Deno.HttpClient) {
  const authorization = await signRequest({
    method: "GET",
    uri: path,
    origin: from.serverName,
    destination: to.serverName,
  }, from.hs.signingKey);
  const res = await fetch(`${to.federationUrl}${path}`, {
    client: http,
    headers: { Authorization: authorization },
  });
  assertEquals(res.status, 200);
  return { headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

Deno.test("multipart: what we build parses back; broken framing is refused", async () => {
  const content = new TextEncoder().encode("--not-a-boundary\r\n\r\nbytes");
  const built = buildMultipart({ a: 1 }, {
    contentType: "text/plain",
    contentDisposition: 'inline; filename="a.txt"',
    size: content.byteLength,
    open: () => new Blob([content]).stream(),
  });
  const body = new Uint8Array(await new Response(built.body).arrayBuffer());
  assertEquals(body.byteLength, built.length);
  const boundary = multipartBoundary(built.contentType)!;
  const parts = parseMultipart(body, boundary);
  assertEquals(JSON.parse(new TextDecoder().decode(parts[0].body)), { a: 1 });
  assertEquals(parts[1].body, content);
  assertEquals(dispositionFileName(parts[1].headers.get("content-disposition")), "a.txt");

  assertEquals(multipartBoundary("application/json"), null);
  assertEquals(multipartBoundary("multipart/mixed"), null);
  assertEquals(multipartBoundary('multipart/mixed; boundary="x y"'), "x y");
  const enc = (text: string) => new TextEncoder().encode(text);
  for (
    const broken of [
      "no boundary at all",
      "--b\r\nContent-Type: a/b\r\n\r\nunterminated",
      "--bX\r\n\r\n\r\n--b--",
      "--b\r\nno header end\r\n--b--",
      "--b\r\nbad header line\r\n\r\nx\r\n--b--",
      "--b\r\n" + "X-A: b\r\n".repeat(3000) + "\r\nx\r\n--b--",
      "--b\r\n\r\nx\r\n".repeat(20) + "--b--",
    ]
  ) {
    assertThrows(() => parseMultipart(enc(broken), "b"), MultipartError);
  }
  assertEquals(dispositionFileName(`attachment; filename*=utf-8''%C3%A9t%C3%A9.png`), "été.png");
  assertEquals(dispositionFileName("attachment"), null);
});
