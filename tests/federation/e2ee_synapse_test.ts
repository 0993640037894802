/**
 * End-to-end encryption between gemeng and the Synapse 1.67 peer, both users on
 * matrix-js-sdk with its Rust crypto: an encrypted room on Synapse joined by a gemeng user,
 * each reads the other's messages (device keys, one-time keys and room keys cross over as
 * `/user/keys/*` requests and `m.direct_to_device` EDUs); the Synapse user signs in on a second
 * device, gemeng learns of it (`m.device_list_update`), and that device reads new messages; the
 * gemeng user's second device is learnt by Synapse the same way and reads new messages; a
 * device deleted on Synapse disappears from the gemeng user's client; the gemeng node's KV holds
 * no plaintext of the conversation.
 *
 * @module
 */

import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { dumpKv } from "../integration/e2ee_support.ts";
import { flushCrypto, quietLogger, stopAll } from "../integration/e2ee_sdk_support.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";

const TIMEOUT = 60_000;

type Account = { userId: string; accessToken: string; deviceId: string };

async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = TIMEOUT,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value as T;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function whoami(baseUrl: string, accessToken: string): Promise<string> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/account/whoami`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return body.device_id;
}

async function startedClient(baseUrl: string, account: Account): Promise<sdk.MatrixClient> {
  const client = sdk.createClient({
    baseUrl,
    userId: account.userId,
    deviceId: account.deviceId,
    accessToken: account.accessToken,
    logger: Deno.env.get("E2EE_DEBUG") ? undefined : quietLogger,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const prepared = new Promise<void>((resolve, reject) => {
    const onSync = (state: string) => {
      if (state === "PREPARED") {
        client.off(sdk.ClientEvent.Sync, onSync);
        resolve();
      } else if (state === "ERROR") reject(new Error("sync error"));
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 20 });
  await prepared;
  await flushCrypto(client);
  return client;
}

function reads(client: sdk.MatrixClient, roomId: string, body: string): boolean {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.some((e) =>
    e.isEncrypted() && !e.isDecryptionFailure() && e.getClearContent()?.body === body
  );
}

async function knownDevices(client: sdk.MatrixClient, userId: string): Promise<string[]> {
  const devices = await client.getCrypto()!.getUserDeviceInfo([userId], true);
  return [...devices.get(userId)?.keys() ?? []].sort();
}

Deno.test({
  name: "gemeng and Synapse: an encrypted room with matrix-js-sdk Rust crypto on both sides",
  ...skipUnless(SYNAPSE_MISSING),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    const clients: sdk.MatrixClient[] = [];
    try {
      const samUser = await synapse.register("sam");
      const ginaUser = await gemeng.register("gina");
      const sam: Account = {
        ...samUser,
        deviceId: await whoami(synapse.clientUrl, samUser.accessToken),
      };
      const gina: Account = {
        ...ginaUser,
        deviceId: await whoami(gemeng.baseUrl, ginaUser.accessToken),
      };
      const samClient = await startedClient(synapse.clientUrl, sam);
      const ginaClient = await startedClient(gemeng.baseUrl, gina);
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

      // Sam signs in on a second device: gemeng learns of it, and it reads new messages.
      const login = await synapse.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "sam" },
          password: "pw-sam-secret",
        },
      });
      assertEquals(login.status, 200, JSON.stringify(login.body));
      const sam2: Account = {
        userId: sam.userId,
        accessToken: login.body.access_token,
        deviceId: login.body.device_id,
      };
      const sam2Client = await startedClient(synapse.clientUrl, sam2);
      clients.push(sam2Client);
      await until(
        "gina's client knows sam's second device",
        async () => (await knownDevices(ginaClient, sam.userId)).includes(sam2.deviceId),
      );
      await ginaClient.sendTextMessage(roomId, `for both devices ${marker}`);
      await until(
        "sam's second device reads gina's new message",
        () => reads(sam2Client, roomId, `for both devices ${marker}`),
      );
      assert(
        await until(
          "sam's first device reads it too",
          () => reads(samClient, roomId, `for both devices ${marker}`),
        ),
      );

      // Gina signs in on a second device on gemeng: Synapse learns of it from our
      // m.device_list_update, and it reads sam's new message.
      const ginaLogin = await gemeng.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "gina" },
          password: "pw-gina-secret",
        },
      });
      assertEquals(ginaLogin.status, 200, JSON.stringify(ginaLogin.body));
      const gina2: Account = {
        userId: gina.userId,
        accessToken: ginaLogin.body.access_token,
        deviceId: ginaLogin.body.device_id,
      };
      const gina2Client = await startedClient(gemeng.baseUrl, gina2);
      clients.push(gina2Client);
      await until(
        "sam's client knows gina's second device",
        async () => (await knownDevices(samClient, gina.userId)).includes(gina2.deviceId),
      );
      await samClient.sendTextMessage(roomId, `to gina's devices ${marker}`);
      await until(
        "gina's second device reads sam's new message",
        () => reads(gina2Client, roomId, `to gina's devices ${marker}`),
      );

      // Sam deletes the second device: gemeng's cache and gina's client drop it.
      sam2Client.stopClient();
      const deleteDevice = (auth?: unknown) =>
        synapse.request("DELETE", `/_matrix/client/v3/devices/${sam2.deviceId}`, {
          token: sam.accessToken,
          body: auth ? { auth } : {},
        });
      const challenge = await deleteDevice();
      assertEquals(challenge.status, 401, JSON.stringify(challenge.body));
      const deleted = await deleteDevice({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "sam" },
        password: "pw-sam-secret",
        session: challenge.body.session,
      });
      assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
      await until(
        "gina's client forgets sam's deleted device",
        async () => !(await knownDevices(ginaClient, sam.userId)).includes(sam2.deviceId),
      );

      // The gemeng node holds ciphertext only.
      const values = await dumpKv(gemeng.hs.kv);
      assert(values.length > 100, "the store was read");
      assertEquals(values.filter((v) => v.includes(marker)), [], "no plaintext in gemeng's KV");
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
