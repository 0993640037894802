/**
 * Helpers of the secure-messaging browser tests (security_test.ts, secure_setup_test.ts): one
 * browser per person or device, the settings' status, axe, and a syncing
 * matrix-js-sdk client in Deno for the other side.
 *
 * @module
 */

import * as sdk from "matrix-js-sdk";
import type { Page } from "playwright-core";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { sdkClient } from "../integration/e2ee_sdk_support.ts";
import { type BrowserSession, launchBrowser, SKIP_REASON } from "./chromium.ts";
import { startSyncing } from "../support/sdk_client.ts";
import { clickThrough, openWatchedPage } from "./session_support.ts";

/** The Rust crypto's WASM starts slowly in Chromium on a busy machine. */
export const TIMEOUT = 45_000;

/** A browser test (skipped where Chromium is missing); steps get the test context. */
export function browserTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name: `web security: ${name}`,
    ignore: SKIP_REASON !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** One browser (a person or a device) with its page and the page errors seen. */
export interface Tab {
  browser: BrowserSession;
  page: Page;
  errors: string[];
}

export async function openTab(label: string, options: { clipboard?: boolean } = {}): Promise<Tab> {
  const browser = await launchBrowser({
    permissions: options.clipboard ? ["clipboard-read", "clipboard-write"] : [],
  });
  const { page, errors } = await openWatchedPage(browser.context, {
    timeoutMs: TIMEOUT,
    label,
    csp: true,
  });
  return { browser, page, errors };
}

export async function openSettings(page: Page): Promise<void> {
  await clickThrough(
    page.getByRole("link", { name: "Settings" }),
    page.getByRole("heading", { name: "Settings" }),
  );
}

/** Sets up secure messaging in the settings; returns the recovery key shown. */
export async function setUpSecureMessaging(
  page: Page,
  options: { copy?: boolean; checkAccessibility?: boolean } = {},
) {
  await page.getByRole("button", { name: "Set up secure messaging" }).click();
  const dialog = page.getByRole("dialog", { name: "Your recovery key" });
  const field = dialog.getByRole("textbox", { name: "Recovery key" });
  await field.waitFor();
  const recoveryKey = await field.inputValue();
  assert(/^(\w{4} ){10,}\w{1,4}$/.test(recoveryKey), `a recovery key: ${recoveryKey}`);
  if (options.checkAccessibility) await assertAccessible(page, "the recovery key dialog");
  if (options.copy) {
    await dialog.getByRole("button", { name: "Copy recovery key" }).click();
    await dialog.getByText("Copied.").waitFor();
    const copied = await bounded(page.evaluate("navigator.clipboard.readText()"), "clipboard");
    assertEquals(copied, recoveryKey);
  }
  await dialog.getByRole("button", { name: "I have saved my recovery key" }).click();
  await dialog.waitFor({ state: "detached" });
  const status = securityStatus(page);
  await status.getByText("Cross-signing is ready.").waitFor();
  await status.getByText(/^Key backup is on \(version \w+\)\.$/).waitFor();
  await status.getByText("This device is verified.", { exact: true }).waitFor();
  return recoveryKey;
}

export function securityStatus(page: Page) {
  return page.getByRole("region", { name: "Secure messaging" }).getByRole("status");
}

export async function until<T>(what: string, check: () => Promise<T | null | undefined | false>) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** `promise`, or an error naming `what` after the test timeout (page.evaluate has none). */
export async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), TIMEOUT);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);

/** Fails on axe-core's WCAG 2.1 A/AA violations on the page (`where` names the screen). */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) still holds.
  await page.evaluate(AXE_SOURCE);
  const found = await bounded(
    page.evaluate<string[]>(
      `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.flatMap((v) => v.nodes.map((n) => v.id + ": " + n.target.join(" "))))`,
    ),
    `axe on ${where}`,
  );
  assertEquals(found, [], `accessibility of ${where}`);
}

export const WAITING_FOR_KEY = "Waiting for the key to decrypt this message";

/** A matrix-js-sdk client with Rust crypto that syncs (bob's phone, in Deno). */
export async function syncingClient(server: TestServer, user: TestUser): Promise<sdk.MatrixClient> {
  const client = await sdkClient(server, user);
  await startSyncing(client, { initialSyncLimit: 10 });
  return client;
}
