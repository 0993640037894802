/**
 * The web app's runtime settings: the `[web]` config section (the map tile source), its
 * validation, and `/config.json` where the app reads it, with the app's headers; and that the
 * server refuses to start on a bad tile template with a message naming the key.
 */

import { ConfigError, DEFAULT_MAP_TILE_URL, loadConfig, parseConfig } from "../../server/config.ts";
import { CONTENT_SECURITY_POLICY } from "../../server/web_assets.ts";
import { startTestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function configError(text: string): ConfigError {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${text}`);
}

Deno.test("web config: [web] defaults to Geoportail.lu's base map", async () => {
  const config = await loadConfig();
  assertEquals(config.web, {
    mapTileUrl: DEFAULT_MAP_TILE_URL,
    mapAttribution: "© geoportail.lu (ACT), © OpenStreetMap contributors",
    mapMaxZoom: 19,
    mapLinkUrl: "",
  });
  assertEquals(parseConfig("").web, config.web);
  assert(DEFAULT_MAP_TILE_URL.startsWith("https://wmts1.geoportail.lu/opendata/wmts/basemap/"));
});

Deno.test("web config: another tile source, and its own credit", () => {
  const config = parseConfig(`
[web]
map_tile_url = "https://tile.example.org/{z}/{x}/{y}.png"
map_attribution = "© Example"
map_max_zoom = 17
`);
  assertEquals(config.web, {
    mapTileUrl: "https://tile.example.org/{z}/{x}/{y}.png",
    mapAttribution: "© Example",
    mapMaxZoom: 17,
    mapLinkUrl: "",
  });
  // Another source without a credit does not borrow Geoportail.lu's.
  const bare = parseConfig(`[web]\nmap_tile_url = "http://127.0.0.1:8080/t/{z}/{y}/{x}"\n`);
  assertEquals(bare.web.mapAttribution, "");
});

Deno.test("web config: a bad tile template or value is a clear config error", () => {
  const cases: [string, string, RegExp][] = [
    [`map_tile_url = "https://tile.example.org/{z}/{x}.png"`, "web.map_tile_url", /missing \{y\}/],
    [
      `map_tile_url = "https://{s}.tile.example.org/{z}/{x}/{y}.png"`,
      "web.map_tile_url",
      /unknown \{s\}/,
    ],
    [`map_tile_url = "tiles/{z}/{x}/{y}.png"`, "web.map_tile_url", /http\(s\) URL/],
    [`map_tile_url = "ftp://tile.example.org/{z}/{x}/{y}"`, "web.map_tile_url", /http\(s\) URL/],
    [`map_tile_url = 5`, "web.map_tile_url", /expected a string/],
    [`map_max_zoom = 30`, "web.map_max_zoom", /from 1 to 22/],
    [`map_max_zoom = 10.5`, "web.map_max_zoom", /integer/],
    [`map_style = "x"`, "web.map_style", /unknown key/],
    [`map_link_url = "http://maps.example/{lat}/{lon}"`, "web.map_link_url", /https URL/],
    [`map_link_url = "https://maps.example/{lat}"`, "web.map_link_url", /\{lat\} and \{lon\}/],
    [`map_link_url = "https://maps.example/{q}/{x}/{y}"`, "web.map_link_url", /map link/],
  ];
  for (const [line, key, message] of cases) {
    const err = configError(`[web]\n${line}\n`);
    assertEquals(err.key, key, line);
    assertEquals(err.code, "CONFIG_INVALID");
    assert(message.test(err.message), `${line}: ${err.message}`);
  }
});

Deno.test("web config: /config.json serves the map settings with the app's headers", async () => {
  const server = await startTestServer({
    config: {
      web: {
        map_tile_url: "https://tiles.example.lu/{z}/{x}/{y}.png",
        map_attribution: "© Tiles",
        map_max_zoom: 18,
        map_link_url: "https://maps.example.lu/?lat={lat}&lon={lon}&z={zoom}",
      },
    },
  });
  try {
    const res = await fetch(`${server.baseUrl}/config.json`);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "application/json");
    assertEquals(res.headers.get("cache-control"), "no-cache");
    assertEquals(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assertEquals(await res.json(), {
      map: {
        tile_url: "https://tiles.example.lu/{z}/{x}/{y}.png",
        attribution: "© Tiles",
        max_zoom: 18,
        link_url: "https://maps.example.lu/?lat={lat}&lon={lon}&z={zoom}",
      },
      e2ee: { default_for: "invite" },
    });
    const head = await fetch(`${server.baseUrl}/config.json`, { method: "HEAD" });
    assertEquals(head.status, 200);
    assertEquals(await head.text(), "");
    // The app's images may come from https tile servers (and local ones in development).
    assert(/img-src [^;]*https:/.test(CONTENT_SECURITY_POLICY));
  } finally {
    await server.close();
  }
});

Deno.test("web config: the server does not start with a bad tile template", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-web-config-" });
  try {
    const path = `${dir}/gemeng.toml`;
    await Deno.writeTextFile(
      path,
      `data_dir = "${dir}/data"\n[web]\nmap_tile_url = "https://tiles.example.lu/{z}/{x}.png"\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve", "--config", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 2, stderr);
    assert(stderr.includes("web.map_tile_url"), stderr);
    assert(stderr.includes("missing {y}"), stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
