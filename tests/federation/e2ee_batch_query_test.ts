/**
 * A cold remote `/keys/query` for several users of one server: B asks A once
 * (`/user/keys/query` for all of them), answers with their keys, and a later device change of
 * one of them (an update whose `prev_id` B never saw, as such a record has no stream ID)
 * brings the new device into B's next answer.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { type Json, TestDevice } from "../integration/e2ee_support.ts";
import { createRoom, join, joined } from "./support/client.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

async function post(node: GemengNode, user: NodeUser, path: string, body: Json) {
  const res = await node.request("POST", path, { token: user.accessToken, body });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function withKeys(node: GemengNode, user: NodeUser, password?: string) {
  let who = user;
  if (password) {
    const login = await node.request("POST", "/_matrix/client/v3/login", {
      body: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: user.userId.slice(1).split(":")[0] },
        password,
      },
    });
    assertEquals(login.status, 200, JSON.stringify(login.body));
    who = { userId: user.userId, accessToken: login.body.access_token };
  }
  const whoami = await node.request("GET", "/_matrix/client/v3/account/whoami", {
    token: who.accessToken,
  });
  const deviceUser = { ...who, deviceId: whoami.body.device_id as string, password: "" };
  const device = await TestDevice.create(deviceUser);
  await post(node, deviceUser, "/_matrix/client/v3/keys/upload", {
    device_keys: await device.deviceKeys(),
  });
  return deviceUser;
}

Deno.test({
  name: "a cold key query for several users of a server asks it once; a later change is seen",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode({ config: { e2ee: { default_for: "off" } } });
    const b = await startGemengNode({ config: { e2ee: { default_for: "off" } } });
    try {
      const alice = await withKeys(a, await a.register("alice"));
      const carol = await withKeys(a, await a.register("carol"));
      const bob = await b.register("bob");
      const roomId = await createRoom(a, alice, { preset: "public_chat" });
      await join(a, carol, roomId, a.serverName);
      await join(b, bob, roomId, a.serverName);
      await eventually(() => joined(a, alice, roomId, bob.userId), "bob's join on A");

      const asked: string[] = [];
      const request = b.hs.federation.client.request.bind(b.hs.federation.client);
      b.hs.federation.client.request = (destination, req) => {
        // A device-list EDU from A (its outbox may still be announcing the key uploads above
        // when B has joined) can make B resync a user through /user/devices: that is the EDU
        // path, not the query's. What counts here is how the query itself asks.
        if (!req.path.startsWith("/_matrix/federation/v1/user/devices/")) asked.push(req.path);
        return request(destination, req);
      };
      const query = () =>
        post(b, bob, "/_matrix/client/v3/keys/query", {
          device_keys: { [alice.userId]: [], [carol.userId]: [] },
        });
      const first = await query();
      assertEquals(Object.keys(first.device_keys[alice.userId]), [alice.deviceId]);
      assertEquals(Object.keys(first.device_keys[carol.userId]), [carol.deviceId]);
      assertEquals(asked, ["/_matrix/federation/v1/user/keys/query"]);
      asked.length = 0;
      await query();
      assertEquals(asked, [], "the second query is answered from B's cache");

      // Carol adds a device; B hears of it and its next answer has both of her devices.
      const carol2 = await withKeys(a, carol, "pw-carol-secret");
      await eventually(async () => {
        const again = await query();
        return Object.keys(again.device_keys[carol.userId] ?? {}).length === 2;
      }, "carol's second device on B");
      const last = await query();
      assertEquals(
        Object.keys(last.device_keys[carol.userId]).sort(),
        [carol.deviceId, carol2.deviceId].sort(),
      );
    } finally {
      await b.close();
      await a.close();
    }
  },
});
