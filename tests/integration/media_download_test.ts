import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import {
  download,
  hashStream,
  MEDIA_TEST_CONFIG,
  patternBytes,
  sha256Hex,
  upload,
} from "../support/media_support.ts";
import { MEDIA_CSP } from "../../server/media/download_response.ts";

async function withServer(
  fn: (server: TestServer, token: string) => Promise<void>,
  config: Record<string, unknown> = {},
) {
  const server = await startTestServer({ config: { ...MEDIA_TEST_CONFIG, ...config } });
  try {
    const alice = await server.register("alice");
    await fn(server, alice.accessToken);
  } finally {
    await server.close();
  }
}

Deno.test("Range: 206 with Content-Range across chunk borders, suffix and open ranges", async () => {
  await withServer(async (server, token) => {
    const size = 3 * 65536 + 100;
    const bytes = await patternBytes(size, 11);
    const mxc = (await upload(server, token, bytes, { contentType: "video/webm" })).body
      .content_uri;
    const cases: [string, number, number][] = [
      ["bytes=0-0", 0, 0],
      ["bytes=65530-65545", 65530, 65545],
      ["bytes=65536-131071", 65536, 131071],
      ["bytes=100000-", 100000, size - 1],
      ["bytes=-10", size - 10, size - 1],
      ["bytes=5-999999999", 5, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await download(server, token, mxc, { headers: { Range: range } });
      assertEquals(res.status, 206, range);
      assertEquals(res.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
      assertEquals(res.headers.get("content-length"), String(end - start + 1));
      const got = new Uint8Array(await res.arrayBuffer());
      assertEquals(sha256Hex(got), sha256Hex(bytes.subarray(start, end + 1)), range);
    }
    const beyond = await download(server, token, mxc, { headers: { Range: `bytes=${size}-` } });
    assertEquals(beyond.status, 416);
    assertEquals(beyond.headers.get("content-range"), `bytes */${size}`);
    await beyond.body?.cancel();

    const several = await download(server, token, mxc, { headers: { Range: "bytes=0-1,5-6" } });
    assertEquals(several.status, 200, "several ranges: the whole body is a valid answer");
    assertEquals((await hashStream(several.body!)).size, size);

    const full = await download(server, token, mxc);
    assertEquals(full.headers.get("accept-ranges"), "bytes");
    const etag = full.headers.get("etag")!;
    await full.body?.cancel();
    const cached = await download(server, token, mxc, { headers: { "If-None-Match": etag } });
    assertEquals(cached.status, 304);
  });
});

Deno.test("an HTML upload is served as an attachment with the sandbox headers", async () => {
  await withServer(async (server, token) => {
    const html = "<html><script>alert(document.cookie)</script></html>";
    const res = await upload(server, token, html, {
      contentType: "text/html",
      filename: "evil.html",
    });
    const got = await download(server, token, res.body.content_uri);
    assertEquals(got.status, 200);
    assertEquals(got.headers.get("content-type"), "text/html");
    assertEquals(got.headers.get("content-disposition"), 'attachment; filename="evil.html"');
    assertEquals(got.headers.get("content-security-policy"), MEDIA_CSP);
    assert(got.headers.get("content-security-policy")!.startsWith("sandbox;"));
    assertEquals(got.headers.get("x-content-type-options"), "nosniff");
    assertEquals(got.headers.get("cross-origin-resource-policy"), "cross-origin");
    assertEquals(await got.text(), html);

    const svg = await upload(server, token, "<svg/>", { contentType: "image/svg+xml" });
    const svgGot = await download(server, token, svg.body.content_uri);
    assertEquals(svgGot.headers.get("content-disposition"), "attachment", "SVG can script");
    await svgGot.body?.cancel();

    const png = await upload(server, token, "x", { contentType: "image/png" });
    const pngGot = await download(server, token, png.body.content_uri);
    assertEquals(pngGot.headers.get("content-disposition"), "inline");
    await pngGot.body?.cancel();
  });
});

Deno.test("file names: as uploaded, overridden in the path, RFC 6266 for non-ASCII", async () => {
  await withServer(async (server, token) => {
    const res = await upload(server, token, "%PDF", {
      contentType: "application/pdf",
      filename: "Protokoll Gemengerot.pdf",
    });
    const mxc = res.body.content_uri;
    const got = await download(server, token, mxc);
    assertEquals(
      got.headers.get("content-disposition"),
      'attachment; filename="Protokoll Gemengerot.pdf"',
    );
    await got.body?.cancel();

    const renamed = await fetch(
      `${server.baseUrl}/_matrix/client/v1/media/download/${mxc.slice(6)}/${
        encodeURIComponent("Bericht ä €.pdf")
      }`,
      { headers: { Authorization: `Bearer ${token}` } },
    );
    assertEquals(
      renamed.headers.get("content-disposition"),
      `attachment; filename="Bericht _ _.pdf"; filename*=utf-8''Bericht%20%C3%A4%20%E2%82%AC.pdf`,
    );
    await renamed.body?.cancel();

    const none = await upload(server, token, "x", { contentType: "text/plain" });
    const noneGot = await download(server, token, none.body.content_uri);
    assertEquals(noneGot.headers.get("content-disposition"), "inline");
    await noneGot.body?.cancel();
  });
});

Deno.test("downloads: auth required, unknown media and bad IDs are M_NOT_FOUND", async () => {
  await withServer(async (server, token) => {
    const res = await upload(server, token, "secret");
    const anonymous = await download(server, null, res.body.content_uri);
    assertEquals(anonymous.status, 401);
    await anonymous.body?.cancel();
    const unknown = await download(server, token, "mxc://localhost/nosuchmedia");
    assertEquals(unknown.status, 404);
    assertEquals((await unknown.json()).errcode, "M_NOT_FOUND");
    const remote = await download(server, token, "mxc://elsewhere.example/abc");
    assertEquals(remote.status, 404);
    assertEquals((await remote.json()).errcode, "M_NOT_FOUND");
    const bad = await fetch(
      `${server.baseUrl}/_matrix/client/v1/media/download/localhost/a.b`,
      { headers: { Authorization: `Bearer ${token}` } },
    );
    assertEquals(bad.status, 404);
    await bad.body?.cancel();
  });
});

Deno.test("legacy unauthenticated downloads are frozen unless legacy_unauthenticated", async () => {
  await withServer(async (server, token) => {
    const mxc = (await upload(server, token, "old client")).body.content_uri;
    const frozen = await download(server, null, mxc, { path: "/_matrix/media/v3/download" });
    assertEquals(frozen.status, 404);
    assertEquals((await frozen.json()).errcode, "M_NOT_FOUND");
    const thumb = await download(server, null, mxc, {
      path: "/_matrix/media/v3/thumbnail",
      query: "?width=32&height=32",
    });
    assertEquals(thumb.status, 404);
    await thumb.body?.cancel();
    // The deprecated config endpoint is authenticated, so it is not part of the freeze.
    const config = await server.request("GET", "/_matrix/media/v3/config", { token });
    assertEquals(config.status, 200);
    assertEquals(config.body["m.upload.size"], 104857600);
  });

  await withServer(async (server, token) => {
    const mxc = (await upload(server, token, "old client", { filename: "a.txt" })).body
      .content_uri;
    const open = await download(server, null, mxc, { path: "/_matrix/media/v3/download" });
    assertEquals(open.status, 200);
    assertEquals(await open.text(), "old client");
    assertEquals(open.headers.get("content-security-policy"), MEDIA_CSP);
  }, { media: { legacy_unauthenticated: true } });
});

Deno.test("URL previews are off by default", async () => {
  await withServer(async (server, token) => {
    const res = await server.request(
      "GET",
      "/_matrix/client/v1/media/preview_url?url=https%3A%2F%2Fexample.org",
      { token },
    );
    assertEquals(res.status, 404);
    assertEquals(res.body.errcode, "M_UNRECOGNIZED");
  });
});
