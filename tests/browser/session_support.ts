/**
 * Browser-side set-up shared by the browser tests: registering a test, a fresh server and
 * browser, a page that collects its errors, signing in through the login form, opening a room
 * (to attach files, or its settings), attaching files, and polling for a condition.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { until } from "../support/until.ts";
import { assertEquals } from "../unit/assert.ts";
import { type BrowserSession, launchBrowser, type LaunchOptions, SKIP_REASON } from "./chromium.ts";

/**
 * Registers a browser test, skipped where Chromium is missing. Chromium's pipes and the SDK's
 * timers outlive single steps, so the sanitizers are off and each test closes what it opened.
 */
export function browserTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: SKIP_REASON !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** A {@link browserTest} for a file whose test names all start with `prefix`. */
export function browserTestsNamed(
  prefix: string,
): (name: string, fn: (t: Deno.TestContext) => Promise<void>) => void {
  return (name, fn) => browserTest(prefix + name, fn);
}

/** A 2×2 PNG, for an avatar or an attachment. */
export const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4YGAARAwQCgAhzgSBU+xT6wAAAABJRU5ErkJggg==",
  "base64",
);

/** The localpart of a user ID: `anna` for `@anna:localhost`. */
export function localpartOf(user: { userId: string }): string {
  return user.userId.slice(1).split(":")[0];
}

/** A page and the errors it reported while the test ran. */
export interface WatchedPage {
  page: Page;
  errors: string[];
}

/**
 * Opens a page with `timeoutMs` as its default timeout and collects what it throws into
 * `errors`; with `csp`, also the console's Content-Security-Policy errors. A `label` prefixes
 * each error (for tests with several people). With GEMENG_BROWSER_LOG set, the page's console
 * and exceptions are printed.
 */
export async function openWatchedPage(
  context: BrowserContext,
  options: { timeoutMs: number; label?: string; csp?: boolean },
): Promise<WatchedPage> {
  const page = await context.newPage();
  page.setDefaultTimeout(options.timeoutMs);
  const errors: string[] = [];
  const prefix = options.label ? `${options.label}: ` : "";
  page.on("pageerror", (err) => errors.push(prefix + err.message));
  if (options.csp) {
    page.on("console", (msg) => {
      if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
        errors.push(prefix + msg.text());
      }
    });
  }
  if (Deno.env.get("GEMENG_BROWSER_LOG")) {
    const who = options.label ?? "page";
    page.on("console", (msg) => console.log(`[${who} ${msg.type()}] ${msg.text()}`));
    page.on("pageerror", (err) => console.log(`[${who} error] ${err.stack}`));
  }
  return { page, errors };
}

/** Runs `fn` with a fresh server and a fresh browser; closes both afterwards, whatever happened. */
export async function withServerAndBrowser(
  options: { config?: Record<string, unknown>; browser?: LaunchOptions },
  fn: (server: TestServer, browser: BrowserSession) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ config: options.config });
  const browser = await launchBrowser(options.browser);
  try {
    await fn(server, browser);
  } finally {
    await browser.close();
    await server.close();
  }
}

/**
 * Runs `fn` on a fresh server and one page of a fresh browser, then fails if the page threw or
 * broke its Content-Security-Policy; closes both either way.
 */
export async function withApp(
  options: {
    timeoutMs: number;
    config?: Record<string, unknown>;
    browser?: LaunchOptions;
    init?: string;
  },
  fn: (page: Page, server: TestServer) => Promise<void>,
): Promise<void> {
  await withServerAndBrowser(options, async (server, browser) => {
    const { page, errors } = await openWatchedPage(browser.context, {
      timeoutMs: options.timeoutMs,
      csp: true,
    });
    if (options.init) await page.addInitScript(options.init);
    await fn(page, server);
    assertEquals(errors, [], "the page threw or broke its Content-Security-Policy");
  });
}

/** A person's own browser and page, with the errors the page reported. */
export interface BrowserPerson extends WatchedPage {
  browser: BrowserSession;
}

/**
 * Runs `fn` on a fresh server (encryption off unless `config` says otherwise) with alice and
 * bob registered. Each browser `fn` adds to `people` must end without page errors or CSP
 * violations; all of them and the server are closed afterwards.
 */
export async function withAliceAndBob(
  options: { config?: Record<string, unknown> },
  fn: (
    ctx: { server: TestServer; alice: TestUser; bob: TestUser; people: BrowserPerson[] },
  ) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({
    config: { e2ee: { default_for: "off" }, ...options.config },
  });
  const people: BrowserPerson[] = [];
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    await fn({ server, alice, bob, people });
    assertEquals(people.flatMap((p) => p.errors), [], "the pages threw or broke their CSP");
  } finally {
    for (const person of people) await person.browser.close();
    await server.close();
  }
}

/**
 * Opens the app, waits for the sign-in screen and submits the login form as `user`, without
 * waiting for what comes next (for tests that go straight on to a room link or watch the first
 * screens themselves).
 */
export async function submitSignIn(
  page: Page,
  server: TestServer,
  user: { userId: string; password: string },
): Promise<void> {
  await page.goto(server.baseUrl);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Username").fill(localpartOf(user));
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Signs in through the login form as `user` and waits for the conversation list. */
export async function signIn(
  page: Page,
  server: TestServer,
  user: { userId: string; password: string },
): Promise<void> {
  await submitSignIn(page, server, user);
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

/**
 * Clicks `link` and waits for `arrived` (the heading of the screen it leads to). A click can land
 * while the list under the pointer is still being laid out (lazy parts of the first screen come in
 * after the first sync), so a click that led nowhere after a few seconds is made once or twice
 * more; the destination must still show in the end.
 */
export async function clickThrough(link: Locator, arrived: Locator): Promise<void> {
  await link.click();
  for (let retry = 0; retry < 2; retry++) {
    try {
      await arrived.waitFor({ timeout: 5_000 });
      return;
    } catch {
      // The click led nowhere yet: once the link is there, click it again.
    }
    await link.click({ timeout: 2_000 }).catch(() => {});
  }
  await arrived.waitFor();
}

/** Opens the named room from the conversation list and waits until files can be attached. */
export async function openRoomForFiles(page: Page, name: string): Promise<void> {
  await clickThrough(
    page.getByRole("navigation", { name: "Conversation list" })
      .getByRole("link", { name, exact: true }),
    page.getByRole("heading", { name, exact: true }),
  );
  await page.getByRole("button", { name: "Attach file" }).waitFor();
}

/**
 * Opens the named room from the room list, then its settings; returns the settings dialog once
 * it shows.
 */
export async function openRoomSettings(page: Page, name: string): Promise<Locator> {
  await clickThrough(
    page.getByRole("link", { name }),
    page.getByRole("heading", { name }),
  );
  const settings = page.getByRole("dialog", { name: `Settings of ${name}` });
  await page.getByRole("button", { name: "Room settings" }).click();
  await settings.waitFor();
  return settings;
}

/** Picks files through the "Attach file" button's file chooser and sends them from the preview. */
export async function attachFiles(
  page: Page,
  files: { name: string; mimeType: string; buffer: Uint8Array }[],
): Promise<void> {
  const [chooser] = await Promise.all([
    page.waitForEvent("filechooser"),
    page.getByRole("button", { name: "Attach file" }).click(),
  ]);
  await chooser.setFiles(files.map((file) => ({ ...file, buffer: Buffer.from(file.buffer) })));
  await page.getByRole("dialog").getByRole("button", { name: "Send", exact: true }).click();
}

/**
 * An `until(what, check)` for a test file: the shared {@link until} with this file's timeout and
 * polling interval.
 */
export function untilWithin(
  options: { timeoutMs: number; intervalMs: number },
): (what: string, check: () => boolean | Promise<boolean>) => Promise<void> {
  return async (what, check) => {
    await until(what, check, options);
  };
}
