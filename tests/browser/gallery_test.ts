/**
 * A room's files panel in headless Chromium against a real server: an image and a PDF sent from
 * the app into an unencrypted and an encrypted room show up in the panel (the image as a
 * thumbnail on the media tab, the PDF with its size and sender on the documents tab), also when
 * many newer messages push them out of the loaded timeline (in the encrypted room, undecryptable
 * ones the panel must read past); the image opens at full size and the PDF downloads with its
 * exact bytes; a file sent while the panel is open joins it at the top. Then the panel on a
 * 360 px phone, and axe's WCAG 2.1 A/AA checks.
 */

import type { Page } from "playwright-core";
import { encode as encodePng } from "fast-png";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { createRoomOfTwo, waitForDeviceKeys } from "./room_support.ts";
import { violations } from "./axe.ts";
import {
  attachFiles,
  browserTest,
  openRoomForFiles,
  openWatchedPage,
  signIn,
  untilWithin,
  withServerAndBrowser,
} from "./session_support.ts";

const TIMEOUT = 20_000;
/** Waits until `check` holds (polled from the test: the CSP forbids eval in the page). */
const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 100 });

/** The parts of an `<img>` the checks read. */
interface Picture {
  complete: boolean;
  naturalWidth: number;
}

function testPng(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  return encodePng({ width, height, data, channels: 3 });
}

const PDF = new TextEncoder().encode(
  "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
);

/** The room's file messages on the server (their `url` or encrypted `file`). */
async function fileEventCount(server: TestServer, user: TestUser, roomId: string) {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
    { token: user.accessToken },
  );
  assertEquals(res.status, 200);
  // deno-lint-ignore no-explicit-any
  return res.body.chunk.filter((e: any) =>
    e.type === "m.room.encrypted" || typeof e.content?.url === "string"
  ).length;
}

/** Sends `count` newer events so the files fall out of the timeline a reload restores. */
async function pushBack(server: TestServer, user: TestUser, roomId: string, encrypted: boolean) {
  for (let i = 0; i < 60; i++) {
    const type = encrypted ? "m.room.encrypted" : "m.room.message";
    // In the encrypted room: events no one can decrypt, which the panel must read past.
    const content = encrypted
      ? {
        algorithm: "m.megolm.v1.aes-sha2",
        ciphertext: "AwgAEhAAAAAA",
        sender_key: "c2VuZGVyX2tleV9ub3RfcmVhbA",
        session_id: "c2Vzc2lvbl9ub3RfcmVhbA",
        device_id: "NOTADEVICE",
      }
      : { msgtype: "m.text", body: `Message ${i}` };
    const res = await server.request(
      "PUT",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/push${i}`,
      { token: user.accessToken, body: content },
    );
    assertEquals(res.status, 200);
  }
}

async function checkPanel(page: Page, room: string, image: string, pdf: string): Promise<void> {
  await openRoomForFiles(page, room);
  await page.getByRole("button", { name: "Files", exact: true }).click();
  const panel = page.getByRole("complementary", { name: "Files in this conversation" });
  const media = panel.getByRole("tabpanel");
  // The image: a thumbnail that loaded (decrypted in the encrypted room).
  const thumb = media.getByRole("button", { name: `Open ${image}` });
  await thumb.waitFor();
  await until(
    `${room}: the thumbnail`,
    () =>
      thumb.locator("img").evaluate((img) =>
        (img as unknown as Picture).complete && (img as unknown as Picture).naturalWidth > 0
      )
        .catch(() => false),
  );
  assertEquals(await media.getByRole("button", { name: /^Open / }).count(), 1);
  // Opened at full size.
  await thumb.click();
  const viewer = page.getByRole("dialog", { name: image });
  await until(
    `${room}: the full image`,
    () =>
      viewer.locator("img").evaluate((img) => (img as unknown as Picture).naturalWidth === 48)
        .catch(() => false),
  );
  await viewer.getByRole("button", { name: "Close", exact: true }).click();
  await viewer.waitFor({ state: "detached" });

  await panel.getByRole("tab", { name: "Documents and audio" }).click();
  const docs = panel.getByRole("tabpanel");
  const row = docs.getByRole("listitem").filter({ hasText: pdf });
  await row.waitFor();
  const meta = await row.innerText();
  assert(meta.includes("anna"), `the sender is shown: ${meta}`);
  assert(/\d+\s*(byte|B)/i.test(meta), `the size is shown: ${meta}`);
  assertEquals(await docs.getByRole("listitem").count(), 1);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    row.getByRole("button", { name: `Download ${pdf}` }).click(),
  ]);
  assertEquals(download.suggestedFilename(), pdf);
  const saved = await Deno.readFile((await download.path())!);
  assertEquals(saved, PDF);
  await panel.getByText("That is everything since the conversation began.").waitFor();
}

browserTest(
  "web gallery: images and documents of a room, unencrypted and encrypted, on two widths",
  () =>
    withServerAndBrowser({}, async (server, browser) => {
      const anna = await server.register("anna");
      const bob = await server.register("bob");
      const plainId = await createRoomOfTwo(server, anna, bob, {
        name: "Gemeinderat",
        encrypted: false,
      });
      const secretId = await createRoomOfTwo(server, anna, bob, {
        name: "Personal",
        encrypted: true,
      });
      const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
      await signIn(page, server, anna);
      await waitForDeviceKeys(server, anna);

      const png = testPng(48, 32);
      for (
        const [room, roomId, tag] of [["Gemeinderat", plainId, "open"], [
          "Personal",
          secretId,
          "secret",
        ]]
      ) {
        await openRoomForFiles(page, room);
        await attachFiles(page, [
          { name: `plan-${tag}.png`, mimeType: "image/png", buffer: png },
          { name: `bericht-${tag}.pdf`, mimeType: "application/pdf", buffer: PDF },
        ]);
        await until(
          `${room}: two files on the server`,
          async () => await fileEventCount(server, anna, roomId) === 2,
        );
        await pushBack(server, bob, roomId, roomId === secretId);
      }
      // A reload restores only the newest events: the files are found through /messages.
      await page.reload();
      await page.getByRole("navigation", { name: "Conversation list" }).waitFor();

      await checkPanel(page, "Gemeinderat", "plan-open.png", "bericht-open.pdf");
      await checkPanel(page, "Personal", "plan-secret.png", "bericht-secret.pdf");
      // A file sent while the panel is open joins it at the top.
      const panel = page.getByRole("complementary", { name: "Files in this conversation" });
      await attachFiles(page, [{
        name: "neu.png",
        mimeType: "image/png",
        buffer: testPng(24, 24),
      }]);
      await panel.getByRole("tab", { name: "Images and videos" }).click();
      const opens = panel.getByRole("tabpanel").getByRole("button", { name: /^Open / });
      await panel.getByRole("button", { name: "Open neu.png" }).waitFor();
      assertEquals(await opens.count(), 2);
      assertEquals(await opens.first().getAttribute("aria-label"), "Open neu.png");
      assertEquals(await violations(page), []);
      await page.keyboard.press("Escape");
      await page.getByRole("complementary", { name: "Files in this conversation" })
        .waitFor({ state: "detached" });

      // On a phone the panel covers the room, and the header's menu opens it.
      await page.setViewportSize({ width: 360, height: 740 });
      await page.getByRole("button", { name: "Room options" }).click();
      await page.getByRole("menuitem", { name: "Files" }).click();
      await panel.getByRole("button", { name: "Open plan-secret.png" }).waitFor();
      const box = await panel.boundingBox();
      assertEquals(box?.width, 360);
      assertEquals(await violations(page), []);
      await panel.getByRole("button", { name: "Close the files" }).click();
      await panel.waitFor({ state: "detached" });
      assertEquals(errors, []);
    }),
);
