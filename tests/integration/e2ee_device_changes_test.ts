/**
 * A user's device appearing, being renamed and being deleted shows in `device_lists.changed`
 * of the users who share a room with them, keys or no keys (the clients re-query and see the
 * new list or name).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";

async function syncSince(t: TestServer, user: TestUser, since?: string) {
  const query = since ? `?timeout=0&since=${encodeURIComponent(since)}` : "?timeout=0";
  const res = await t.request("GET", `/_matrix/client/v3/sync${query}`, {
    token: user.accessToken,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

Deno.test("device lists: a device's creation, renaming and deletion reach room-mates", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const created = await t.request("POST", "/_matrix/client/v3/createRoom", {
      token: alice.accessToken,
      body: { preset: "public_chat" },
    });
    assertEquals(created.status, 200);
    const roomId = created.body.room_id as string;
    const joinedRoom = await t.request(
      "POST",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`,
      { token: bob.accessToken, body: {} },
    );
    assertEquals(joinedRoom.status, 200);

    let aliceSince = (await syncSince(t, alice)).next_batch as string;
    let carolSince = (await syncSince(t, carol)).next_batch as string;
    /** Whether alice (a room-mate) sees bob changed, and carol (no shared room) does not. */
    const step = async (what: string) => {
      const a = await syncSince(t, alice, aliceSince);
      const c = await syncSince(t, carol, carolSince);
      assert(a.device_lists?.changed?.includes(bob.userId), `${what}: ${JSON.stringify(a)}`);
      assert(!c.device_lists?.changed?.includes(bob.userId), `${what}: carol shares no room`);
      aliceSince = a.next_batch;
      carolSince = c.next_batch;
    };

    const phone = await t.login("bob", bob.password, { initial_device_display_name: "Phone" });
    await step("a new device (no keys yet)");

    const rename = await t.request(
      "PUT",
      `/_matrix/client/v3/devices/${phone.deviceId}`,
      { token: bob.accessToken, body: { display_name: "Work phone" } },
    );
    assertEquals(rename.status, 200);
    await step("a renamed device");
    // The same name again is no change.
    await t.request("PUT", `/_matrix/client/v3/devices/${phone.deviceId}`, {
      token: bob.accessToken,
      body: { display_name: "Work phone" },
    });
    const quiet = await syncSince(t, alice, aliceSince);
    assert(!quiet.device_lists?.changed?.includes(bob.userId), "an unchanged name is no change");
    aliceSince = quiet.next_batch;

    const path = `/_matrix/client/v3/devices/${phone.deviceId}`;
    const challenge = await t.request("DELETE", path, { token: bob.accessToken, body: {} });
    assertEquals(challenge.status, 401);
    const deleted = await t.request("DELETE", path, {
      token: bob.accessToken,
      body: {
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "bob" },
          password: bob.password,
          session: challenge.body.session,
        },
      },
    });
    assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
    await step("a deleted device");
  } finally {
    await t.close();
  }
});
