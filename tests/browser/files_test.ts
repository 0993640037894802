/**
 * Files and voice messages in the web app, in headless Chromium against a real server: in an
 * encrypted room a file goes up with progress and comes down on the other side with its name
 * and bytes while the server holds only ciphertext; an image previews; a cancelled upload
 * sends nothing; voice messages (fake microphone) carry Element's fields and play.
 */

import type { Page, Request } from "playwright-core";
import { encode as encodePng } from "fast-png";
import { listUserMedia } from "../../server/media/media_store.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser } from "./chromium.ts";
import { createRoomOfTwo, waitForDeviceKeys } from "./room_support.ts";
import {
  attachFiles,
  type BrowserPerson,
  browserTestsNamed,
  localpartOf,
  openRoomForFiles,
  openWatchedPage,
  signIn as signInThroughForm,
  withAliceAndBob,
} from "./session_support.ts";

const TIMEOUT = 20_000;
const browserTest = browserTestsNamed("web files: ");

async function signIn(
  server: TestServer,
  user: TestUser,
  options: { fakeMedia?: boolean } = {},
): Promise<BrowserPerson> {
  const browser = await launchBrowser({ fakeMedia: options.fakeMedia });
  const { page, errors } = await openWatchedPage(browser.context, {
    timeoutMs: TIMEOUT,
    label: localpartOf(user),
    csp: true,
  });
  await signInThroughForm(page, server, user);
  // Encryption must be up before this device can receive room keys: wait for its keys to
  // reach the server (the test's own sign-up device has none).
  await waitForDeviceKeys(server, user);
  return { page, browser, errors };
}

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

const PROGRESS_MOVED =
  `Number(document.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow")) > 0`;

/** Limits the page's upload speed (bytes per second; -1 lifts the limit). */
async function throttleUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

async function rawDownload(server: TestServer, mxc: string, token: string): Promise<Uint8Array> {
  const path = mxc.replace(/^mxc:\/\//, "");
  const res = await fetch(`${server.baseUrl}/_matrix/client/v1/media/download/${path}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assertEquals(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function testPng(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = x * 255 / width;
      data[i + 1] = y * 255 / height;
      data[i + 2] = ((x >> 5) + (y >> 5)) % 2 ? 200 : 40;
    }
  }
  return encodePng({ width, height, data, channels: 3 });
}

async function messagesOf(server: TestServer, roomId: string, token: string) {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
    { token },
  );
  assertEquals(res.status, 200);
  // deno-lint-ignore no-explicit-any
  return res.body.chunk as any[];
}

browserTest("encrypted room: file with progress, download, image preview, cancel", async () => {
  await withAliceAndBob({}, async ({ server, alice, bob, people }) => {
    const roomId = await createRoomOfTwo(server, alice, bob, { name: "Dossiers", encrypted: true });
    // Bob's device exists (with its keys) before Alice encrypts for the room.
    const b = await signIn(server, bob);
    people.push(b);
    await openRoomForFiles(b.page, "Dossiers");
    const a = await signIn(server, alice);
    people.push(a);
    await openRoomForFiles(a.page, "Dossiers");
    const uploads: Request[] = [];
    a.page.on("request", (r) => {
      if (r.method() === "POST" && r.url().includes("/_matrix/media/v3/upload")) uploads.push(r);
    });

    // A file, uploaded slowly enough to watch the progress bar move.
    const name = "rapport annuel 2025.pdf";
    const plaintext = pattern(600_000, 7);
    await throttleUploads(a.page, 300_000);
    await attachFiles(a.page, [{ name, mimeType: "application/pdf", buffer: plaintext }]);
    const bar = a.page.getByRole("progressbar", { name: `Uploading ${name}` });
    await bar.waitFor();
    await until(a.page, PROGRESS_MOVED);
    await bar.waitFor({ state: "detached" });
    await throttleUploads(a.page, -1);
    assertEquals(uploads.length, 1);
    assertEquals(uploads[0].headers()["content-type"], "application/octet-stream");
    assert(!new URL(uploads[0].url()).searchParams.has("filename"), "no file name leaks");

    // Bob sees the file and saves it with its name and its bytes.
    await b.page.getByText(name).first().waitFor();
    const [download] = await Promise.all([
      b.page.waitForEvent("download"),
      b.page.getByRole("button", { name: "Download" }).first().click(),
    ]);
    assertEquals(download.suggestedFilename(), name);
    const saved = await Deno.readFile((await download.path())!);
    assertEquals(saved.length, plaintext.length);
    assert(saved.every((byte, i) => byte === plaintext[i]), "the downloaded bytes are the file's");

    // An image: Alice makes an encrypted thumbnail; Bob's preview and full view render.
    const png = testPng(1200, 900);
    await attachFiles(a.page, [{ name: "plan.png", mimeType: "image/png", buffer: png }]);
    const open = b.page.getByRole("button", { name: "Open image plan.png" });
    await open.locator("img").waitFor();
    await until(
      b.page,
      `[...document.querySelectorAll("img[alt='plan.png']")]
      .some((img) => img.complete && img.naturalWidth === 800)`,
    ); // the 800x600 thumbnail
    await open.click();
    const dialog = b.page.getByRole("dialog", { name: "plan.png" });
    await dialog.waitFor();
    await until(b.page, `document.querySelector("dialog img")?.naturalWidth === 1200`);
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "detached" });

    // The server holds ciphertext only: every upload of Alice's differs from what she sent
    // (file, image and thumbnail: three uploads), and no download of them gives it back.
    const media = await listUserMedia(server.hs.kv, alice.userId);
    assertEquals(media.length, 3);
    const stored = await Promise.all(
      media.map(([origin, id]) => rawDownload(server, `mxc://${origin}/${id}`, bob.accessToken)),
    );
    const same = (x: Uint8Array, y: Uint8Array) =>
      x.length === y.length && x.every((v, i) => v === y[i]);
    for (const bytes of stored) {
      assert(!same(bytes, plaintext) && !same(bytes, png), "the server never gets the plaintext");
      assert(!startsWith(bytes, png.subarray(0, 8)), "no PNG signature on the server");
    }
    assert(stored.some((bytes) => bytes.length === plaintext.length), "the file's ciphertext");

    // A big upload, cancelled halfway: the request is aborted and no message follows.
    const before = (await messagesOf(server, roomId, alice.accessToken)).length;
    await throttleUploads(a.page, 100_000);
    const aborted = a.page.waitForEvent("requestfailed", (r) => r.url().includes("/upload"));
    await attachFiles(a.page, [{
      name: "archive.zip",
      mimeType: "application/zip",
      buffer: pattern(3_000_000, 11),
    }]);
    await until(a.page, PROGRESS_MOVED);
    await a.page.getByRole("button", { name: "Cancel upload" }).click();
    await aborted;
    await a.page.getByRole("progressbar").waitFor({ state: "detached" });
    await throttleUploads(a.page, -1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await messagesOf(server, roomId, alice.accessToken);
    assertEquals(after.length, before, "nothing was sent after the cancel");
    assertEquals(await b.page.getByText("archive.zip").count(), 0);
  });
});

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

browserTest("voice messages: recorded, sent with Element's fields, played", async () => {
  await withAliceAndBob({}, async ({ server, alice, bob, people }) => {
    const plainRoom = await createRoomOfTwo(server, alice, bob, { name: "Voix", encrypted: false });
    await createRoomOfTwo(server, alice, bob, { name: "Voix secrètes", encrypted: true });
    const b = await signIn(server, bob);
    people.push(b);
    const a = await signIn(server, alice, { fakeMedia: true });
    people.push(a);

    for (const room of ["Voix", "Voix secrètes"]) {
      await openRoomForFiles(a.page, room);
      await openRoomForFiles(b.page, room);
      await a.page.getByRole("button", { name: "Record voice message" }).click();
      await a.page.getByRole("timer").waitFor();
      await a.page.waitForTimeout(2000);
      await a.page.getByRole("button", { name: "Send voice message" }).click();

      // Bob gets a player with the waveform and plays it.
      const play = b.page.getByRole("button", { name: "Play voice message" });
      await play.waitFor();
      assertEquals(await b.page.locator("svg[data-waveform='48'] rect").count(), 48);
      await play.click();
      await until(b.page, `document.querySelector("audio")?.currentTime > 0.2`);
      if (room === "Voix") {
        const events = await messagesOf(server, plainRoom, bob.accessToken);
        const voice = events.find((e) => e.content?.["org.matrix.msc3245.voice"]);
        assert(voice, "a voice message was sent");
        const c = voice.content;
        assertEquals(c.msgtype, "m.audio");
        assertEquals(c["org.matrix.msc3245.voice"], {});
        assertEquals(c["org.matrix.msc1767.text"], "Voice message");
        assert(/^mxc:\/\//.test(c.url), "an mxc URL");
        assert(/^audio\/(ogg|webm)/.test(c.info.mimetype), c.info.mimetype);
        assert(c.info.size > 1000, "some audio");
        const audio = c["org.matrix.msc1767.audio"];
        assertEquals(audio.duration, c.info.duration);
        assert(audio.duration > 1200 && audio.duration < 4000, `duration ${audio.duration}`);
        assertEquals(audio.waveform.length, 100);
        assert(
          audio.waveform.every((v: number) => Number.isInteger(v) && v >= 0 && v <= 1024),
          "waveform values are integers 0..1024",
        );
        assert(audio.waveform.some((v: number) => v > 0), "the fake microphone is not silent");
      }
      await b.page.reload(); // one <audio> at a time for the next check
    }

    // Hold the microphone, speak, let go: the message goes without another tap.
    await openRoomForFiles(a.page, "Voix");
    const before = (await messagesOf(server, plainRoom, bob.accessToken))
      .filter((e) => e.content?.["org.matrix.msc3245.voice"]).length;
    await a.page.getByRole("button", { name: "Record voice message" }).hover();
    await a.page.mouse.down();
    await a.page.getByRole("timer").waitFor();
    await a.page.waitForTimeout(1500);
    await a.page.mouse.up();
    await a.page.getByRole("timer").waitFor({ state: "detached" });
    await until(
      a.page,
      `!document.querySelector("[role=progressbar]") && !!document.querySelector("[data-waveform]")`,
    );
    let voices: { content: Record<string, unknown> }[] = [];
    const deadline = Date.now() + TIMEOUT;
    while (voices.length <= before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      voices = (await messagesOf(server, plainRoom, bob.accessToken))
        .filter((e) => e.content?.["org.matrix.msc3245.voice"]);
    }
    assertEquals(voices.length, before + 1, "holding and letting go sent one voice message");

    // A short tap starts a recording that stays open until the next tap.
    await a.page.getByRole("button", { name: "Record voice message" }).click();
    await a.page.getByRole("timer").waitFor();
    await a.page.waitForTimeout(800);
    assertEquals(await a.page.getByRole("timer").count(), 1, "still recording after the tap");
    await a.page.getByRole("button", { name: "Cancel recording" }).click();
    await a.page.getByRole("timer").waitFor({ state: "detached" });
  });
});
