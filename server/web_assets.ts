/**
 * Serves the web app (the build in dist/, see web/build.ts) at `/`: index.html for the app's
 * routes, hashed files under /assets/ with immutable caching, the service worker at /sw.js and
 * the manifest, each with a strict Content-Security-Policy. Only the paths listed here are
 * claimed, so /_matrix, /_synapse and /.well-known stay with their own modules.
 *
 * The build is read through a URL relative to this module, so a binary made by
 * `deno compile --include dist` (`deno task compile`) serves the copy embedded in it. Only
 * files the build lists in its build.json are read under /assets/: a request never turns an
 * arbitrary name into a file-system path.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { MatrixError } from "./errors.ts";
import type { Homeserver } from "./homeserver.ts";
import type { AppEnv } from "./request_context.ts";

/** Where the build lives (next to server/ in the source tree and in a compiled binary). */
export const DEFAULT_DIST = new URL("../dist/", import.meta.url);

/** The app's routes (web/src/state/router.ts); each answers with index.html. */
export const APP_PATHS: readonly string[] = [
  "/",
  "/sign-in",
  "/sign-up",
  "/settings",
  "/admin",
  "/admin/:section{[a-z_]+}",
  "/rooms/:roomId",
];

/**
 * The app's Content-Security-Policy. Scripts only from this origin, plus
 * 'wasm-unsafe-eval' so the Rust crypto WASM can be compiled; no inline script or style;
 * connections to this origin or any https server (the user may pick another homeserver) and
 * to local development servers; images (map tiles among them, see `[web] map_tile_url`) from
 * this origin, https servers and local development servers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob: https: http://localhost:* http://127.0.0.1:*",
  "media-src 'self' blob: https:",
  "font-src 'self'",
  "connect-src 'self' https: wss: http://localhost:* http://127.0.0.1:* ws://localhost:* ws://127.0.0.1:*",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every response of the app. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Permissions-Policy":
    "camera=(self), microphone=(self), geolocation=(self), display-capture=(self)",
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  wasm: "application/wasm",
  svg: "image/svg+xml",
  png: "image/png",
  webmanifest: "application/manifest+json",
  json: "application/json",
  map: "application/json",
  txt: "text/plain; charset=utf-8",
};

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";
/** A name missing from the table re-reads build.json at most this often (a rebuild's files). */
const RELOAD_MS = 1000;
const ASSET_PATH = /^\/assets\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Options of {@link webAppRoutes}. */
export interface WebAppOptions {
  /** The build to serve (default {@link DEFAULT_DIST}). */
  dist?: URL;
}

async function readOptional(url: URL): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(url);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.IsADirectory) {
      return null;
    }
    throw err;
  }
}

/** The /assets/ paths build.json lists (empty without a build). */
async function readAssetTable(dist: URL): Promise<ReadonlySet<string>> {
  try {
    const manifest = JSON.parse(await Deno.readTextFile(new URL("build.json", dist)));
    const files: unknown[] = Array.isArray(manifest?.files) ? manifest.files : [];
    const paths = files.map((file) => (file as { path?: unknown })?.path);
    return new Set(paths.filter((p): p is string => typeof p === "string" && ASSET_PATH.test(p)));
  } catch {
    return new Set();
  }
}

/**
 * Whether a path is a file of the current build: answered from the table, which is read again
 * when a name is missing and the table is older than {@link RELOAD_MS}.
 */
function assetTable(dist: URL): (path: string) => Promise<boolean> {
  let table: Promise<ReadonlySet<string>> | null = null;
  let loadedAt = 0;
  return async (path) => {
    if (table && (await table).has(path)) return true;
    if (!table || Date.now() - loadedAt >= RELOAD_MS) {
      loadedAt = Date.now();
      table = readAssetTable(dist);
    }
    return (await table).has(path);
  };
}

async function etagOf(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  const hex = Array.from(
    new Uint8Array(digest).subarray(0, 12),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `"${hex}"`;
}

function acceptsGzip(c: Context<AppEnv>): boolean {
  return /\bgzip\b/i.test(c.req.header("accept-encoding") ?? "");
}

function notModified(c: Context<AppEnv>, etag: string): boolean {
  const header = c.req.header("if-none-match");
  if (!header) return false;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/**
 * Answers with one file of the build: the gzip copy when the client accepts it, 304 when the
 * client's copy is current, null when the file does not exist.
 */
async function serveFile(
  c: Context<AppEnv>,
  dist: URL,
  file: string,
  extra: Record<string, string> = {},
): Promise<Response | null> {
  const url = new URL(`.${file}`, dist);
  const gzip = acceptsGzip(c) ? await readOptional(new URL(`${url.href}.gz`)) : null;
  const body = gzip ?? await readOptional(url);
  if (!body) return null;
  const ext = file.slice(file.lastIndexOf(".") + 1);
  // Hashed assets are named by their content; other files are hashed here (they are small).
  const tag = file.startsWith("/assets/") ? `"${file.slice(8)}"` : await etagOf(body);
  const etag = tag.replace(/"$/, gzip ? '-gz"' : '"');
  const headers = new Headers({
    ...SECURITY_HEADERS,
    "Content-Type": CONTENT_TYPES[ext] ?? "application/octet-stream",
    "Cache-Control": file.startsWith("/assets/") ? IMMUTABLE : REVALIDATE,
    ETag: etag,
    Vary: "Accept-Encoding",
    ...extra,
  });
  if (gzip) headers.set("Content-Encoding", "gzip");
  if (notModified(c, etag)) return new Response(null, { status: 304, headers });
  if (c.req.method === "HEAD") {
    headers.set("Content-Length", String(body.length));
    return new Response(null, { status: 200, headers });
  }
  return new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gemeng</title></head>
<body><h1>gemeng</h1><p>The web app is not built. Run <code>deno task build</code>, then reload.
The Matrix APIs under /_matrix work without it.</p></body></html>
`;

/** 404 for a file the build does not have (the app's notFound would answer 405 here). */
function noSuchFile(c: Context<AppEnv>): Response {
  const path = c.req.path.length > 200 ? `${c.req.path.slice(0, 200)}…` : c.req.path;
  return new MatrixError("M_NOT_FOUND", `No such file: ${path}`, { status: 404 })
    .toResponse();
}

/** The app's runtime settings (`/config.json`), from the `[web]` section. */
export function webAppConfig(hs: Homeserver): Record<string, unknown> {
  const web = hs.config.web;
  return {
    map: {
      tile_url: web.mapTileUrl,
      attribution: web.mapAttribution,
      max_zoom: web.mapMaxZoom,
      // "" leaves "Open in map" to the app: Geoportail.lu in Luxembourg, OpenStreetMap elsewhere.
      link_url: web.mapLinkUrl,
    },
    // Which new rooms this server encrypts whatever the client asks (`[e2ee] default_for`).
    e2ee: { default_for: hs.config.e2ee.defaultFor },
  };
}

/** The route module that serves the web app. */
export function webAppRoutes(hs: Homeserver, options: WebAppOptions = {}): Hono<AppEnv> {
  const dist = options.dist ?? DEFAULT_DIST;
  const isAsset = assetTable(dist);
  const app = new Hono<AppEnv>();

  const page = async (c: Context<AppEnv>) => {
    const res = await serveFile(c, dist, "/index.html");
    if (res) return res;
    return new Response(NOT_BUILT_PAGE, {
      status: 503,
      headers: {
        ...SECURITY_HEADERS,
        "Content-Type": CONTENT_TYPES.html,
        "Cache-Control": "no-store",
      },
    });
  };
  for (const path of APP_PATHS) app.get(path, page);

  app.get("/assets/:file{[A-Za-z0-9][A-Za-z0-9._-]*}", async (c) => {
    const path = `/assets/${c.req.param("file")}`;
    if (!(await isAsset(path))) return noSuchFile(c);
    return await serveFile(c, dist, path) ?? noSuchFile(c);
  });
  app.get("/sw.js", async (c) => {
    return await serveFile(c, dist, "/sw.js", { "Service-Worker-Allowed": "/" }) ??
      noSuchFile(c);
  });
  app.get("/config.json", (c) => {
    const headers = {
      ...SECURITY_HEADERS,
      "Content-Type": CONTENT_TYPES.json,
      "Cache-Control": REVALIDATE,
    };
    const body = c.req.method === "HEAD" ? null : JSON.stringify(webAppConfig(hs));
    return new Response(body, { status: 200, headers });
  });
  app.get("/manifest.webmanifest", async (c) => {
    return await serveFile(c, dist, "/manifest.webmanifest") ?? noSuchFile(c);
  });

  return app;
}
