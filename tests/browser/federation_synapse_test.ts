/**
 * The web app in an encrypted direct chat with a user of the Synapse 1.67 peer (as
 * Luxchat4Gov's ministries run it). Sam, on Synapse, uses matrix-js-sdk with its Rust crypto in
 * this process and has a display name; gina uses the web app on a gemeng node in headless
 * Chromium. Sam starts an encrypted DM and invites gina; she accepts in the app; each reads the
 * other's text; an image and a voice message from the app reach sam encrypted: the ciphertext
 * he downloads through Synapse (which fetches it from gemeng over federation, legacy media API)
 * is the one gemeng holds from the browser's upload, and the event's key decrypts it to the
 * picture gina picked (and to a recording); an encrypted image from sam, stored on Synapse,
 * shows decoded in the app (gemeng fetches it back the same way); sam's display name heads the
 * chat, labels his messages and names him in the member list. gemeng's KV holds neither the
 * text nor the pictures in the clear.
 *
 * @module
 */

import * as sdk from "matrix-js-sdk";
import { encodeBase64, encodeBase64Url } from "../../crypto/base64.ts";
import { testPng } from "../support/test_images.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { dumpKv } from "../integration/e2ee_support.ts";
import { stopAll } from "../integration/e2ee_sdk_support.ts";
import { type Account, startedClient, until } from "../federation/support/e2ee_sdk.ts";
import { type GemengNode, startGemengNode } from "../federation/support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "../federation/support/peers.ts";
import { startSynapse, type SynapsePeer } from "../federation/support/synapse.ts";
import { type BrowserSession, launchBrowser, SKIP_REASON } from "./chromium.ts";
import {
  attach,
  openPage,
  say,
  sendVoiceMessage,
  signIn,
  waitForImage,
} from "./federation_support.ts";
import { contains, kvBytes } from "./scenario_support.ts";
import { clickThrough } from "./session_support.ts";

const SAM_NAME = "Sam Schmit";

/** The spec's EncryptedFile as it arrives in an event. */
interface FileInfo {
  url: string;
  key: JsonWebKey;
  iv: string;
  hashes: { sha256: string };
  v: string;
}

async function samAccount(synapse: SynapsePeer): Promise<Account> {
  const user = await synapse.register("sam");
  const whoami = await synapse.request("GET", "/_matrix/client/v3/account/whoami", {
    token: user.accessToken,
  });
  assertEquals(whoami.status, 200, JSON.stringify(whoami.body));
  return { ...user, deviceId: whoami.body.device_id, password: "pw-sam-secret" };
}

/** The decrypted content of the first event in the room that `match` accepts. */
function received(
  client: sdk.MatrixClient,
  roomId: string,
  match: (content: Record<string, unknown>) => boolean,
): Record<string, unknown> | undefined {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  const event = events.find((e) =>
    e.isEncrypted() && !e.isDecryptionFailure() && match(e.getClearContent() ?? {})
  );
  return event?.getClearContent() ?? undefined;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return encodeBase64(new Uint8Array(digest))
    .replace(/=+$/, "");
}

/** Checks the hash the event names, then decrypts (AES-256-CTR, 64-bit counter). */
async function decryptFile(ciphertext: Uint8Array, file: FileInfo): Promise<Uint8Array> {
  assertEquals(file.v, "v2");
  assertEquals(await sha256(ciphertext), file.hashes.sha256.replace(/=+$/, ""), "hash");
  const key = await crypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, [
    "decrypt",
  ]);
  const iv = Uint8Array.from(atob(file.iv.replace(/=+$/, "")), (c) => c.charCodeAt(0));
  const plain = await crypto.subtle.decrypt(
    { name: "AES-CTR", counter: iv, length: 64 },
    key,
    ciphertext as Uint8Array<ArrayBuffer>,
  );
  return new Uint8Array(plain);
}

/** Encrypts as a Matrix client does: a fresh key, random IV high half, counter at zero. */
async function encryptFile(plaintext: Uint8Array) {
  const iv = new Uint8Array(16);
  crypto.getRandomValues(iv.subarray(0, 8));
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const key = await crypto.subtle.importKey("raw", raw, { name: "AES-CTR" }, false, [
    "encrypt",
  ]);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-CTR", counter: iv, length: 64 },
      key,
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
  const file = {
    key: {
      kty: "oct",
      key_ops: ["encrypt", "decrypt"],
      alg: "A256CTR",
      k: encodeBase64Url(raw).replace(/=+$/, ""),
      ext: true,
    },
    iv: encodeBase64(iv).replace(/=+$/, ""),
    hashes: { sha256: await sha256(ciphertext) },
    v: "v2",
  };
  return { ciphertext, file };
}

/** What Synapse serves for `mxc` (it fetches gemeng's media over federation). */
async function downloadViaSynapse(synapse: SynapsePeer, mxc: string, token: string) {
  const [server, id] = mxc.slice("mxc://".length).split("/");
  const res = await fetch(
    `${synapse.clientUrl}/_matrix/media/v3/download/${encodeURIComponent(server)}/${id}`,
    { headers: { Authorization: `Bearer ${token}` } },
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  assertEquals(res.status, 200, new TextDecoder().decode(bytes.slice(0, 300)));
  return bytes;
}

/** What gemeng itself serves for its own `mxc` (the bytes the browser uploaded to it). */
async function downloadFromGemeng(gemeng: GemengNode, mxc: string, token: string) {
  const [server, id] = mxc.slice("mxc://".length).split("/");
  const res = await fetch(
    `${gemeng.baseUrl}/_matrix/client/v1/media/download/${encodeURIComponent(server)}/${id}`,
    { headers: { Authorization: `Bearer ${token}` } },
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  assertEquals(res.status, 200, new TextDecoder().decode(bytes.slice(0, 300)));
  return bytes;
}

/** Asserts that two byte strings are equal, without printing them. */
async function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string) {
  assertEquals(
    { length: actual.length, sha256: await sha256(actual) },
    { length: expected.length, sha256: await sha256(expected) },
    what,
  );
}

Deno.test({
  name: "web federation: an encrypted DM between the web app and a Synapse user",
  ignore: SKIP_REASON !== null || skipUnless(SYNAPSE_MISSING).ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    const clients: sdk.MatrixClient[] = [];
    let browser: BrowserSession | undefined;
    const errors: string[] = [];
    try {
      const marker = `marker-${crypto.randomUUID()}`;
      const sam = await samAccount(synapse);
      const gina = await gemeng.register("gina");
      const samClient = await startedClient(synapse.clientUrl, sam);
      clients.push(samClient);
      await samClient.setDisplayName(SAM_NAME);

      browser = await launchBrowser({ fakeMedia: true });
      const page = await openPage(browser, { name: "gina", errors });
      await signIn(page, { node: gemeng, user: gina });

      // Sam starts an encrypted DM with gina; she accepts in the app.
      const { room_id: roomId } = await samClient.createRoom({
        preset: sdk.Preset.TrustedPrivateChat,
        is_direct: true,
        invite: [gina.userId],
        room_version: "10",
        initial_state: [{
          type: "m.room.encryption",
          state_key: "",
          content: { algorithm: "m.megolm.v1.aes-sha2" },
        }],
      } as sdk.ICreateRoomOpts);
      const list = page.getByRole("navigation", { name: "Conversation list" });
      await list.getByRole("button", { name: /^Accept the invitation/ }).click();
      await clickThrough(
        list.getByRole("link", { name: SAM_NAME }),
        page.getByRole("heading", { name: SAM_NAME }),
      );
      await until(
        "sam sees gina join",
        () => samClient.getRoom(roomId)?.getMember(gina.userId)?.membership === "join",
      );
      const log = page.getByRole("log", { name: `Messages in ${SAM_NAME}` });

      // Text both ways.
      const fromGina = `Moien Sam, vun der Gemeng ${marker}`;
      await say(page, fromGina);
      await until(
        "sam reads gina's text",
        () => received(samClient, roomId, (c) => c.body === fromGina),
      );
      const fromSam = `Moien Gina, vum Ministère ${marker}`;
      await samClient.sendTextMessage(roomId, fromSam);
      await log.getByText(fromSam).waitFor();
      // Sam's display name, from Synapse, labels his message in the timeline.
      await log.getByText(SAM_NAME).first().waitFor();
      // And it names him in the member list.
      await page.getByRole("button", { name: "Room settings" }).click();
      const settings = page.getByRole("dialog", { name: `Settings of ${SAM_NAME}` });
      await settings.getByText("2 members").waitFor();
      await settings.getByRole("listitem").filter({ hasText: SAM_NAME }).waitFor();
      await settings.getByRole("button", { name: "Close" }).click();
      await settings.waitFor({ state: "detached" });

      // An image from the app: encrypted by the browser, stored on gemeng, fetched by Synapse.
      const png = testPng(320, 240);
      await attach(page, { name: "plang.png", mimeType: "image/png", bytes: png });
      const image = await until(
        "sam receives the encrypted image",
        () => received(samClient, roomId, (c) => c.msgtype === "m.image" && !!c.file),
      );
      const imageFile = image.file as FileInfo;
      assert(imageFile.url.startsWith(`mxc://${gemeng.serverName}/`), imageFile.url);
      const imageCipher = await downloadViaSynapse(synapse, imageFile.url, sam.accessToken);
      await assertSameBytes(
        imageCipher,
        await downloadFromGemeng(gemeng, imageFile.url, gina.accessToken),
        "Synapse serves the ciphertext the browser uploaded to gemeng",
      );
      await assertSameBytes(
        await decryptFile(imageCipher, imageFile),
        png,
        "sam decrypts the PNG gina picked",
      );

      // A voice message from the app (fake microphone).
      await sendVoiceMessage(page);
      const voice = await until(
        "sam receives the encrypted voice message",
        () => received(samClient, roomId, (c) => c.msgtype === "m.audio" && !!c.file),
      );
      assert("org.matrix.msc3245.voice" in voice, "marked as a voice message");
      const voiceFile = voice.file as FileInfo;
      const voiceCipher = await downloadViaSynapse(synapse, voiceFile.url, sam.accessToken);
      await assertSameBytes(
        voiceCipher,
        await downloadFromGemeng(gemeng, voiceFile.url, gina.accessToken),
        "Synapse serves the recording the browser uploaded to gemeng",
      );
      const audio = await decryptFile(voiceCipher, voiceFile);
      assertEquals(audio.length, (voice.info as { size: number }).size);
      const magic = [...audio.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
      assert(["4f676753", "1a45dfa3"].includes(magic), `an Ogg or WebM recording (${magic})`);

      // An encrypted image from sam, stored on Synapse: gemeng fetches it, the app decrypts.
      const samPng = testPng(200, 150);
      const encrypted = await encryptFile(samPng);
      const uploaded = await samClient.uploadContent(new Blob([encrypted.ciphertext]), {
        type: "application/octet-stream",
        includeFilename: false,
      });
      await samClient.sendMessage(
        roomId,
        {
          msgtype: "m.image",
          body: "bréifkëscht.png",
          file: { ...encrypted.file, url: uploaded.content_uri },
          info: { mimetype: "image/png", w: 200, h: 150, size: samPng.length },
        } as unknown as Parameters<sdk.MatrixClient["sendMessage"]>[2],
      );
      await waitForImage(page, "bréifkëscht.png");

      // gemeng carried ciphertext only: no text and neither picture in the clear.
      const values = await dumpKv(gemeng.hs.kv);
      assert(values.length > 100, "the store was read");
      assertEquals(values.filter((v) => v.includes(marker)), [], "no plaintext in gemeng's KV");
      const stored = await kvBytes(gemeng.hs.kv);
      for (const picture of [png, samPng]) {
        // The pixel data after the 33-byte signature and header chunk.
        const body = picture.slice(33, 97);
        assert(!stored.some((bytes) => contains(bytes, body)), "an image stored in the clear");
      }
      assertEquals(errors, [], "the page threw");
    } catch (err) {
      console.error(await synapse.logTail(60));
      throw err;
    } finally {
      stopAll(...clients);
      await browser?.close();
      await gemeng.close();
      await synapse.stop();
    }
  },
});
