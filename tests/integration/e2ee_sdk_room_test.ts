/**
 * End-to-end encryption with matrix-js-sdk's Rust crypto over real rooms and real `/sync`:
 * two users read each other's encrypted messages (and the server keeps no plaintext of them),
 * a second device reads new messages after it is cross-signed, a new device restores old keys
 * from the server-side backup with the recovery key, a deleted device stops receiving keys, and
 * room keys follow joins and leaves.
 */
import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import type { TestServer } from "../support/test_server.ts";
import { until } from "../support/until.ts";
import { decodeRecoveryKey, encodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { dumpKv, passwordAuth } from "./e2ee_support.ts";
import { sdkServerTest, startedSdkClient, ToDeviceLog } from "./e2ee_sdk_support.ts";

/** The decrypted bodies of a room's encrypted messages, as one client sees them. */
function decryptedBodies(client: sdk.MatrixClient, roomId: string): string[] {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events
    .filter((e) => e.isEncrypted() && !e.isDecryptionFailure())
    .map((e) => e.getClearContent()?.body)
    .filter((body): body is string => typeof body === "string");
}

/** Whether a client sees `body` decrypted in the room. */
function reads(client: sdk.MatrixClient, roomId: string, body: string): boolean {
  return decryptedBodies(client, roomId).includes(body);
}

/**
 * Registers alice (device ALICE1) and bob (device BOB1) and starts a syncing client for each,
 * added to `clients` so that the test stops them.
 */
async function aliceAndBob(t: TestServer, clients: sdk.MatrixClient[]) {
  const alice = await t.register("alice", { deviceId: "ALICE1" });
  const bob = await t.register("bob", { deviceId: "BOB1" });
  const aliceClient = await startedSdkClient(t, alice);
  const bobClient = await startedSdkClient(t, bob);
  clients.push(aliceClient, bobClient);
  return { alice, bob, aliceClient, bobClient };
}

/** Creates a private (hence encrypted by default) room with `invitees` joined. */
async function encryptedRoom(
  owner: sdk.MatrixClient,
  invitees: sdk.MatrixClient[],
): Promise<string> {
  const { room_id: roomId } = await owner.createRoom({ preset: sdk.Preset.PrivateChat });
  for (const invitee of invitees) {
    await owner.invite(roomId, invitee.getUserId()!);
    await until("the invite", () => invitee.getRoom(roomId)?.getMyMembership() === "invite");
    await invitee.joinRoom(roomId);
  }
  for (const client of [owner, ...invitees]) {
    await until(
      "everyone joined and the room encrypted",
      () =>
        client.getRoom(roomId)?.hasEncryptionStateEvent() &&
        invitees.every((i) =>
          client.getRoom(roomId)?.getMember(i.getUserId()!)?.membership === "join"
        ),
    );
  }
  return roomId;
}

sdkServerTest(
  "sdk e2ee: two users read each other's encrypted messages; the server stores no plaintext",
  async (t, clients) => {
    const { alice, aliceClient, bobClient } = await aliceAndBob(t, clients);
    const roomId = await encryptedRoom(aliceClient, [bobClient]);

    const marker = `marker-${crypto.randomUUID()}`;
    await aliceClient.sendTextMessage(roomId, `hello bob ${marker}`);
    await until(
      "bob reads alice's message",
      () => reads(bobClient, roomId, `hello bob ${marker}`),
    );
    await bobClient.sendTextMessage(roomId, `hi alice ${marker}`);
    await until(
      "alice reads bob's message",
      () => reads(aliceClient, roomId, `hi alice ${marker}`),
    );

    // What the server holds: ciphertext in the room, no marker anywhere in the store.
    const stored = await t.request(
      "GET",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
      { token: alice.accessToken },
    );
    const encrypted = stored.body.chunk.filter((e: { type: string }) =>
      e.type === "m.room.encrypted"
    );
    assertEquals(encrypted.length, 2);
    const values = await dumpKv(t.hs.kv);
    assert(values.length > 100, "the store was read");
    const leaks = values.filter((v) => v.includes(marker));
    assertEquals(leaks, [], "no KV value contains the plaintext marker");
  },
);

/** Whether a client has the event with `body`'s session but cannot decrypt it (no key). */
function undecryptable(client: sdk.MatrixClient, roomId: string): number {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.filter((e) => e.isEncrypted() && e.isDecryptionFailure()).length;
}

/** The devices of `userId` a client knows. */
async function knownDevices(client: sdk.MatrixClient, userId: string): Promise<string[]> {
  const devices = await client.getCrypto()!.getUserDeviceInfo([userId], true);
  return [...devices.get(userId)?.keys() ?? []].sort();
}

/** Bootstraps cross-signing (the first upload needs no UIA). */
async function bootstrapCrossSigning(client: sdk.MatrixClient): Promise<void> {
  await client.getCrypto()!.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
      await makeRequest(null);
    },
  });
}

sdkServerTest(
  "sdk e2ee: a second device reads new messages once it is cross-signed",
  async (t, clients) => {
    const alice = await t.register("alice", { deviceId: "ALICE1" });
    const first = await startedSdkClient(t, alice);
    clients.push(first);
    await bootstrapCrossSigning(first);
    assert(await first.getCrypto()!.isCrossSigningReady());
    const roomId = await encryptedRoom(first, []);
    // The first device shares room keys only with devices it considers verified.
    first.getCrypto()!.globalBlacklistUnverifiedDevices = true;

    const alice2 = await t.login("alice", alice.password, { device_id: "ALICE2" });
    const second = await startedSdkClient(t, alice2);
    clients.push(second);
    // The first device learns of the second through its sync's device_lists.
    await until(
      "the first device sees the second",
      async () => (await knownDevices(first, alice.userId)).includes("ALICE2"),
    );

    await first.sendTextMessage(roomId, "before verification");
    await until("the second device gets the message", () => undecryptable(second, roomId) > 0);

    await first.getCrypto()!.crossSignDevice("ALICE2");
    await until(
      "the second device is verified",
      async () =>
        (await first.getCrypto()!.getDeviceVerificationStatus(alice.userId, "ALICE2"))
          ?.crossSigningVerified,
    );
    await first.sendTextMessage(roomId, "after verification");
    await until("the second device reads it", () => reads(second, roomId, "after verification"));
    assert(!reads(second, roomId, "before verification"), "no key before the verification");
    // The second device sees itself as cross-signed by its owner too.
    await until(
      "the second device trusts its own signature",
      async () =>
        (await second.getCrypto()!.getDeviceVerificationStatus(alice.userId, "ALICE2"))
          ?.signedByOwner,
    );
  },
);

sdkServerTest(
  "sdk e2ee: a new device restores old room keys from the server-side backup",
  async (t, clients) => {
    const { alice, aliceClient: first, bobClient } = await aliceAndBob(t, clients);
    const crypto1 = first.getCrypto()!;
    // deno-lint-ignore no-explicit-any
    (crypto1 as any).backupManager.constructor.maxBackupLoopStartDelayMillis = 0;
    await crypto1.resetKeyBackup();
    const version = (await crypto1.getActiveSessionBackupVersion())!;
    assert(version, "a backup version is active");
    const recoveryKey = encodeRecoveryKey((await crypto1.getSessionBackupPrivateKey())!)!;

    const roomId = await encryptedRoom(first, [bobClient]);
    await bobClient.sendTextMessage(roomId, "an old secret");
    await first.sendTextMessage(roomId, "another old secret");
    await until("alice reads bob's message", () => reads(first, roomId, "an old secret"));
    // Both megolm sessions (Bob's and Alice's own) reach the backup.
    await until("the keys are backed up", async () => {
      const res = await t.request("GET", "/_matrix/client/v3/room_keys/version", {
        token: alice.accessToken,
      });
      return res.body.count >= 2;
    });
    // The backup holds session keys encrypted to the backup key: no message text either.
    const values = await dumpKv(t.hs.kv);
    assertEquals(values.filter((v) => v.includes("old secret")), []);

    const alice3 = await t.login("alice", alice.password, { device_id: "ALICE3" });
    const fresh = await startedSdkClient(t, alice3);
    clients.push(fresh);
    await until(
      "the new device cannot read history yet",
      () => undecryptable(fresh, roomId) >= 2,
    );
    const crypto3 = fresh.getCrypto()!;
    await crypto3.storeSessionBackupPrivateKey(decodeRecoveryKey(recoveryKey), version);
    const result = await crypto3.restoreKeyBackup();
    assert(result.imported >= 2, `imported ${result.imported} of ${result.total}`);
    await until(
      "the new device reads bob's old message",
      () => reads(fresh, roomId, "an old secret"),
    );
    await until(
      "the new device reads alice's old message",
      () => reads(fresh, roomId, "another old secret"),
    );
  },
);

sdkServerTest(
  "sdk e2ee: a deleted device stops receiving room keys",
  async (t, clients) => {
    // The to-device messages Alice's client sends (room keys travel that way).
    const toDevice = new ToDeviceLog();
    const alice = await t.register("alice", { deviceId: "ALICE1" });
    const bob = await t.register("bob", { deviceId: "BOB1" });
    const bob2 = await t.login("bob", bob.password, { device_id: "BOB2" });
    const aliceClient = await startedSdkClient(t, alice, { fetchFn: toDevice.fetchFn });
    const bobClient = await startedSdkClient(t, bob);
    const bob2Client = await startedSdkClient(t, bob2);
    clients.push(aliceClient, bobClient, bob2Client);
    const roomId = await encryptedRoom(aliceClient, [bobClient]);
    await until("bob's second device sees the room", () => bob2Client.getRoom(roomId));
    await until(
      "alice's client knows both of bob's devices",
      async () => (await knownDevices(aliceClient, bob.userId)).length === 2,
    );

    await aliceClient.sendTextMessage(roomId, "to both devices");
    await until("BOB1 reads it", () => reads(bobClient, roomId, "to both devices"));
    await until("BOB2 reads it", () => reads(bob2Client, roomId, "to both devices"));
    assert(toDevice.devicesAddressed().includes("BOB2"), "BOB2 got the first room key");

    // Bob deletes his second device (user-interactive auth with his password).
    bob2Client.stopClient();
    const path = `/_matrix/client/v3/devices/BOB2`;
    const challenge = await t.request("DELETE", path, { token: bob.accessToken, body: {} });
    assertEquals(challenge.status, 401);
    const deleted = await t.request("DELETE", path, {
      token: bob.accessToken,
      body: { auth: passwordAuth(bob, challenge.body.session) },
    });
    assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
    await until(
      "alice's client learns of the deletion through sync",
      async () => !(await knownDevices(aliceClient, bob.userId)).includes("BOB2"),
    );

    toDevice.clear();
    const { event_id: second } = await aliceClient.sendTextMessage(roomId, "to BOB1 only");
    await until("BOB1 reads it", () => reads(bobClient, roomId, "to BOB1 only"));
    assert(toDevice.devicesAddressed().includes("BOB1"), "a new room key went to BOB1");
    assertEquals(
      toDevice.devicesAddressed().filter((d) => d === "BOB2"),
      [],
      "no room key went to BOB2",
    );
    // The session was rotated, so the key BOB2 holds does not open the new message.
    const room = bobClient.getRoom(roomId)!;
    const sessions = room.getLiveTimeline().getEvents()
      .filter((e) => e.isEncrypted())
      .map((e) => ({ id: e.getId(), session: e.getWireContent().session_id }));
    const newSession = sessions.find((s) => s.id === second)!.session;
    const oldSession = sessions.find((s) => s.id !== second && s.session)!.session;
    assert(newSession !== oldSession, "a new megolm session after the deletion");
    // Nothing waits for BOB2 on the server either.
    const inbox = await Array.fromAsync(
      t.hs.kv.list({ prefix: ["e2ee_to_device", bob.userId, "BOB2"] }),
    );
    assertEquals(inbox.length, 0);
  },
);

sdkServerTest(
  "sdk e2ee: a member who joins later reads new messages; one who left gets no new keys",
  async (t, clients) => {
    const toDevice = new ToDeviceLog();
    const alice = await t.register("alice", { deviceId: "ALICE1" });
    const bob = await t.register("bob", { deviceId: "BOB1" });
    const carol = await t.register("carol", { deviceId: "CAROL1" });
    const aliceClient = await startedSdkClient(t, alice, { fetchFn: toDevice.fetchFn });
    const bobClient = await startedSdkClient(t, bob);
    const carolClient = await startedSdkClient(t, carol);
    clients.push(aliceClient, bobClient, carolClient);
    const roomId = await encryptedRoom(aliceClient, [bobClient]);
    await aliceClient.sendTextMessage(roomId, "before carol");
    await until("bob reads it", () => reads(bobClient, roomId, "before carol"));

    // Carol joins: Alice's client learns her devices through device_lists and shares a key.
    await aliceClient.invite(roomId, carol.userId);
    await until(
      "carol's invite",
      () => carolClient.getRoom(roomId)?.getMyMembership() === "invite",
    );
    await carolClient.joinRoom(roomId);
    await until(
      "alice sees carol join",
      () => aliceClient.getRoom(roomId)?.getMember(carol.userId)?.membership === "join",
    );
    await aliceClient.sendTextMessage(roomId, "welcome carol");
    await until("carol reads it", () => reads(carolClient, roomId, "welcome carol"));
    await until("bob reads it", () => reads(bobClient, roomId, "welcome carol"));

    // Bob leaves: the next message's key goes to Carol only.
    await bobClient.leave(roomId);
    await until(
      "alice sees bob leave",
      () => aliceClient.getRoom(roomId)?.getMember(bob.userId)?.membership === "leave",
    );
    toDevice.clear();
    await aliceClient.sendTextMessage(roomId, "after bob left");
    await until("carol reads it", () => reads(carolClient, roomId, "after bob left"));
    assert(toDevice.usersAddressed().includes(carol.userId), "a new room key went to carol");
    assert(!toDevice.usersAddressed().includes(bob.userId), "no room key went to bob");
  },
);
