/**
 * End-to-end encryption between gemeng and the Synapse 1.67 peer, both users on
 * matrix-js-sdk with its Rust crypto: an encrypted room on Synapse joined by a gemeng user,
 * each reads the other's messages (device keys, one-time keys and room keys cross over as
 * `/user/keys/*` requests and `m.direct_to_device` EDUs); the Synapse user signs in on a second
 * device, gemeng learns of it (`m.device_list_update`), and that device reads new messages; the
 * gemeng user's second device is learnt by Synapse the same way and reads new messages. A
 * device deleted on either side stops receiving keys: the sender's client, told of the deletion
 * over federation, sends the new room key to the remaining device only. Both users set up
 * cross-signing, see the other's keys unverified, verify each other with emoji (SAS, to-device
 * across the servers) and then see the other as verified. Encrypted files cross both ways
 * through the media repositories (gemeng fetching from Synapse, Synapse from gemeng) and
 * decrypt. The gemeng node's KV holds no plaintext of the messages or the files.
 *
 * @module
 */

import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { dumpKv } from "../integration/e2ee_support.ts";
import { flushCrypto, stopAll } from "../integration/e2ee_sdk_support.ts";
import type { EncryptedFile } from "../../web/src/matrix/attachments.ts";
import {
  type Account,
  bootstrapCrossSigning,
  decrypted,
  downloadDecrypted,
  knownDevices,
  kvHoldsBytes,
  passwordAuth,
  reads,
  startedClient,
  ToDeviceLog,
  until,
  uploadEncrypted,
  verifyBySas,
  whoami,
} from "./support/e2ee_sdk.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";

/** The megolm session of the decrypted message with `body`. */
function sessionOf(client: sdk.MatrixClient, roomId: string, body: string): string {
  const event = decrypted(client, roomId, (content) => content.body === body);
  assert(event, `no decrypted message "${body}"`);
  return event.getWireContent().session_id;
}

/** Whether `client` sees `userId` as cross-signing verified (asking the server again). */
async function seesVerified(client: sdk.MatrixClient, userId: string): Promise<boolean> {
  // The signature is uploaded after the verification ends, and nothing need tell the client
  // of it: query the keys again, as the web app does.
  // deno-lint-ignore no-explicit-any
  await (client.getCrypto() as any).markAllTrackedUsersAsDirty();
  await flushCrypto(client);
  return (await client.getCrypto()!.getUserVerificationStatus(userId)).isCrossSigningVerified();
}

Deno.test({
  name: "gemeng and Synapse: an encrypted room with matrix-js-sdk Rust crypto on both sides",
  ...skipUnless(SYNAPSE_MISSING),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    const clients: sdk.MatrixClient[] = [];
    // A failed step ends the test: the later ones build on it.
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
    };
    try {
      const samUser = await synapse.register("sam");
      const ginaUser = await gemeng.register("gina");
      const sam: Account = {
        ...samUser,
        password: "pw-sam-secret",
        deviceId: await whoami(synapse.clientUrl, samUser.accessToken),
      };
      const gina: Account = {
        ...ginaUser,
        password: "pw-gina-secret",
        deviceId: await whoami(gemeng.baseUrl, ginaUser.accessToken),
      };
      const samLog = new ToDeviceLog();
      const ginaLog = new ToDeviceLog();
      const samClient = await startedClient(synapse.clientUrl, sam, { log: samLog });
      const ginaClient = await startedClient(gemeng.baseUrl, gina, { log: ginaLog });
      clients.push(samClient, ginaClient);

      const { room_id: roomId } = await samClient.createRoom({
        preset: sdk.Preset.PublicChat,
        room_version: "10",
        initial_state: [{
          type: "m.room.encryption",
          state_key: "",
          content: { algorithm: "m.megolm.v1.aes-sha2" },
        }],
      } as sdk.ICreateRoomOpts);
      await ginaClient.joinRoom(roomId, { viaServers: [synapse.serverName] });
      for (const client of [samClient, ginaClient]) {
        await until(
          "both joined, the room encrypted",
          () =>
            client.getRoom(roomId)?.hasEncryptionStateEvent() &&
            client.getRoom(roomId)?.getMember(sam.userId)?.membership === "join" &&
            client.getRoom(roomId)?.getMember(gina.userId)?.membership === "join",
        );
      }

      const marker = `marker-${crypto.randomUUID()}`;
      await samClient.sendTextMessage(roomId, `hello gina ${marker}`);
      await until(
        "gina reads sam's message",
        () => reads(ginaClient, roomId, `hello gina ${marker}`),
      );
      await ginaClient.sendTextMessage(roomId, `hi sam ${marker}`);
      await until("sam reads gina's message", () => reads(samClient, roomId, `hi sam ${marker}`));

      // Second devices on both sides, each learnt by the other server and reading new messages.
      let sam2: Account | undefined;
      let sam2Client: sdk.MatrixClient | undefined;
      await step("sam's second device (Synapse) receives keys", async () => {
        const login = await synapse.request("POST", "/_matrix/client/v3/login", {
          body: { ...passwordAuth(sam, undefined), session: undefined },
        });
        assertEquals(login.status, 200, JSON.stringify(login.body));
        sam2 = { ...sam, accessToken: login.body.access_token, deviceId: login.body.device_id };
        sam2Client = await startedClient(synapse.clientUrl, sam2);
        clients.push(sam2Client);
        await until(
          "gina's client knows sam's second device",
          async () => (await knownDevices(ginaClient, sam.userId)).includes(sam2!.deviceId),
        );
        await ginaClient.sendTextMessage(roomId, `for both devices ${marker}`);
        await until(
          "sam's second device reads gina's new message",
          () => reads(sam2Client!, roomId, `for both devices ${marker}`),
        );
        await until(
          "sam's first device reads it too",
          () => reads(samClient, roomId, `for both devices ${marker}`),
        );
      });

      let gina2: Account | undefined;
      let gina2Client: sdk.MatrixClient | undefined;
      await step("gina's second device (gemeng) receives keys", async () => {
        // Synapse learns of it from our m.device_list_update.
        const login = await gemeng.request("POST", "/_matrix/client/v3/login", {
          body: { ...passwordAuth(gina, undefined), session: undefined },
        });
        assertEquals(login.status, 200, JSON.stringify(login.body));
        gina2 = { ...gina, accessToken: login.body.access_token, deviceId: login.body.device_id };
        gina2Client = await startedClient(gemeng.baseUrl, gina2);
        clients.push(gina2Client);
        await until(
          "sam's client knows gina's second device",
          async () => (await knownDevices(samClient, gina.userId)).includes(gina2!.deviceId),
        );
        await samClient.sendTextMessage(roomId, `to gina's devices ${marker}`);
        await until(
          "gina's second device reads sam's new message",
          () => reads(gina2Client!, roomId, `to gina's devices ${marker}`),
        );
        await until(
          "gina's first device reads it too",
          () => reads(ginaClient, roomId, `to gina's devices ${marker}`),
        );
      });

      await step("a device deleted on Synapse stops receiving gina's keys", async () => {
        sam2Client!.stopClient();
        const deleteDevice = (auth?: unknown) =>
          synapse.request("DELETE", `/_matrix/client/v3/devices/${sam2!.deviceId}`, {
            token: sam.accessToken,
            body: auth ? { auth } : {},
          });
        const challenge = await deleteDevice();
        assertEquals(challenge.status, 401, JSON.stringify(challenge.body));
        const deleted = await deleteDevice(passwordAuth(sam, challenge.body.session));
        assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
        await until(
          "gina's client forgets sam's deleted device",
          async () => !(await knownDevices(ginaClient, sam.userId)).includes(sam2!.deviceId),
        );

        ginaLog.clear();
        const body = `after sam's device went ${marker}`;
        await ginaClient.sendTextMessage(roomId, body);
        await until("sam's first device reads it", () => reads(samClient, roomId, body));
        // A new megolm session, its key sent to sam's remaining device only.
        assert(
          sessionOf(ginaClient, roomId, body) !==
            sessionOf(ginaClient, roomId, `for both devices ${marker}`),
          "gina's client rotated the room key",
        );
        assertEquals(ginaLog.devicesOf(sam.userId), [sam.deviceId]);
      });

      await step("a device deleted on gemeng stops receiving sam's keys", async () => {
        // Synapse learns of it from our m.device_list_update with deleted=true.
        gina2Client!.stopClient();
        const path = `/_matrix/client/v3/devices/${gina2!.deviceId}`;
        const challenge = await gemeng.request("DELETE", path, {
          token: gina.accessToken,
          body: {},
        });
        assertEquals(challenge.status, 401, JSON.stringify(challenge.body));
        const deleted = await gemeng.request("DELETE", path, {
          token: gina.accessToken,
          body: { auth: passwordAuth(gina, challenge.body.session) },
        });
        assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
        await until(
          "sam's client forgets gina's deleted device",
          async () => !(await knownDevices(samClient, gina.userId)).includes(gina2!.deviceId),
        );

        samLog.clear();
        const body = `after gina's device went ${marker}`;
        await samClient.sendTextMessage(roomId, body);
        await until("gina's first device reads it", () => reads(ginaClient, roomId, body));
        assert(
          sessionOf(ginaClient, roomId, body) !==
            sessionOf(ginaClient, roomId, `to gina's devices ${marker}`),
          "sam's client rotated the room key",
        );
        assertEquals(samLog.devicesOf(gina.userId), [gina.deviceId]);
      });

      await step(
        "cross-signing: each sees the other unverified, then verified by emoji",
        async () => {
          await bootstrapCrossSigning(samClient, sam);
          await bootstrapCrossSigning(ginaClient, gina);
          // Each server tells the other of the new keys (m.signing_key_update).
          await until(
            "gina's client sees sam's cross-signing keys",
            () => ginaClient.getCrypto()!.userHasCrossSigningKeys(sam.userId, true),
          );
          await until(
            "sam's client sees gina's cross-signing keys",
            () => samClient.getCrypto()!.userHasCrossSigningKeys(gina.userId, true),
          );
          const before = await ginaClient.getCrypto()!.getUserVerificationStatus(sam.userId);
          assert(!before.isCrossSigningVerified(), "sam is not verified yet");
          const samBefore = await samClient.getCrypto()!.getUserVerificationStatus(gina.userId);
          assert(!samBefore.isCrossSigningVerified(), "gina is not verified yet");

          const emoji = await verifyBySas(ginaClient, samClient);
          assertEquals(emoji.length, 7);
          await until("gina sees sam verified", () => seesVerified(ginaClient, sam.userId));
          await until("sam sees gina verified", () => seesVerified(samClient, gina.userId));
          const device = await ginaClient.getCrypto()!.getDeviceVerificationStatus(
            sam.userId,
            sam.deviceId,
          );
          assert(device?.crossSigningVerified, "sam's device is verified through sam's identity");
        },
      );

      const fileMarker = `file-marker-${crypto.randomUUID()}`;
      const ciphertexts: Uint8Array[] = [];
      await step("encrypted files cross both ways and decrypt", async () => {
        const fileEvent = (file: EncryptedFile, name: string) => ({
          msgtype: "m.file",
          body: name,
          info: { mimetype: "application/octet-stream", size: 0 },
          file,
        });
        const fileOf = (client: sdk.MatrixClient, name: string) =>
          decrypted(client, roomId, (c) => c.msgtype === "m.file" && c.body === name)
            ?.getClearContent()?.file as EncryptedFile | undefined;

        // Sam's file: uploaded to Synapse, downloaded by gina through gemeng (which fetches
        // it from Synapse over federation).
        const samBytes = new TextEncoder().encode(`sam's report ${fileMarker} `.repeat(200));
        const samUpload = await uploadEncrypted(synapse.clientUrl, sam.accessToken, samBytes);
        assert(samUpload.file.url.startsWith(`mxc://${synapse.serverName}/`));
        ciphertexts.push(samUpload.ciphertext);
        // deno-lint-ignore no-explicit-any
        await samClient.sendMessage(roomId, fileEvent(samUpload.file, "sam.bin") as any);
        const samFile = await until(
          "gina decrypts sam's file event",
          () => fileOf(ginaClient, "sam.bin"),
        );
        const ginaGot = await downloadDecrypted(
          `${gemeng.baseUrl}/_matrix/client/v1/media/download`,
          gina.accessToken,
          samFile,
        );
        assertEquals(ginaGot, samBytes);

        // Gina's file: uploaded to gemeng, downloaded by sam through Synapse (which fetches it
        // from gemeng).
        const ginaBytes = new TextEncoder().encode(`gina's answer ${fileMarker} `.repeat(200));
        const ginaUpload = await uploadEncrypted(gemeng.baseUrl, gina.accessToken, ginaBytes);
        assert(ginaUpload.file.url.startsWith(`mxc://${gemeng.serverName}/`));
        ciphertexts.push(ginaUpload.ciphertext);
        // deno-lint-ignore no-explicit-any
        await ginaClient.sendMessage(roomId, fileEvent(ginaUpload.file, "gina.bin") as any);
        const ginaFile = await until(
          "sam decrypts gina's file event",
          () => fileOf(samClient, "gina.bin"),
        );
        const samGot = await downloadDecrypted(
          `${synapse.clientUrl}/_matrix/media/v3/download`,
          sam.accessToken,
          ginaFile,
        );
        assertEquals(samGot, ginaBytes);
      });

      await step("the gemeng node holds ciphertext only", async () => {
        const values = await dumpKv(gemeng.hs.kv);
        assert(values.length > 100, "the store was read");
        assertEquals(values.filter((v) => v.includes(marker)), [], "no message plaintext");
        assertEquals(values.filter((v) => v.includes(fileMarker)), [], "no file plaintext");
        // The scan sees the files: both ciphertexts (the one uploaded here and the one cached
        // from Synapse) are in the store.
        for (const ciphertext of ciphertexts) {
          assert(await kvHoldsBytes(gemeng.hs.kv, ciphertext.subarray(0, 64)), "ciphertext stored");
        }
      });
    } catch (err) {
      console.error(await synapse.logTail(60));
      throw err;
    } finally {
      stopAll(...clients);
      await gemeng.close();
      await synapse.stop();
    }
  },
});
