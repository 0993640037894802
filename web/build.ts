/**
 * `deno task build`: builds the web app into dist/, which the server serves at `/` and
 * `deno task compile` embeds (`--include dist`).
 *
 * ```
 * dist/index.html              the page; names this build's hashed files
 * dist/sw.js                   the service worker (fixed name, so it can update itself)
 * dist/manifest.webmanifest    the PWA manifest
 * dist/assets/app-HASH.js      the entry; matrix-js-sdk and its crypto are separate chunks
 * dist/assets/chunk-HASH.js    code-split chunks, loaded on demand
 * dist/assets/app-HASH.css     Tailwind 4 output for the classes web/src uses
 * dist/assets/crypto-HASH.wasm the Rust crypto (vodozemac) WASM of matrix-sdk-crypto-wasm
 * dist/assets/icon-*-HASH.*    icons
 * dist/build.json              what was built (sizes, entry, initial chunks; read by the bench)
 * *.gz                         gzip copies of compressible files, served when accepted
 * ```
 *
 * Flags: `--dev` (no minification, source maps), `--if-stale` (build only when dist/ is missing
 * or older than a file under web/ or deno.lock; `deno task start` and `test` use it).
 *
 * @module
 */

import * as esbuild from "esbuild";
import { compile, optimize } from "@tailwindcss/node";
import { Scanner } from "@tailwindcss/oxide";
import { gzipSync } from "node:zlib";
import { cryptoWasmPlugin } from "./build/crypto_wasm.ts";
import { contentHash } from "./build/hash.ts";
import { iconPng, iconSvg } from "./build/icons.ts";
import { type IconPaths, indexHtml, webManifest } from "./build/pages.ts";

const ROOT = new URL("../", import.meta.url);
const WEB = new URL("./", import.meta.url);
const SRC = new URL("./src/", import.meta.url);
/** Where the server looks for the build. */
export const DIST = new URL("../dist/", import.meta.url);

/** Files larger than this get a gzip copy. */
const GZIP_MIN_BYTES = 1024;
const COMPRESSIBLE = /\.(js|css|html|wasm|svg|webmanifest|json|txt)$/;

/** One built file. */
export interface BuiltFile {
  /** URL path, e.g. `/assets/app-3F2A.js`. */
  path: string;
  bytes: number;
  /** Size of the gzip copy (or of the gzipped content when no copy was kept). */
  gzipBytes: number;
}

/** What dist/build.json records. */
export interface BuildManifest {
  buildId: string;
  builtAt: string;
  dev: boolean;
  /** Newest modification time (ms) of the sources the build read. */
  sourceStamp: number;
  /** The entry script and the chunks it imports statically (what the first screen loads). */
  entry: string;
  initialScripts: string[];
  cryptoWasm: string;
  files: BuiltFile[];
}

/** Options of {@link buildWeb}. */
export interface BuildOptions {
  dev?: boolean;
  /** Print a summary. */
  log?: boolean;
}

function path(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** The newest modification time of the files the build reads. */
export async function sourceStamp(): Promise<number> {
  let newest = 0;
  async function walk(dir: URL): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else newest = Math.max(newest, (await Deno.stat(url)).mtime?.getTime() ?? 0);
    }
  }
  await walk(WEB);
  for (const file of ["deno.json", "deno.lock"]) {
    try {
      newest = Math.max(newest, (await Deno.stat(new URL(file, ROOT))).mtime?.getTime() ?? 0);
    } catch { /* absent */ }
  }
  return newest;
}

/** The manifest of the current build, or null when there is none. */
export async function readBuildManifest(dist: URL = DIST): Promise<BuildManifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(new URL("build.json", dist)));
  } catch {
    return null;
  }
}

/** Modules of matrix-js-sdk the app never runs, and the small stand-ins that replace them. */
const SDK_STUBS: Readonly<Record<string, string>> = {
  "embedded.js": "matrix/sdk_stubs/embedded.ts",
  "sliding-sync-sdk.js": "matrix/sdk_stubs/sliding_sync_sdk.ts",
};

/** Resolves the SDK's own imports of {@link SDK_STUBS} to the stand-ins in web/src. */
function sdkStubsPlugin(): esbuild.Plugin {
  return {
    name: "sdk-stubs",
    setup(build) {
      build.onResolve({ filter: /^\.\/(embedded|sliding-sync-sdk)\.js$/ }, (args) => {
        const stub = SDK_STUBS[args.path.slice(2)];
        if (!stub || !/[\\/]matrix-js-sdk[\\/]lib[\\/]/.test(args.importer)) return undefined;
        return { path: path(new URL(stub, SRC)) };
      });
    },
  };
}

async function buildScripts(out: URL, dev: boolean) {
  const assets = new URL("assets/", out);
  const wasm: { name?: string } = {};
  const result = await esbuild.build({
    absWorkingDir: path(ROOT),
    entryPoints: { app: path(new URL("main.tsx", SRC)) },
    outdir: path(assets),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome111", "firefox115", "safari16.4"],
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    assetNames: "[name]-[hash]",
    minify: !dev,
    sourcemap: dev ? "linked" : false,
    legalComments: dev ? "inline" : "linked",
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
    metafile: true,
    logLevel: "warning",
    plugins: [sdkStubsPlugin(), cryptoWasmPlugin(assets, wasm)],
  });
  if (!wasm.name) throw new Error("the crypto WASM was not found in the bundle");
  const outputs = result.metafile.outputs;
  const toUrlPath = (file: string) => `/assets/${file.split("/").pop()}`;
  // Dynamic imports are entry points too: the app's is the one made from main.tsx.
  const entryFile = Object.keys(outputs).find((file) =>
    outputs[file].entryPoint?.endsWith("main.tsx")
  );
  if (!entryFile) throw new Error("esbuild produced no entry");
  const initial = new Set<string>();
  const visit = (file: string) => {
    if (initial.has(file)) return;
    initial.add(file);
    for (const imp of outputs[file]?.imports ?? []) {
      if (imp.kind === "import-statement") visit(imp.path);
    }
  };
  visit(entryFile);
  return {
    entry: toUrlPath(entryFile),
    initialScripts: [...initial].map(toUrlPath),
    cryptoWasm: `/assets/${wasm.name}`,
  };
}

async function buildStyles(out: URL, dev: boolean): Promise<string> {
  const from = path(new URL("styles.css", SRC));
  const compiler = await compile(await Deno.readTextFile(from), {
    base: path(SRC),
    from,
    onDependency: () => {},
  });
  const scanner = new Scanner({ sources: compiler.sources });
  let css = compiler.build(scanner.scan());
  css = optimize(css, { file: from, minify: !dev }).code;
  const bytes = new TextEncoder().encode(css);
  const name = `app-${await contentHash(bytes)}.css`;
  await Deno.writeFile(new URL(`assets/${name}`, out), bytes);
  return `/assets/${name}`;
}

async function writeHashed(out: URL, base: string, ext: string, bytes: Uint8Array) {
  const name = `${base}-${await contentHash(bytes)}.${ext}`;
  await Deno.writeFile(new URL(`assets/${name}`, out), bytes);
  return `/assets/${name}`;
}

async function buildIcons(out: URL): Promise<IconPaths> {
  const encoder = new TextEncoder();
  return {
    svg: await writeHashed(out, "icon", "svg", encoder.encode(iconSvg())),
    png192: await writeHashed(out, "icon-192", "png", iconPng(192)),
    png512: await writeHashed(out, "icon-512", "png", iconPng(512)),
    maskable512: await writeHashed(
      out,
      "icon-maskable-512",
      "png",
      iconPng(512, { fullBleed: true }),
    ),
  };
}

async function buildServiceWorker(out: URL, buildId: string, precache: string[], dev: boolean) {
  await esbuild.build({
    absWorkingDir: path(ROOT),
    entryPoints: [path(new URL("sw.ts", SRC))],
    outfile: path(new URL("sw.js", out)),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["es2022"],
    minify: !dev,
    define: {
      __BUILD_ID__: JSON.stringify(buildId),
      __PRECACHE__: JSON.stringify(precache),
    },
    logLevel: "warning",
  });
}

async function listFiles(dir: URL, prefix = "/"): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      files.push(...await listFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else files.push(`${prefix}${entry.name}`);
  }
  return files.sort();
}

/** Writes gzip copies and returns every file with its sizes. */
async function compressAndList(out: URL): Promise<BuiltFile[]> {
  const files: BuiltFile[] = [];
  for (const file of await listFiles(out)) {
    const bytes = await Deno.readFile(new URL(`.${file}`, out));
    const gzip = gzipSync(bytes, { level: 9 });
    if (COMPRESSIBLE.test(file) && bytes.length >= GZIP_MIN_BYTES) {
      await Deno.writeFile(new URL(`.${file}.gz`, out), gzip);
    }
    files.push({ path: file, bytes: bytes.length, gzipBytes: gzip.length });
  }
  return files;
}

/** Builds the app into dist/ (built beside it, then swapped in). */
export async function buildWeb(options: BuildOptions = {}): Promise<BuildManifest> {
  const dev = options.dev ?? false;
  const started = performance.now();
  const stamp = await sourceStamp();
  const out = new URL(`../dist.tmp-${crypto.randomUUID().slice(0, 8)}/`, import.meta.url);
  await Deno.mkdir(new URL("assets/", out), { recursive: true });
  try {
    const scripts = await buildScripts(out, dev);
    const css = await buildStyles(out, dev);
    const icons = await buildIcons(out);
    await Deno.writeTextFile(new URL("manifest.webmanifest", out), webManifest(icons));
    const html = indexHtml({ ...scripts, css, icons });
    await Deno.writeTextFile(new URL("index.html", out), html);
    const buildId = await contentHash(new TextEncoder().encode(html));
    // The whole shell, the crypto WASM included (a signed-in user needs it to read encrypted
    // rooms offline); not the source maps and licence notes.
    const precache = (await listFiles(out)).filter((file) =>
      file !== "/index.html" && !file.endsWith(".map") && !file.endsWith(".LEGAL.txt")
    );
    await buildServiceWorker(out, buildId, precache, dev);
    const files = await compressAndList(out);
    const manifest: BuildManifest = {
      buildId,
      builtAt: new Date().toISOString(),
      dev,
      sourceStamp: stamp,
      ...scripts,
      files,
    };
    await Deno.writeTextFile(new URL("build.json", out), JSON.stringify(manifest, null, 2));
    await Deno.remove(DIST, { recursive: true }).catch(() => {});
    await Deno.rename(out, DIST);
    if (options.log) {
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      const js = files.filter((f) => f.path.endsWith(".js") && f.path !== "/sw.js");
      const initial = files.filter((f) => scripts.initialScripts.includes(f.path));
      const wasmFile = files.find((f) => f.path === scripts.cryptoWasm);
      const sum = (list: BuiltFile[]) => list.reduce((n, f) => n + f.gzipBytes, 0);
      console.log(
        `built dist/ (${dev ? "dev" : "production"}) in ${
          Math.round(performance.now() - started)
        } ms: first-screen JS ${kb(sum(initial))} gzip, all JS ${kb(sum(js))} gzip, ` +
          `crypto WASM ${kb(wasmFile?.gzipBytes ?? 0)} gzip`,
      );
    }
    return manifest;
  } catch (err) {
    await Deno.remove(out, { recursive: true }).catch(() => {});
    throw err;
  } finally {
    await esbuild.stop();
  }
}

/** Whether dist/ is missing or older than the sources. */
export async function buildIsStale(): Promise<boolean> {
  const manifest = await readBuildManifest();
  if (!manifest) return true;
  return (await sourceStamp()) > manifest.sourceStamp;
}

const LOCK = new URL("../dist.lock/", import.meta.url);
/** A lock older than this was left by a build that died. */
const LOCK_STALE_MS = 120_000;

async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await Deno.mkdir(LOCK); // atomic: exactly one process creates it
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      const age = Date.now() - ((await Deno.stat(LOCK).catch(() => null))?.mtime?.getTime() ?? 0);
      if (age > LOCK_STALE_MS) await Deno.remove(LOCK).catch(() => {});
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(LOCK).catch(() => {});
  }
}

/**
 * Builds unless dist/ is current. Safe to call from several processes at once (test files
 * running in parallel): one builds, the others wait for it and then find dist/ current.
 */
export async function ensureWebBuild(options: BuildOptions = {}): Promise<void> {
  if (!(await buildIsStale())) return;
  await withBuildLock(async () => {
    if (await buildIsStale()) await buildWeb(options);
  });
}

if (import.meta.main) {
  const args = new Set(Deno.args);
  for (const arg of args) {
    if (arg !== "--dev" && arg !== "--if-stale") {
      console.error(`unknown argument ${arg} (use --dev, --if-stale)`);
      Deno.exit(2);
    }
  }
  const options = { dev: args.has("--dev"), log: true };
  if (args.has("--if-stale")) await ensureWebBuild(options);
  else await withBuildLock(() => buildWeb(options));
}
