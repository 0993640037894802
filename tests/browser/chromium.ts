/**
 * Headless Chromium for the browser tests and the web bench: Debian's /usr/bin/chromium
 * driven by playwright-core, each launch with a fresh profile. Tests skip (with a message)
 * only when that binary is missing.
 *
 * @module
 */

import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { ensureWebBuild } from "../../web/build.ts";

/** Debian's Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Whether Chromium is installed. */
export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

/** The reason browser tests are skipped, or null when they run. */
export const SKIP_REASON: string | null = haveChromium()
  ? null
  : `browser tests skipped: ${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;
if (SKIP_REASON) console.warn(SKIP_REASON);

/** A launched browser with one context (its own fresh profile). */
export interface BrowserSession {
  context: BrowserContext;
  /** Closes the browser and deletes the profile. */
  close(): Promise<void>;
}

/** Options of {@link launchBrowser}. */
export interface LaunchOptions {
  /** The browser's language (navigator.languages), e.g. `de-DE`. */
  locale?: string;
  viewport?: { width: number; height: number };
  /** Fake camera and microphone (`--use-fake-device-for-media-stream`), allowed without asking. */
  fakeMedia?: boolean;
  /** A position the page's geolocation reports (permission granted). */
  geolocation?: { latitude: number; longitude: number };
  /** Permissions granted to every origin (e.g. "notifications", "clipboard-read"). */
  permissions?: string[];
}

const FAKE_MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"];

/** Launches Chromium with a fresh profile (and builds the app first if it is out of date). */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserSession> {
  await ensureWebBuild();
  const profile = await Deno.makeTempDir({ prefix: "gemeng-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: options.fakeMedia ? [...CHROMIUM_ARGS, ...FAKE_MEDIA_ARGS] : CHROMIUM_ARGS,
    locale: options.locale ?? "en-GB",
    viewport: options.viewport ?? { width: 1024, height: 768 },
    serviceWorkers: "allow",
    geolocation: options.geolocation,
    permissions: [
      ...(options.permissions ?? []),
      ...(options.geolocation ? ["geolocation"] : []),
      ...(options.fakeMedia ? ["camera", "microphone"] : []),
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Launches Chromium without a profile of its own (playwright gives it a temporary one), for
 * measurements that want a fresh context, and so a cold cache, per run.
 */
export async function launchChromium(): Promise<Browser> {
  await ensureWebBuild();
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
}
