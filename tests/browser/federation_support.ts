/**
 * What the web app's federation tests share: a page that records what it throws, signing in on
 * a gemeng node, waiting on the page's state, typing a message and sending an image or a voice
 * message from the composer.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import type { GemengNode, NodeUser } from "../federation/support/gemeng_node.ts";
import type { BrowserSession } from "./chromium.ts";

/** How long one step of these tests may take. */
export const TIMEOUT = 60_000;

/** The password {@link GemengNode.register} gave `user`. */
export function passwordOf(user: NodeUser): string {
  return `pw-${localpartOf(user)}-secret`;
}

function localpartOf(user: NodeUser): string {
  return user.userId.slice(1).split(":")[0];
}

/**
 * Opens a page that appends what it throws to `options.errors` (prefixed with `name`) and echoes
 * its console when `GEMENG_BROWSER_LOG` is set.
 */
export async function openPage(
  browser: BrowserSession,
  options: { name: string; errors: string[] },
): Promise<Page> {
  const { name, errors } = options;
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => errors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    if (Deno.env.get("GEMENG_BROWSER_LOG")) console.log(`[${name} ${msg.type()}] ${msg.text()}`);
  });
  return page;
}

/** Signs `user` in to the web app that `node` serves, and waits for the conversation list. */
export async function signIn(page: Page, options: { node: GemengNode; user: NodeUser }) {
  await page.goto(options.node.baseUrl);
  await page.getByLabel("Username").fill(localpartOf(options.user));
  await page.getByLabel("Password").fill(passwordOf(options.user));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

/** Waits until `expression` is true in the page (evaluated over DevTools: the CSP forbids eval). */
export async function until(page: Page, expression: string): Promise<void> {
  const end = Date.now() + TIMEOUT;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Types `text` in the composer and sends it. */
export async function say(page: Page, text: string): Promise<void> {
  await page.getByRole("textbox", { name: "Message", exact: true }).click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** Sends a file through the composer's file chooser. */
export async function attach(
  page: Page,
  file: { name: string; mimeType: string; bytes: Uint8Array },
): Promise<void> {
  const [chooser] = await Promise.all([
    page.waitForEvent("filechooser"),
    page.getByRole("button", { name: "Attach file" }).click(),
  ]);
  await chooser.setFiles([{
    name: file.name,
    mimeType: file.mimeType,
    buffer: Buffer.from(file.bytes),
  }]);
  // The preview lists the file; Send sends it.
  await page.getByRole("dialog").getByRole("button", { name: "Send", exact: true }).click();
}

/** Records about 1.5 s from the (fake) microphone and sends it as a voice message. */
export async function sendVoiceMessage(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Record voice message" }).click();
  await page.getByRole("timer").waitFor();
  await page.waitForTimeout(1500);
  await page.getByRole("button", { name: "Send voice message" }).click();
}

/** Waits until an image named `name` shows, decoded (loaded from its blob, not broken). */
export async function waitForImage(page: Page, name: string): Promise<void> {
  await page.getByRole("button", { name: `Open image ${name}` }).locator("img").waitFor();
  await until(
    page,
    `[...document.querySelectorAll(${JSON.stringify(`img[alt='${name}']`)})]
      .some((img) => img.complete && img.naturalWidth > 0 && img.src.startsWith("blob:"))`,
  );
}
