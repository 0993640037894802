/**
 * The web section: what the app costs a browser. Sizes come from the production build
 * (dist/build.json) and are compared with the gzip budgets for app JavaScript: 120 KB before the
 * first screen, 450 KB for every chunk (the crypto WASM is reported apart; it loads after
 * sign-in). The time to the first screen is
 * measured in headless Chromium with a cold cache, against the time the same browser needs to
 * show a one-line page from a bare Deno server in the same run. The time to the room list of a
 * signed-in user is measured on a new device (cold cache, new crypto store) and on reopening
 * (service worker and sync cache), against the 1.5 s target.
 */

import type { Browser, Page } from "playwright-core";
import { buildWeb, DIST, readBuildManifest } from "../web/build.ts";
import { haveChromium, launchChromium } from "../tests/browser/chromium.ts";
import { startTestServer } from "../tests/support/test_server.ts";
import type { BenchRow } from "./report.ts";

/** The budget for the app JavaScript the first screen needs, gzip (issue 15). */
export const FIRST_SCREEN_BUDGET_KB = 120;
/** The budget for all app JavaScript, every chunk, gzip (issue 15). */
export const JS_BUDGET_KB = 450;
/** The target for an interactive first screen, ms (issue 7). */
export const FIRST_SCREEN_TARGET_MS = 1500;

const SECTION = "web";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Loads `url` in a fresh context and returns the page's time to `mark` (ms). */
async function timeToMark(browser: Browser, url: string, mark: string): Promise<number> {
  const context = await browser.newContext({ serviceWorkers: "block" });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForFunction((name) => performance.getEntriesByName(name).length > 0, mark);
    return await page.evaluate((name) => performance.getEntriesByName(name)[0].startTime, mark);
  } finally {
    await context.close();
  }
}

/** A page as small as a page can be: HTML plus a one-line module script that sets a mark. */
function startBlankPageServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname === "/m.js") {
      return new Response(`performance.mark("blank:first-screen");`, {
        headers: { "content-type": "text/javascript" },
      });
    }
    return new Response(
      `<!doctype html><title>blank</title><script type="module" src="/m.js"></script><p>x</p>`,
      { headers: { "content-type": "text/html; charset=utf-8" } },
    );
  });
}

async function sizeRows(): Promise<BenchRow[]> {
  let build = await readBuildManifest(DIST);
  if (!build || build.dev) build = await buildWeb();
  const kb = (bytes: number) => bytes / 1024;
  const gzipOf = (paths: string[]) =>
    build.files.filter((f) => paths.includes(f.path)).reduce((n, f) => n + f.gzipBytes, 0);
  const allJs = build.files.filter((f) => f.path.startsWith("/assets/") && f.path.endsWith(".js"))
    .map((f) => f.path);
  const firstScreen = kb(gzipOf(build.initialScripts));
  const all = kb(gzipOf(allJs));
  const wasm = build.files.find((f) => f.path === build.cryptoWasm);
  const css = kb(gzipOf(build.files.filter((f) => f.path.endsWith(".css")).map((f) => f.path)));
  return [
    {
      section: SECTION,
      name: "app JS before the first screen (gzip)",
      value: firstScreen,
      unit: "KB",
      ceilingName: "budget",
      ceiling: FIRST_SCREEN_BUDGET_KB,
      ratio: FIRST_SCREEN_BUDGET_KB / firstScreen,
      note: `${build.initialScripts.length} file(s); the SDK loads after it`,
    },
    {
      section: SECTION,
      name: "app JS, all chunks, without crypto WASM (gzip)",
      value: all,
      unit: "KB",
      ceilingName: "budget",
      ceiling: JS_BUDGET_KB,
      ratio: JS_BUDGET_KB / all,
      note: `${allJs.length} files, matrix-js-sdk and crypto bindings included`,
    },
    {
      section: SECTION,
      name: "crypto WASM (gzip)",
      value: kb(wasm?.gzipBytes ?? 0),
      unit: "KB",
      note: `not in the budget; ${(kb(wasm?.bytes ?? 0) / 1024).toFixed(1)} MB uncompressed`,
    },
    { section: SECTION, name: "CSS (gzip)", value: css, unit: "KB" },
  ];
}

async function timingRows(quick: boolean): Promise<BenchRow[]> {
  const runs = quick ? 3 : 10;
  const server = await startTestServer();
  const blank = startBlankPageServer();
  const browser = await launchChromium();
  try {
    const blankUrl = `http://127.0.0.1:${blank.addr.port}/`;
    // One warm-up of each, so the browser's own start-up is not counted.
    await timeToMark(browser, blankUrl, "blank:first-screen");
    await timeToMark(browser, server.baseUrl, "gemeng:first-screen");
    const blankTimes: number[] = [];
    const appTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      blankTimes.push(await timeToMark(browser, blankUrl, "blank:first-screen"));
      appTimes.push(await timeToMark(browser, server.baseUrl, "gemeng:first-screen"));
    }
    const app = median(appTimes);
    const ceiling = median(blankTimes);
    return [{
      section: SECTION,
      name: "time to the sign-in screen, cold cache",
      value: app,
      unit: "ms",
      ceilingName: "one-line page, same browser",
      ceiling,
      ratio: ceiling / app,
      note: `median of ${runs}; target ${FIRST_SCREEN_TARGET_MS} ms`,
    }];
  } finally {
    await browser.close();
    await blank.shutdown();
    await server.close();
  }
}

/** Milliseconds from navigation until the room list shows `rooms` rows. */
async function roomListTime(page: Page, rooms: number): Promise<number> {
  const rows = page.getByRole("navigation", { name: "Conversation list" }).getByRole("listitem");
  await rows.nth(rooms - 1).waitFor({ timeout: 30_000 });
  // Page code as source text: this module is type-checked without the DOM.
  return await page.evaluate<number>("performance.now()");
}

/** Resolves once a service worker controls the page. */
const CONTROLLED = `new Promise((resolve) => navigator.serviceWorker.controller
  ? resolve(true)
  : navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true)))`;

async function roomListRows(quick: boolean): Promise<BenchRow[]> {
  const runs = quick ? 2 : 5;
  const roomCount = quick ? 10 : 50;
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const user = await server.register("bench");
    for (let i = 0; i < roomCount; i++) {
      const res = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: user.accessToken,
        body: { name: `Room ${i}`, preset: "private_chat" },
      });
      if (res.status !== 200) throw new Error(`createRoom: ${JSON.stringify(res.body)}`);
    }
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      // A new device each run: a fresh profile, crypto store and sync cache.
      const device = await server.login("bench", user.password);
      const session = JSON.stringify({
        homeserverUrl: server.baseUrl,
        userId: device.userId,
        deviceId: device.deviceId,
        accessToken: device.accessToken,
      });
      const context = await browser.newContext();
      try {
        await context.addInitScript((value) => {
          if (!localStorage.getItem("gemeng.session")) {
            localStorage.setItem("gemeng.session", value);
          }
        }, session);
        const page = await context.newPage();
        await page.goto(server.baseUrl, { waitUntil: "commit" });
        cold.push(await roomListTime(page, roomCount));
        await page.evaluate(CONTROLLED);
        await page.reload({ waitUntil: "commit" });
        warm.push(await roomListTime(page, roomCount));
      } finally {
        await context.close();
      }
    }
    const row = (name: string, values: number[], note: string): BenchRow => ({
      section: SECTION,
      name,
      value: median(values),
      unit: "ms",
      ceilingName: "target",
      ceiling: FIRST_SCREEN_TARGET_MS,
      ratio: FIRST_SCREEN_TARGET_MS / median(values),
      note: `median of ${runs}, ${roomCount} rooms; ${note}`,
    });
    return [
      row("time to the room list, new device", cold, "cold cache, new crypto store"),
      row("time to the room list, reopened", warm, "service worker and sync cache"),
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Runs the web section. */
export async function runWebBench(options: { quick: boolean }): Promise<BenchRow[]> {
  const rows = await sizeRows();
  if (!haveChromium()) {
    console.warn("web bench: /usr/bin/chromium is missing; timings skipped");
    return rows;
  }
  rows.push(...await timingRows(options.quick));
  rows.push(...await roomListRows(options.quick));
  return rows;
}
