/**
 * End-to-end encryption with matrix-js-sdk's Rust crypto over real rooms and real `/sync`:
 * two users read each other's encrypted messages (and the server keeps no plaintext of them),
 * a second device reads new messages after it is cross-signed, a new device restores old keys
 * from the server-side backup with the recovery key, and a deleted device stops receiving keys.
 */
import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { dumpKv } from "./e2ee_support.ts";
import { sdkClient, stopAll } from "./e2ee_sdk_support.ts";

const TIMEOUT = 30_000;

/** Waits until `check` returns a truthy value (the client's sync loop updates its state). */
async function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = TIMEOUT,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value as T;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A Rust-crypto client that syncs (long-polls) until stopped. */
async function startedClient(t: TestServer, user: TestUser): Promise<sdk.MatrixClient> {
  const client = await sdkClient(t, user);
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
  return client;
}

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

Deno.test({
  name: "sdk e2ee: two users read each other's encrypted messages; the server stores no plaintext",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestServer();
    const clients: sdk.MatrixClient[] = [];
    try {
      const alice = await t.register("alice", { deviceId: "ALICE1" });
      const bob = await t.register("bob", { deviceId: "BOB1" });
      const aliceClient = await startedClient(t, alice);
      const bobClient = await startedClient(t, bob);
      clients.push(aliceClient, bobClient);
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
    } finally {
      stopAll(...clients);
      await t.close();
    }
  },
});
