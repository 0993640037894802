/**
 * An encrypted direct chat across servers in the web app: alice, in the app on node A, starts
 * a chat with bob of node B by his full Matrix ID; the room is encrypted from the start; bob,
 * in the app on B, accepts; each reads what the other wrote (Rust crypto in both browsers,
 * keys claimed and shared across the two servers); bob's name shows on A; an image and a voice
 * message alice sends (encrypted, stored on A) show decrypted for bob, whose server fetches
 * them over federation. Neither node's KV
 * holds the plaintext.
 *
 * @module
 */

import { testPng } from "../support/test_images.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { startGemengNode } from "../federation/support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "../federation/support/peers.ts";
import { type BrowserSession, launchBrowser, SKIP_REASON } from "./chromium.ts";
import {
  attach,
  openPage,
  say,
  sendVoiceMessage,
  signIn,
  until,
  waitForImage,
} from "./federation_support.ts";
import { contains, kvBytes } from "./scenario_support.ts";
import { clickThrough } from "./session_support.ts";

const SECRET = { first: "Moien Bob, dat hei ass geheim", answer: "Moien Alice, och geheim" };

Deno.test({
  name: "web federation: an encrypted direct chat between users of two servers",
  ignore: SKIP_REASON !== null || skipUnless(CA_MISSING).ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const browsers: BrowserSession[] = [];
    const errors: string[] = [];
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const first = await launchBrowser({ fakeMedia: true });
      browsers.push(first);
      const second = await launchBrowser();
      browsers.push(second);
      const alicePage = await openPage(first, { name: "alice", errors });
      const bobPage = await openPage(second, { name: "bob", errors });
      await signIn(alicePage, { node: a, user: alice });
      await signIn(bobPage, { node: b, user: bob });

      // Alice starts the chat with bob's full ID; the app makes it encrypted.
      await alicePage.getByRole("button", { name: "Start chat" }).click();
      const dialog = alicePage.getByRole("dialog", { name: "Start a chat" });
      await dialog.getByLabel("Search people").fill(bob.userId);
      await dialog.getByRole("button", {
        name: new RegExp(bob.userId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
      }).click();
      await alicePage.waitForURL(/\/rooms\//);
      const roomId = decodeURIComponent(new URL(alicePage.url()).pathname.slice("/rooms/".length));
      const encryption = await a.request(
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption`,
        { token: alice.accessToken },
      );
      assertEquals(encryption.body?.algorithm, "m.megolm.v1.aes-sha2", "encrypted from the start");
      // Bob's name, from his server, heads alice's chat.
      await alicePage.getByRole("heading", { name: "bob" }).waitFor();

      // Bob accepts in the app on B.
      const list = bobPage.getByRole("navigation", { name: "Conversation list" });
      await list.getByRole("button", { name: "Accept the invitation to alice" }).click();
      await clickThrough(
        list.getByRole("link", { name: "alice" }),
        bobPage.getByRole("heading", { name: "alice" }),
      );
      await alicePage.getByRole("log", { name: "Messages in bob" }).getByText("bob joined")
        .waitFor();

      await say(alicePage, SECRET.first);
      await bobPage.getByRole("log", { name: "Messages in alice" }).getByText(SECRET.first)
        .waitFor();
      await say(bobPage, SECRET.answer);
      await alicePage.getByRole("log", { name: "Messages in bob" }).getByText(SECRET.answer)
        .waitFor();

      // An image from alice: uploaded encrypted to A, fetched by B over federation for bob's
      // browser, which decrypts and shows it.
      await attach(alicePage, {
        name: "plang.png",
        mimeType: "image/png",
        bytes: testPng(640, 480),
      });
      await waitForImage(bobPage, "plang.png");

      // A voice message from alice (fake microphone): bob plays it.
      await sendVoiceMessage(alicePage);
      const play = bobPage.getByRole("button", { name: "Play voice message" });
      await play.waitFor();
      await play.click();
      await until(bobPage, `document.querySelector("audio")?.currentTime > 0.2`);

      // Both servers carried ciphertext only.
      const encoder = new TextEncoder();
      for (const node of [a, b]) {
        const stored = await kvBytes(node.hs.kv);
        for (const text of Object.values(SECRET)) {
          assert(
            !stored.some((bytes) => contains(bytes, encoder.encode(text))),
            `${node.serverName} stored "${text}" in the clear`,
          );
        }
      }
      assertEquals(errors, [], "the pages threw");
    } finally {
      for (const browser of browsers) await browser.close();
      await b.close();
      await a.close();
    }
  },
});
