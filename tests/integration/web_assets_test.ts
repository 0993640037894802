/**
 * Serving the web app: index.html on the app's routes, content types, caching, gzip, the
 * Content-Security-Policy, the service worker and manifest, and the Matrix paths untouched.
 */

import { Hono } from "hono";
import { DIST, ensureWebBuild, readBuildManifest } from "../../web/build.ts";
import { CONTENT_SECURITY_POLICY, webAppRoutes } from "../../server/web_assets.ts";
import type { Homeserver } from "../../server/homeserver.ts";
import { startTestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";

Deno.test("web assets: the app, its files and the APIs side by side", async () => {
  await ensureWebBuild();
  const build = await readBuildManifest(DIST);
  assert(build, "dist/build.json exists after the build");
  const server = await startTestServer();
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${server.baseUrl}${path}`, { headers });
  try {
    for (const path of ["/", "/sign-in", "/sign-up", "/settings", "/rooms/!abc%3Alocalhost"]) {
      const res = await get(path);
      assertEquals(res.status, 200, path);
      assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
      assertEquals(res.headers.get("cache-control"), "no-cache");
      assertEquals(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      assert((await res.text()).includes(build.entry), `${path} names the entry script`);
    }
    assert(CONTENT_SECURITY_POLICY.includes("'wasm-unsafe-eval'"));
    assert(!/script-src[^;]*'unsafe-inline'/.test(CONTENT_SECURITY_POLICY));

    // The entry is the app (main.tsx), not one of its lazily loaded chunks.
    assert(/^\/assets\/app-[A-Z0-9]+\.js$/.test(build.entry), `entry ${build.entry}`);
    const entry = await get(build.entry, { "accept-encoding": "gzip" });
    assertEquals(entry.status, 200);
    assertEquals(entry.headers.get("content-type"), "text/javascript; charset=utf-8");
    assertEquals(entry.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const etag = entry.headers.get("etag");
    assert(etag, "hashed assets carry an ETag");
    await entry.body?.cancel();
    const again = await get(build.entry, { "accept-encoding": "gzip", "if-none-match": etag });
    assertEquals(again.status, 304);
    await again.body?.cancel();

    // gzip when accepted (fetch decodes it), the plain file otherwise.
    const wasmGzip = await get(build.cryptoWasm, { "accept-encoding": "gzip" });
    assertEquals(wasmGzip.headers.get("content-type"), "application/wasm");
    assertEquals(wasmGzip.headers.get("content-encoding"), "gzip");
    const decoded = new Uint8Array(await wasmGzip.arrayBuffer());
    assertEquals([...decoded.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "a WASM module");
    const wasmPlain = await get(build.cryptoWasm, { "accept-encoding": "identity" });
    assertEquals(wasmPlain.headers.get("content-encoding"), null);
    assertEquals((await wasmPlain.arrayBuffer()).byteLength, decoded.length);

    const sw = await get("/sw.js");
    assertEquals(sw.status, 200);
    assertEquals(sw.headers.get("service-worker-allowed"), "/");
    assertEquals(sw.headers.get("cache-control"), "no-cache");
    assert((await sw.text()).includes(build.entry), "the service worker stores the entry");

    const manifestRes = await get("/manifest.webmanifest");
    assertEquals(manifestRes.headers.get("content-type"), "application/manifest+json");
    const manifest = await manifestRes.json();
    assertEquals(manifest.name, "gemeng");
    assertEquals(manifest.display, "standalone");
    for (const size of ["192x192", "512x512"]) {
      const icon = manifest.icons.find((i: { sizes: string }) => i.sizes === size);
      assert(icon, `an icon of ${size}`);
      const png = new Uint8Array(await (await get(icon.src)).arrayBuffer());
      assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], `${icon.src} is a PNG`);
      const width = new DataView(png.buffer).getUint32(16);
      assertEquals(`${width}x${width}`, size);
    }

    // The Matrix paths keep their own answers.
    const versions = await get("/_matrix/client/versions");
    assertEquals(versions.headers.get("content-type"), "application/json");
    assert(Array.isArray((await versions.json()).versions));
    const wellKnown = await get("/.well-known/matrix/client");
    assertEquals(wellKnown.status, 200);
    await wellKnown.body?.cancel();
    for (const path of ["/_matrix/client/v3/nonexistent", "/_synapse/x", "/nope"]) {
      const res = await get(path);
      assertEquals(res.status, 404, path);
      assertEquals((await res.json()).errcode, "M_UNRECOGNIZED");
    }
    const missingAsset = await get("/assets/app-DOESNOTEXIST.js");
    assertEquals(missingAsset.status, 404);
    await missingAsset.body?.cancel();
    const post = await fetch(`${server.baseUrl}/`, { method: "POST" });
    assertEquals(post.status, 405);
    await post.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("web assets: a server without a build says how to make one", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const app = new Hono();
    app.route("/", webAppRoutes({} as Homeserver, { dist: new URL(`file://${empty}/`) }));
    const res = await app.request("/");
    assertEquals(res.status, 503);
    assert((await res.text()).includes("deno task build"));
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
