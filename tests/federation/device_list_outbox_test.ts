/**
 * A device-list change committed while no EDU could be queued for it (the process stopped
 * right after the commit; here: the node ran without federation) reaches the other server
 * once the node runs federated again: the outbox resumes from its durable cursor.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { TestDevice } from "../integration/e2ee_support.ts";
import { createRoom, join, joined, post } from "./support/client.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, freePort, skipUnless } from "./support/peers.ts";

async function deviceIdOf(node: GemengNode, accessToken: string): Promise<string> {
  const who = await node.request("GET", "/_matrix/client/v3/account/whoami", {
    token: accessToken,
  });
  assertEquals(who.status, 200);
  return who.body.device_id;
}

Deno.test({
  name: "device-list outbox: a change committed without its EDUs is sent after a restart",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "gemeng-dl-outbox-" });
    const federationPort = freePort();
    const serverName = `127.0.0.1:${federationPort}`;
    const options = { dataDir, federationPort, serverName };
    const config = { e2ee: { default_for: "off" } };
    let a: GemengNode | null = await startGemengNode({ ...options, config });
    const b = await startGemengNode({ config });
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const firstId = await deviceIdOf(a, alice.accessToken);
      const device = await TestDevice.create({ ...alice, deviceId: firstId, password: "" });
      await post(a, alice, "/keys/upload", {
        device_keys: await device.deviceKeys(),
      });
      const roomId = await createRoom(a, alice, { preset: "public_chat" });
      await join(b, bob, roomId, a.serverName);
      await eventually(() => joined(a!, alice, roomId, bob.userId), "bob's join on A");
      const devicesSeenByBob = async () => {
        const res = await post(b, bob, "/keys/query", {
          device_keys: { [alice.userId]: [] },
        });
        return Object.keys(res.device_keys?.[alice.userId] ?? {}).sort();
      };
      // B caches alice's list from here on and relies on A's EDUs to keep it current.
      assertEquals(await devicesSeenByBob(), [firstId]);

      // A runs without federation: alice's second device commits, no EDU is queued.
      await a.close();
      a = await startGemengNode({
        ...options,
        config: { ...config, federation: { enabled: false } },
      });
      const login = await a.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: "pw-alice-secret",
        },
      });
      assertEquals(login.status, 200, JSON.stringify(login.body));
      const second = await TestDevice.create({
        userId: alice.userId,
        accessToken: login.body.access_token,
        deviceId: login.body.device_id,
        password: "",
      });
      await post(
        a,
        { ...alice, accessToken: login.body.access_token },
        "/keys/upload",
        {
          device_keys: await second.deviceKeys(),
        },
      );
      await a.close();
      a = null;
      assertEquals(await devicesSeenByBob(), [firstId], "B has not heard of it yet");

      // Federated again: the outbox finds the entry after its cursor and sends it.
      a = await startGemengNode({ ...options, config });
      const expected = [firstId, login.body.device_id as string].sort();
      await eventually(
        async () => JSON.stringify(await devicesSeenByBob()) === JSON.stringify(expected),
        "B learns of alice's second device",
      );
    } finally {
      await a?.close();
      await b.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
