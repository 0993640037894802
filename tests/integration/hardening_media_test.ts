/**
 * Bad input to the media and web-app routes answers a clear 4xx, never a 500 (issue 11): URL
 * previews refuse every IPv6 spelling of a private IPv4 address without connecting, survive
 * broken %-escapes and oversized pages, /assets/ reads only files the build lists, and the
 * admin media routes validate every parameter.
 */

import { Hono } from "hono";
import type { Homeserver } from "../../server/homeserver.ts";
import { safeFetch, SafeFetchError } from "../../server/media/safe_fetch.ts";
import { parseCidr } from "../../server/media/ip_ranges.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { webAppRoutes } from "../../server/web_assets.ts";
import { download, MEDIA_TEST_CONFIG, patternBytes, upload } from "../support/media_support.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { testPng } from "../support/test_images.ts";
import { assert, assertEquals } from "../unit/assert.ts";

/** A web site on loopback that counts every request it gets. */
function startSite() {
  const png = testPng(40, 30);
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests.push(`${req.headers.get("host")}${url.pathname}`);
    if (url.pathname.endsWith(".png")) {
      return new Response(png, { headers: { "Content-Type": "image/png" } });
    }
    if (url.pathname === "/broken-image") {
      return html(`<title>Broken</title><meta property="og:image" content="/b%zz.png">`);
    }
    if (url.pathname === "/long") {
      // Many long properties of two-byte characters: more than one KV value can hold.
      const metas = Array.from(
        { length: 30 },
        (_, i) => `<meta property="og:x${i}" content="${"€".repeat(2000)}">`,
      );
      const name = `og:${"n".repeat(5000)}`;
      return html(`<title>Long</title><meta property="${name}" content="x">${metas.join("")}`);
    }
    if (url.pathname === "/to-name") {
      return new Response(null, {
        status: 302,
        headers: { Location: `http://inward.test:${url.port}/page` },
      });
    }
    return html("<title>Page</title>");
  });
  return {
    server,
    port: server.addr.port,
    base: `http://127.0.0.1:${server.addr.port}`,
    requests,
  };
}

function html(text: string): Response {
  return new Response(text, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function previewPath(url: string): string {
  return `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent(url)}`;
}

function previewServer(allowedRanges: string[] = []): Promise<TestServer> {
  return startTestServer({
    config: {
      ...MEDIA_TEST_CONFIG,
      media: {
        url_preview: { enabled: true, allowed_ranges: allowedRanges, timeout_ms: 2000 },
      },
    },
  });
}

Deno.test("URL previews refuse IPv6 forms of private IPv4 addresses without connecting", async () => {
  const site = startSite();
  const server = await previewServer();
  const allowing = await previewServer(["127.0.0.1/32"]);
  try {
    const { accessToken: token } = await server.register("alice");
    const port = site.port;
    const hosts = [
      "[::ffff:127.0.0.1]", // IPv4-mapped
      "[::ffff:7f00:1]",
      "[::FFFF:7F00:0001]",
      "[0:0:0:0:0:ffff:127.0.0.1]",
      "[::ffff:0:127.0.0.1]", // IPv4-translated
      "[::ffff:0:7f00:1]",
      "[64:ff9b::127.0.0.1]", // NAT64, well-known prefix
      "[64:ff9b:1::7f00:1]", // NAT64, local-use prefix
      "[64:ff9b:1:ffff::a00:1]",
      "[::127.0.0.1]", // IPv4-compatible
      "[2002:7f00:1::1]", // 6to4
      "[2001:0:7f00:1::80ff:fffe]", // Teredo
      "[2001:0:808:808:0:0:80ff:fffe]", // Teredo, public server, loopback client
      "[2a00:1450:4001:80b:0:5efe:7f00:1]", // ISATAP interface ID
      "[fe80::1]",
      "localhost.",
      "LOCALHOST",
    ];
    for (const host of hosts) {
      const res = await server.request("GET", previewPath(`http://${host}:${port}/page`), {
        token,
      });
      assertEquals(res.status, 403, `${host}: ${JSON.stringify(res.body)}`);
      assertEquals(res.body.errcode, "M_FORBIDDEN", host);
    }
    assertEquals(site.requests, [], "the site was never contacted");

    // The same mapped address does reach the site once the operator allows loopback: the
    // refusals above are what kept it out.
    const { accessToken: other } = await allowing.register("bob");
    const allowed = await allowing.request(
      "GET",
      previewPath(`http://[::ffff:127.0.0.1]:${port}/page`),
      { token: other },
    );
    assertEquals(allowed.status, 200, JSON.stringify(allowed.body));
    assertEquals(allowed.body["og:title"], "Page");
    assertEquals(site.requests.length, 1);
  } finally {
    await server.close();
    await allowing.close();
    await site.server.shutdown();
  }
});

Deno.test("safe fetch: DNS answers are checked, and the checked address is the one used", async () => {
  const site = startSite();
  const answers: Record<string, { A?: string[]; AAAA?: string[] }> = {
    "rebind.test": { AAAA: ["::ffff:127.0.0.1"] },
    "mixed.test": { A: ["93.184.216.34"], AAAA: ["64:ff9b::a00:1"] },
    "isatap.test": { AAAA: ["2a00::5efe:c0a8:101"] },
    "ok.test": { A: ["127.0.0.1"] },
    "inward.test": { A: ["93.184.216.34"], AAAA: ["::ffff:10.0.0.1"] },
  };
  const resolveDns = (host: string, type: "A" | "AAAA") =>
    Promise.resolve(answers[host]?.[type] ?? []);
  const options = { maxBytes: 10_000, timeoutMs: 2000, resolveDns };
  const refused = async (url: string, allowedRanges = [parseCidr("127.0.0.1/32")!]) => {
    try {
      await safeFetch(url, { ...options, allowedRanges });
    } catch (err) {
      assert(err instanceof SafeFetchError, String(err));
      return err.code;
    }
    return "fetched";
  };
  try {
    assertEquals(await refused(`http://rebind.test:${site.port}/page`, []), "FORBIDDEN");
    assertEquals(await refused(`http://mixed.test:${site.port}/page`), "FORBIDDEN");
    assertEquals(await refused(`http://isatap.test:${site.port}/page`), "FORBIDDEN");
    assertEquals(await refused(`http://nothing.test:${site.port}/page`), "FAILED");
    assertEquals(site.requests, []);

    const ok = await safeFetch(`http://ok.test:${site.port}/page`, {
      ...options,
      allowedRanges: [parseCidr("127.0.0.1/32")!],
    });
    assertEquals(ok.status, 200);
    assertEquals(site.requests, [`ok.test:${site.port}/page`], "connected to the checked address");
    // A redirect's target name is resolved and checked like the first URL.
    assertEquals(await refused(`http://127.0.0.1:${site.port}/to-name`), "FORBIDDEN");
    assertEquals(site.requests.slice(1), [`127.0.0.1:${site.port}/to-name`]);
  } finally {
    await site.server.shutdown();
  }
});

Deno.test("URL previews: broken %-escapes and oversized pages answer cleanly", async () => {
  const site = startSite();
  const server = await previewServer(["127.0.0.1/32"]);
  try {
    const { accessToken: token } = await server.register("alice");
    const direct = await server.request("GET", previewPath(`${site.base}/a%zz.png`), { token });
    assertEquals(direct.status, 200, JSON.stringify(direct.body));
    assertEquals(direct.body["og:image:type"], "image/png");
    const image = await download(server, token, direct.body["og:image"]);
    assertEquals(image.status, 200);
    await image.body?.cancel();
    assert(
      image.headers.get("content-disposition")?.includes("a%25zz.png"),
      "the name is kept as written",
    );

    for (const path of ["/%E0%A4%A.png", "/%.png", "/%ff%fe.png"]) {
      const res = await server.request("GET", previewPath(`${site.base}${path}`), { token });
      assertEquals(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      assert(String(res.body["og:image"]).startsWith("mxc://"), path);
    }

    const page = await server.request("GET", previewPath(`${site.base}/broken-image`), {
      token,
    });
    assertEquals(page.status, 200, JSON.stringify(page.body));
    assertEquals(page.body["og:title"], "Broken");
    assert(String(page.body["og:image"]).startsWith("mxc://"), "the page's image is stored");

    const long = await server.request("GET", previewPath(`${site.base}/long`), { token });
    assertEquals(long.status, 200, JSON.stringify(long.body));
    assertEquals(long.body["og:title"], "Long");
    assert(JSON.stringify(long.body).length < 40_000, "the preview is bounded");

    const tooLong = await server.request(
      "GET",
      previewPath(`${site.base}/${"a".repeat(9000)}`),
      { token },
    );
    assertEquals(tooLong.status, 400);
    assertEquals(tooLong.body.errcode, "M_INVALID_PARAM");

    const notUrl = await server.request("GET", previewPath("http://[::ffff:127.0.0.1"), {
      token,
    });
    assertEquals(notUrl.status, 400);
  } finally {
    await server.close();
    await site.server.shutdown();
  }
});

Deno.test("web assets: names the build does not list never reach the file system", async () => {
  const server = await startTestServer();
  const dist = await Deno.makeTempDir();
  const listener = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const app = new Hono();
    app.route("/", webAppRoutes({} as Homeserver, { dist: new URL(`file://${dist}/`) }));
    return app.fetch(req);
  });
  const local = `http://127.0.0.1:${listener.addr.port}`;
  try {
    for (const name of ["a".repeat(10_000) + ".js", "b".repeat(300), "x.js.gz"]) {
      for (const method of ["GET", "HEAD"]) {
        const res = await fetch(`${server.baseUrl}/assets/${name}`, { method });
        assertEquals(res.status, 404, `${method} ${name.length} characters`);
        if (method === "GET") assertEquals((await res.json()).errcode, "M_NOT_FOUND");
        else await res.body?.cancel();
      }
    }

    await Deno.mkdir(`${dist}/assets`);
    await Deno.writeTextFile(`${dist}/assets/app-1.js`, "console.log(1)");
    await Deno.writeTextFile(`${dist}/assets/stray.js`, "not in the build");
    const manifest = (paths: string[]) =>
      Deno.writeTextFile(
        `${dist}/build.json`,
        JSON.stringify({ files: paths.map((path) => ({ path, bytes: 1, gzipBytes: 1 })) }),
      );
    await manifest(["/assets/app-1.js", "/index.html", "/assets/../build.json"]);
    const listed = await fetch(`${local}/assets/app-1.js`);
    assertEquals(listed.status, 200);
    assertEquals(await listed.text(), "console.log(1)");
    const stray = await fetch(`${local}/assets/stray.js`);
    assertEquals(stray.status, 404, "a file on disk that the build does not list");
    await stray.body?.cancel();
    const long = await fetch(`${local}/assets/${"c".repeat(10_000)}.js`);
    assertEquals(long.status, 404);
    await long.body?.cancel();

    // A rebuild's new files are served without a restart.
    await manifest(["/assets/app-1.js", "/assets/stray.js"]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const rebuilt = await fetch(`${local}/assets/stray.js`);
    assertEquals(rebuilt.status, 200);
    await rebuilt.body?.cancel();
  } finally {
    await server.close();
    await listener.shutdown();
    await Deno.remove(dist, { recursive: true });
  }
});

/** Registers a user and makes it a server admin. */
async function registerAdmin(server: TestServer) {
  const admin = await server.register("admin");
  await updateUser(server.hs.kv, admin.userId, (user) => ({ ...user, admin: true }));
  return admin;
}

Deno.test("admin media routes and media query parameters answer 400, never 500", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  try {
    const admin = await registerAdmin(server);
    const token = admin.accessToken;
    for (const size of [100, 300, 200]) await upload(server, token, await patternBytes(size));

    const expect = async (method: string, path: string, status: number, errcode?: string) => {
      const res = await server.request(method, path, { token });
      assertEquals(
        res.status,
        status,
        `${method} ${path.slice(0, 80)}: ${JSON.stringify(res.body)}`,
      );
      if (errcode) assertEquals(res.body.errcode, errcode, path.slice(0, 80));
      return res.body;
    };
    const largest = "/_synapse/admin/v1/media/largest";
    for (
      const query of [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=1e3",
        "limit=",
        "limit=1001",
        "limit=99999999999999999999",
        "limit=%zz",
        "from=-1",
        "from=x",
        "from=1.5",
        "from=99999999999999999999",
      ]
    ) {
      await expect("GET", `${largest}?${query}`, 400, "M_INVALID_PARAM");
    }
    const first = await expect("GET", `${largest}?limit=2`, 200);
    assertEquals(first.media.map((m: { media_length: number }) => m.media_length), [300, 200]);
    assertEquals(first.next_token, 2);
    const second = await expect("GET", `${largest}?limit=2&from=2`, 200);
    assertEquals(second.media.map((m: { media_length: number }) => m.media_length), [100]);
    assertEquals(second.next_token, undefined);
    assertEquals((await expect("GET", `${largest}?from=50`, 200)).media, []);

    const purge = "/_synapse/admin/v1/purge_media_cache";
    await expect("POST", purge, 400, "M_MISSING_PARAM");
    for (const query of ["before_ts=", "before_ts=-1", "before_ts=abc", "before_ts=1.5"]) {
      await expect("POST", `${purge}?${query}`, 400, "M_INVALID_PARAM");
    }
    assertEquals(await expect("POST", `${purge}?before_ts=0`, 200), { deleted: 0 });

    const media = "/_synapse/admin/v1/media";
    await expect("DELETE", `${media}/localhost/${"a".repeat(5000)}`, 400, "M_INVALID_PARAM");
    await expect("DELETE", `${media}/${"a".repeat(3000)}/abc`, 400, "M_INVALID_PARAM");
    await expect("DELETE", `${media}/localhost/%zz`, 400, "M_INVALID_PARAM");
    await expect("DELETE", `${media}/localhost/unknown`, 404, "M_NOT_FOUND");
    const users = "/_synapse/admin/v1/users";
    await expect("DELETE", `${users}/${"a".repeat(5000)}/media`, 400, "M_INVALID_PARAM");
    await expect("DELETE", `${users}/%zz/media`, 400, "M_INVALID_PARAM");
    await expect("DELETE", `${users}/${encodeURIComponent("@nobody:localhost")}/media`, 200);

    const mediaId = "localhost/abc";
    for (const query of ["allow_redirect=yes", "allow_remote=1", "animated=maybe"]) {
      await expect(
        "GET",
        `/_matrix/client/v1/media/thumbnail/${mediaId}?width=32&height=32&${query}`,
        400,
        "M_INVALID_PARAM",
      );
    }
    await expect(
      "GET",
      `/_matrix/client/v1/media/download/${mediaId}?allow_redirect=1`,
      400,
      "M_INVALID_PARAM",
    );
    await expect(
      "GET",
      `/_matrix/client/v1/media/download/${mediaId}?allow_redirect=true&timeout_ms=0`,
      404,
      "M_NOT_FOUND",
    );
  } finally {
    await server.close();
  }
});

Deno.test("one user's uploads and a purge of their media at once: no 5xx, usage adds up", async () => {
  const server = await startTestServer({ config: MEDIA_TEST_CONFIG });
  const kv = server.hs.kv;
  try {
    const admin = await registerAdmin(server);
    const user = await server.register("busy");
    const purgePath = `/_synapse/admin/v1/users/${encodeURIComponent(user.userId)}/media`;
    // Every upload and delete rewrites the user's usage record: 60 uploads of distinct bytes
    // with purges in between used to run out of optimistic retries (500/503).
    const statuses: number[] = [];
    const uploads = Array.from({ length: 60 }, async (_, i) => {
      const res = await upload(server, user.accessToken, await patternBytes(2000 + i, i + 1));
      statuses.push(res.status);
    });
    const purges = Array.from({ length: 6 }, async () => {
      const res = await server.request("DELETE", purgePath, { token: admin.accessToken });
      statuses.push(res.status);
    });
    await Promise.all([...uploads, ...purges]);
    assert(statuses.every((status) => status === 200), `statuses: ${statuses.join(",")}`);
    // A final purge leaves nothing, and the usage record agrees.
    assertEquals(
      (await server.request("DELETE", purgePath, { token: admin.accessToken })).status,
      200,
    );
    const usage = await kv.get<{ bytes: number; count: number }>(["media_usage", user.userId]);
    assertEquals(usage.value ?? { bytes: 0, count: 0 }, { bytes: 0, count: 0 });
  } finally {
    await server.close();
  }
});
