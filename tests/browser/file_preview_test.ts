/**
 * Sending files through the preview dialog, in headless Chromium against a real server: two
 * files chosen at once (an image and a text file) show in the preview, the image as a
 * thumbnail; a caption typed there goes with the image as its `body`, its name in `filename`
 * (media captions); both files arrive as their own events, in order; Cancel sends nothing. The
 * open preview passes axe (WCAG 2.1 AA).
 */

import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { encode as encodePng } from "fast-png";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser, SKIP_REASON } from "./chromium.ts";
import { createRoomOfTwo } from "./room_support.ts";
import { violations } from "./axe.ts";
import { clickThrough, submitSignIn } from "./session_support.ts";

const TIMEOUT = 20_000;

/**
 * Waits until `expression` is true in the page. Evaluated over the DevTools protocol each
 * time: playwright's in-page polling would need `eval`, which the app's CSP forbids.
 */
async function until(page: Page, expression: string): Promise<void> {
  const end = Date.now() + TIMEOUT;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function testPng(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
  return encodePng({ width, height, data, channels: 3 });
}

/** The room's message events, oldest first. */
async function messagesOf(
  server: TestServer,
  roomId: string,
  token: string,
  // deno-lint-ignore no-explicit-any
): Promise<any[]> {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
    { token },
  );
  assertEquals(res.status, 200);
  // deno-lint-ignore no-explicit-any
  return (res.body.chunk as any[]).filter((e) => e.type === "m.room.message").reverse();
}

Deno.test({
  name: "web file preview: several files with a caption, and cancel",
  ignore: SKIP_REASON !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = await startTestServer({ config: { e2ee: { default_for: "off" } } });
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const roomId = await createRoomOfTwo(server, alice, bob, { name: "Plans", encrypted: false });
    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (err) => errors.push(err.message));
      page.on("console", (msg) => {
        if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
          errors.push(msg.text());
        }
      });
      const uploads: string[] = [];
      page.on("request", (r) => {
        if (r.method() === "POST" && r.url().includes("/media/v3/upload")) uploads.push(r.url());
      });
      await submitSignIn(page, server, alice);
      const nav = page.getByRole("navigation", { name: "Conversation list" });
      await clickThrough(
        nav.getByRole("link", { name: "Plans", exact: true }),
        page.getByRole("heading", { name: "Plans", exact: true }),
      );
      const input = page.locator("input[type=file][multiple]");
      const png = testPng(640, 480);
      const notes = new TextEncoder().encode("Réunion du conseil communal, ordre du jour.\n");
      const files = [
        { name: "plan.png", mimeType: "image/png", buffer: Buffer.from(png) },
        { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(notes) },
      ];

      // Cancel: the preview closes and nothing is uploaded or sent.
      await input.setInputFiles([files[1]]);
      const single = page.getByRole("dialog", { name: "Send a file" });
      await single.waitFor();
      await single.getByText("notes.txt").waitFor();
      await single.getByRole("button", { name: "Cancel", exact: true }).click();
      await single.waitFor({ state: "detached" });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assertEquals(uploads, [], "nothing uploaded after Cancel");
      assertEquals(await messagesOf(server, roomId, alice.accessToken), []);

      // Two files at once: both listed, the image as a thumbnail, the text file by name and size.
      await input.setInputFiles(files);
      const dialog = page.getByRole("dialog", { name: "Send 2 files" });
      await dialog.waitFor();
      const list = dialog.getByRole("list", { name: "Files to send" });
      assertEquals(await list.getByRole("listitem").count(), 2);
      await list.getByRole("img", { name: "Preview of plan.png" }).waitFor();
      await until(
        page,
        `document.querySelector("dialog img[alt='Preview of plan.png']")?.naturalWidth === 640`,
      );
      await list.getByText("notes.txt").waitFor();
      await list.getByText(`${notes.length} byte`).waitFor();
      await dialog.getByLabel("Caption, sent with the first file (optional)").fill("Plan du site");
      assertEquals(await violations(page), [], "the preview meets WCAG 2.1 AA");
      await dialog.getByRole("button", { name: "Send", exact: true }).click();
      await dialog.waitFor({ state: "detached" });

      // Two events, in the order chosen; the caption is the image's body, its name the filename.
      let events = await messagesOf(server, roomId, alice.accessToken);
      for (let i = 0; events.length < 2 && i < 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        events = await messagesOf(server, roomId, alice.accessToken);
      }
      assertEquals(events.length, 2);
      const [image, text] = events.map((e) => e.content);
      assertEquals(image.msgtype, "m.image");
      assertEquals(image.body, "Plan du site");
      assertEquals(image.filename, "plan.png");
      assert(typeof image.url === "string" && image.url.startsWith("mxc://"), "image url");
      assertEquals(text.msgtype, "m.file");
      assertEquals(text.body, "notes.txt");
      assertEquals(text.filename, "notes.txt");
      assertEquals(text.info.size, notes.length);

      // The timeline shows the caption under the image.
      await page.getByRole("button", { name: "Open image plan.png" }).waitFor();
      await page.getByText("Plan du site", { exact: true }).waitFor();
      assertEquals(errors, [], "the page threw or broke its CSP");
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
