/**
 * E2EE over real rooms: default encryption of new rooms, and device lists in `/sync` and
 * `/keys/changes` after joins, leaves, new devices and device deletion.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { createRoom, enc, getState, roomPost, V3, withRoomServer } from "./rooms_support.ts";
import { passwordAuth, TestDevice, uploadKeys } from "./e2ee_support.ts";

async function encryptionOf(t: TestServer, user: TestUser, roomId: string) {
  const res = await getState(t, user, roomId, "m.room.encryption");
  return res.status === 200 ? res.body : null;
}

Deno.test("createRoom: default encryption under default_for = invite", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    await t.register("bob");
    const megolm = { algorithm: "m.megolm.v1.aes-sha2" };
    assertEquals(await encryptionOf(t, alice, await createRoom(t, alice)), megolm);
    assertEquals(
      await encryptionOf(t, alice, await createRoom(t, alice, { preset: "trusted_private_chat" })),
      megolm,
    );
    const publicRoom = await createRoom(t, alice, { preset: "public_chat" });
    assertEquals(await encryptionOf(t, alice, publicRoom), null);
    assertEquals(
      await encryptionOf(t, alice, await createRoom(t, alice, { visibility: "public" })),
      null,
    );
    const dm = await createRoom(t, alice, {
      preset: "public_chat",
      is_direct: true,
      invite: ["@bob:localhost"],
    });
    assertEquals(await encryptionOf(t, alice, dm), megolm);
    // The request's own m.room.encryption wins, and is the only one sent.
    const own = await createRoom(t, alice, {
      initial_state: [{
        type: "m.room.encryption",
        state_key: "",
        content: { algorithm: "m.megolm.v1.aes-sha2", rotation_period_msgs: 10 },
      }],
    });
    assertEquals(await encryptionOf(t, alice, own), {
      algorithm: "m.megolm.v1.aes-sha2",
      rotation_period_msgs: 10,
    });
    const events = await t.request("GET", `${V3}/rooms/${enc(own)}/messages?dir=b&limit=50`, {
      token: alice.accessToken,
    });
    assertEquals(
      events.body.chunk.filter((e: { type: string }) => e.type === "m.room.encryption").length,
      1,
    );
  });
});

Deno.test("createRoom: default_for = all and off", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const room = await createRoom(t, alice, { preset: "public_chat" });
    assertEquals(await encryptionOf(t, alice, room), { algorithm: "m.megolm.v1.aes-sha2" });
  }, { e2ee: { default_for: "all" } });
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    await t.register("bob");
    assertEquals(await encryptionOf(t, alice, await createRoom(t, alice)), null);
    const dm = await createRoom(t, alice, { is_direct: true, invite: ["@bob:localhost"] });
    assertEquals(await encryptionOf(t, alice, dm), null);
  }, { e2ee: { default_for: "off" } });
});

async function sync(t: TestServer, user: TestUser, since?: string, timeout = 0) {
  const query = since ? `?since=${enc(since)}&timeout=${timeout}` : "?timeout=0";
  const res = await t.request("GET", `${V3}/sync${query}`, { token: user.accessToken });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function keyChanges(t: TestServer, user: TestUser, from: string, to: string) {
  const res = await t.request(
    "GET",
    `${V3}/keys/changes?from=${enc(from)}&to=${enc(to)}`,
    { token: user.accessToken },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return { changed: [...res.body.changed].sort(), left: [...res.body.left].sort() };
}

/** Syncs from `since`, checks device_lists and /keys/changes agree; returns the next token. */
async function expectLists(
  t: TestServer,
  user: TestUser,
  since: string,
  expected: { changed: string[]; left: string[] },
): Promise<string> {
  const body = await sync(t, user, since);
  const lists = body.device_lists ?? { changed: [], left: [] };
  const got = { changed: [...lists.changed].sort(), left: [...lists.left].sort() };
  const want = { changed: [...expected.changed].sort(), left: [...expected.left].sort() };
  assertEquals(got, want, `sync of ${user.userId}`);
  assertEquals(await keyChanges(t, user, since, body.next_batch), want, "keys/changes");
  return body.next_batch;
}

Deno.test("device lists: sync and /keys/changes follow joins, leaves, new and deleted devices", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const A = alice.userId, B = bob.userId;
    const room = await createRoom(t, alice, { preset: "public_chat" });
    let aliceSince = (await sync(t, alice)).next_batch;
    const carolSince = (await sync(t, carol)).next_batch;

    // Bob's keys before he shares a room: Alice hears of him only when he joins.
    const bobDevice = await TestDevice.create(bob);
    assertEquals(
      (await uploadKeys(t, bob, { device_keys: await bobDevice.deviceKeys() })).status,
      200,
    );
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [], left: [] });
    assertEquals((await roomPost(t, bob, room, "join")).status, 200);
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [B], left: [] });
    let bobSince = (await sync(t, bob)).next_batch;

    // A new device of Bob's (login + key upload) is reported to Alice, not to Carol.
    const bob2 = await t.login("bob", bob.password);
    const bob2Device = await TestDevice.create(bob2);
    assertEquals(
      (await uploadKeys(t, bob2, { device_keys: await bob2Device.deviceKeys() })).status,
      200,
    );
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [B], left: [] });
    await expectLists(t, carol, carolSince, { changed: [], left: [] });

    // A long-polling sync of Alice's is woken by Bob's device change.
    const waiting = sync(t, alice, aliceSince, 20_000);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const bob3 = await t.login("bob", bob.password);
    const bob3Device = await TestDevice.create(bob3);
    await uploadKeys(t, bob3, { device_keys: await bob3Device.deviceKeys() });
    const woken = await waiting;
    assert(Date.now() - started < 10_000, "the long-poll was woken");
    assertEquals(woken.device_lists?.changed, [B]);
    aliceSince = woken.next_batch;

    // Deleting a device is a change as well, and its keys are gone from /keys/query.
    const first = await t.request("POST", `${V3}/delete_devices`, {
      token: bob.accessToken,
      body: { devices: [bob3.deviceId] },
    });
    assertEquals(first.status, 401);
    const deleted = await t.request("POST", `${V3}/delete_devices`, {
      token: bob.accessToken,
      body: { devices: [bob3.deviceId], auth: passwordAuth(bob, first.body.session) },
    });
    assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [B], left: [] });
    const query = await t.request("POST", `${V3}/keys/query`, {
      token: alice.accessToken,
      body: { device_keys: { [B]: [] } },
    });
    assertEquals(
      Object.keys(query.body.device_keys[B]).sort(),
      [bob.deviceId, bob2.deviceId].sort(),
    );

    // Bob sees Alice's changes too, and his own.
    const aliceDevice = await TestDevice.create(alice);
    await uploadKeys(t, alice, { device_keys: await aliceDevice.deviceKeys() });
    bobSince = await expectLists(t, bob, bobSince, { changed: [A, B], left: [] });

    // Bob leaves: Alice is told he left, and hears no more of his devices.
    assertEquals((await roomPost(t, bob, room, "leave")).status, 200);
    // (Alice's own new keys count as a change of hers.)
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [A], left: [B] });
    bobSince = await expectLists(t, bob, bobSince, { changed: [], left: [A] });
    const bob4 = await t.login("bob", bob.password);
    await uploadKeys(t, bob4, { device_keys: await (await TestDevice.create(bob4)).deviceKeys() });
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [], left: [] });

    // Alice joining Carol's room makes Carol and Alice learn of each other.
    const carolRoom = await createRoom(t, carol, { preset: "public_chat" });
    const carolNow = (await sync(t, carol)).next_batch;
    assertEquals((await roomPost(t, alice, carolRoom, "join")).status, 200);
    aliceSince = await expectLists(t, alice, aliceSince, { changed: [A, carol.userId], left: [] });
    await expectLists(t, carol, carolNow, { changed: [A], left: [] });
  });
});
