import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { download, MEDIA_TEST_CONFIG, sha256Hex } from "../support/media_support.ts";
import { testPng } from "../support/test_images.ts";

/** A small web site on loopback: a page with OpenGraph tags, its image, redirects. */
function startSite() {
  const png = testPng(120, 80);
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hits++;
    const path = new URL(req.url).pathname;
    if (path === "/page") {
      return new Response(
        `<!doctype html><html><head><title>Fallback title</title>
<meta property="og:title" content="Gemengerot &amp; Bierger">
<meta property="og:description" content='Sitzung vum 3. M&auml;erz'>
<meta property="og:image" content="/logo.png">
<meta name="description" content="ignored, og:description wins"></head><body>x</body></html>`,
        { headers: { "Content-Type": "text/html; charset=utf-8" } },
      );
    }
    if (path === "/plain") {
      return new Response("<title>Only a title</title><meta name=description content=Short>", {
        headers: { "Content-Type": "text/html" },
      });
    }
    if (path === "/logo.png") {
      return new Response(png, { headers: { "Content-Type": "image/png" } });
    }
    if (path === "/to-private") {
      return new Response(null, { status: 302, headers: { Location: "http://10.1.2.3/secret" } });
    }
    if (path === "/to-page") {
      return new Response(null, { status: 301, headers: { Location: "/plain" } });
    }
    if (path === "/huge") return new Response("<title>" + "x".repeat(3_000_000) + "</title>");
    return new Response("not found", { status: 404 });
  });
  return { server, png, base: `http://127.0.0.1:${server.addr.port}`, hits: () => hits };
}

function previewPath(url: string) {
  return `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}`;
}

Deno.test("URL previews refuse loopback and private addresses unless allowed", async () => {
  const site = startSite();
  const server = await startTestServer({
    config: { ...MEDIA_TEST_CONFIG, media: { url_preview: { enabled: true } } },
  });
  try {
    const alice = await server.register("alice");
    for (
      const url of [
        `${site.base}/page`,
        "http://localhost:9/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/",
      ]
    ) {
      const res = await server.request("GET", previewPath(url), { token: alice.accessToken });
      assertEquals(res.status, 403, url);
      assertEquals(res.body.errcode, "M_FORBIDDEN");
    }
    assertEquals(site.hits(), 0, "nothing was fetched");
    const bad = await server.request("GET", previewPath("file:///etc/passwd"), {
      token: alice.accessToken,
    });
    assertEquals(bad.status, 400);
  } finally {
    await server.close();
    await site.server.shutdown();
  }
});

Deno.test("URL previews: OpenGraph, the image as mxc://, redirects re-checked, cache", async () => {
  const site = startSite();
  const server = await startTestServer({
    config: {
      ...MEDIA_TEST_CONFIG,
      media: {
        url_preview: { enabled: true, allowed_ranges: ["127.0.0.1/32"], max_page_size: 100_000 },
      },
    },
  });
  try {
    const alice = await server.register("alice");
    const token = alice.accessToken;
    const res = await server.request("GET", previewPath(`${site.base}/page`), { token });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body["og:title"], "Gemengerot & Bierger");
    assertEquals(res.body["og:description"], "Sitzung vum 3. Mäerz");
    assertEquals(res.body["og:image:width"], 120);
    assertEquals(res.body["og:image:height"], 80);
    assertEquals(res.body["matrix:image:size"], site.png.byteLength);
    const image = await download(server, token, res.body["og:image"]);
    assertEquals(sha256Hex(new Uint8Array(await image.arrayBuffer())), sha256Hex(site.png));

    const hits = site.hits();
    const again = await server.request("GET", previewPath(`${site.base}/page`), { token });
    assertEquals(again.body, res.body);
    assertEquals(site.hits(), hits, "served from the cache");

    const redirected = await server.request("GET", previewPath(`${site.base}/to-page`), { token });
    assertEquals(redirected.body, { "og:title": "Only a title", "og:description": "Short" });

    const toPrivate = await server.request("GET", previewPath(`${site.base}/to-private`), {
      token,
    });
    assertEquals(toPrivate.status, 403, "the redirect target is checked like the first URL");

    const huge = await server.request("GET", previewPath(`${site.base}/huge`), { token });
    assertEquals(huge.status, 200, "a page is read up to max_page_size only");
    assert(String(huge.body["og:title"] ?? "").length <= 2000);

    const missing = await server.request("GET", previewPath(`${site.base}/nothing`), { token });
    assertEquals(missing.status, 502);
  } finally {
    await server.close();
    await site.server.shutdown();
  }
});
