/**
 * End-to-end encryption across two gemeng nodes: bob@B queries alice@A's device and
 * cross-signing keys through B (which asks A), claims a one-time key of alice's device from A,
 * sees alice's new device in `device_lists.changed` (an `m.device_list_update` EDU) and in a new
 * query, and sends alice a to-device message that reaches her sync once (a repeated
 * `m.direct_to_device` EDU with the same `message_id` is dropped).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { CrossSigning, type Json, TestDevice } from "../integration/e2ee_support.ts";
import { createRoom, join, joined } from "./support/client.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { onDirectToDevice } from "../../server/federation/to_device_remote.ts";
import { onDeviceListUpdate } from "../../server/federation/device_lists_remote.ts";

type DeviceUser = NodeUser & { deviceId: string; password: string };

async function withDevice(node: GemengNode, user: NodeUser): Promise<DeviceUser> {
  const who = await node.request("GET", "/_matrix/client/v3/account/whoami", {
    token: user.accessToken,
  });
  assertEquals(who.status, 200);
  return { ...user, deviceId: who.body.device_id, password: "" };
}

async function upload(node: GemengNode, user: DeviceUser, body: Json) {
  const res = await node.request("POST", "/_matrix/client/v3/keys/upload", {
    token: user.accessToken,
    body,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

async function post(node: GemengNode, user: NodeUser, path: string, body: Json) {
  const res = await node.request("POST", path, { token: user.accessToken, body });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function syncFrom(node: GemengNode, user: NodeUser, since?: string) {
  const query = since ? `?timeout=0&since=${encodeURIComponent(since)}` : "?timeout=0";
  const res = await node.request("GET", `/_matrix/client/v3/sync${query}`, {
    token: user.accessToken,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

Deno.test({
  name: "gemeng to gemeng: remote key query and claim, device list updates, to-device",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode({ config: { e2ee: { default_for: "off" } } });
    const b = await startGemengNode({ config: { e2ee: { default_for: "off" } } });
    try {
      const alice = await withDevice(a, await a.register("alice"));
      const bob = await withDevice(b, await b.register("bob"));
      const aliceDevice = await TestDevice.create(alice);
      const xs = await CrossSigning.create(alice.userId);
      await upload(a, alice, {
        device_keys: await aliceDevice.deviceKeys(),
        one_time_keys: await aliceDevice.oneTimeKeys(3),
      });
      await post(a, alice, "/_matrix/client/v3/keys/device_signing/upload", await xs.uploadBody());

      const roomId = await createRoom(a, alice, { preset: "public_chat" });
      await join(b, bob, roomId, a.serverName);
      await eventually(() => joined(a, alice, roomId, bob.userId), "bob's join on A");

      // Keys of a remote user, through bob's own server.
      const query = () =>
        post(b, bob, "/_matrix/client/v3/keys/query", { device_keys: { [alice.userId]: [] } });
      const first = await query();
      assertEquals(first.failures, {});
      assertEquals(Object.keys(first.device_keys[alice.userId]), [alice.deviceId]);
      assertEquals(
        first.device_keys[alice.userId][alice.deviceId].keys[`ed25519:${alice.deviceId}`],
        aliceDevice.key.publicKeyBase64,
      );
      assertEquals(first.master_keys[alice.userId].keys, xs.keyObject("master").keys);
      assertEquals(first.self_signing_keys[alice.userId].keys, xs.keyObject("self_signing").keys);
      assertEquals(first.user_signing_keys?.[alice.userId], undefined);

      // Bob verifies alice: his user-signing signature on her (remote) master key is kept on
      // B and shown to him alone.
      const bobXs = await CrossSigning.create(bob.userId);
      await post(b, bob, "/_matrix/client/v3/keys/device_signing/upload", await bobXs.uploadBody());
      const aliceMasterId = `ed25519:${xs.master.publicKeyBase64}`;
      const signed = await post(b, bob, "/_matrix/client/v3/keys/signatures/upload", {
        [alice.userId]: {
          [xs.master.publicKeyBase64]: await bobXs.signWith(
            bobXs.userSigning,
            first.master_keys[alice.userId],
          ),
        },
      });
      assertEquals(signed.failures, {});
      const verified = await query();
      const bobUsk = `ed25519:${bobXs.userSigning.publicKeyBase64}`;
      assert(verified.master_keys[alice.userId].signatures[bob.userId]?.[bobUsk]);
      assertEquals(
        verified.master_keys[alice.userId].keys[aliceMasterId],
        xs.master.publicKeyBase64,
      );

      // A one-time key claimed from A, once.
      const claim = await post(b, bob, "/_matrix/client/v3/keys/claim", {
        one_time_keys: { [alice.userId]: { [alice.deviceId]: "signed_curve25519" } },
      });
      assertEquals(claim.failures, {});
      const claimed = claim.one_time_keys[alice.userId][alice.deviceId];
      assertEquals(Object.keys(claimed).length, 1);
      assert(Object.keys(claimed)[0].startsWith("signed_curve25519:"));
      const counts = await post(a, alice, "/_matrix/client/v3/keys/upload", {});
      assertEquals(counts.one_time_key_counts.signed_curve25519, 2);

      // Alice adds a device: bob's sync lists her in device_lists.changed, a query shows it.
      const bobSince = (await syncFrom(b, bob)).next_batch as string;
      const login = await a.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: "pw-alice-secret",
        },
      });
      assertEquals(login.status, 200, JSON.stringify(login.body));
      const alice2: DeviceUser = {
        userId: alice.userId,
        accessToken: login.body.access_token,
        deviceId: login.body.device_id,
        password: "",
      };
      // A long-polling sync of bob's is woken by the update (the notifier only indexes rooms of
      // local users: remote changes wake the local members of the remote user's rooms).
      const started = Date.now();
      const longPoll = b.request(
        "GET",
        `/_matrix/client/v3/sync?timeout=20000&since=${encodeURIComponent(bobSince)}`,
        { token: bob.accessToken },
      );
      await upload(a, alice2, {
        device_keys: await (await TestDevice.create(alice2)).deviceKeys(),
      });
      const woken = await longPoll;
      assertEquals(woken.status, 200);
      assert(Date.now() - started < 15_000, "the long poll was woken");
      await eventually(async () => {
        const sync = await syncFrom(b, bob, bobSince);
        return (sync.device_lists?.changed ?? []).includes(alice.userId);
      }, "alice in bob's device_lists.changed");
      const second = await query();
      assertEquals(
        Object.keys(second.device_keys[alice.userId]).sort(),
        [alice.deviceId, alice2.deviceId].sort(),
      );
      // An update naming a stream ID B never saw (a gap): B refetches the list from A instead
      // of applying it. One from a server that is not alice's is ignored.
      const forged = {
        user_id: alice.userId,
        device_id: "FORGED",
        stream_id: 999_999,
        prev_id: [999_998],
        keys: {
          user_id: alice.userId,
          device_id: "FORGED",
          algorithms: ["m.megolm.v1.aes-sha2"],
          keys: { "ed25519:FORGED": "x" },
        },
      };
      await onDeviceListUpdate(b.hs, "evil.example", forged);
      await onDeviceListUpdate(b.hs, a.serverName, forged);
      const cached = await b.hs.kv.get<{ stale: boolean }>(["e2ee_remote_user", alice.userId]);
      assertEquals(cached.value?.stale, true);
      const third = await query();
      assertEquals(
        Object.keys(third.device_keys[alice.userId]).sort(),
        [alice.deviceId, alice2.deviceId].sort(),
      );
      const changes = await b.request(
        "GET",
        `/_matrix/client/v3/keys/changes?from=${bobSince}&to=${
          (await syncFrom(b, bob, bobSince)).next_batch
        }`,
        { token: bob.accessToken },
      );
      assert(changes.body.changed.includes(alice.userId), JSON.stringify(changes.body));

      // To-device from bob to alice's first device, across servers, once.
      const aliceSince = (await syncFrom(a, alice)).next_batch as string;
      const sent = await b.request(
        "PUT",
        `/_matrix/client/v3/sendToDevice/m.test.hello/txn1`,
        {
          token: bob.accessToken,
          body: { messages: { [alice.userId]: { [alice.deviceId]: { hi: "alice" } } } },
        },
      );
      assertEquals(sent.status, 200);
      let events: Json[] = [];
      await eventually(async () => {
        events = (await syncFrom(a, alice, aliceSince)).to_device?.events ?? [];
        return events.length > 0;
      }, "bob's to-device message on A");
      assertEquals(events, [{
        sender: bob.userId,
        type: "m.test.hello",
        content: { hi: "alice" },
      }]);

      // A batch larger than one EDU is split, and every message arrives.
      const big = (n: number) => ({ n, pad: "x".repeat(40_000) });
      const large = await b.request("PUT", `/_matrix/client/v3/sendToDevice/m.test.big/txn2`, {
        token: bob.accessToken,
        body: {
          messages: { [alice.userId]: { [alice.deviceId]: big(1), [alice2.deviceId]: big(2) } },
        },
      });
      assertEquals(large.status, 200);
      await eventually(async () => {
        const got = ((await syncFrom(a, alice, aliceSince)).to_device?.events ?? []) as Json[];
        return got.some((e) => e.type === "m.test.big" && e.content.n === 1);
      }, "the first large message on A");
      await eventually(async () => {
        const got = ((await syncFrom(a, alice2)).to_device?.events ?? []) as Json[];
        return got.some((e) => e.type === "m.test.big" && e.content.n === 2);
      }, "the second large message on A");

      // The same EDU again (as a retried transaction would bring it): dropped.
      const edu = {
        sender: bob.userId,
        type: "m.test.again",
        message_id: "same-id",
        messages: { [alice.userId]: { [alice.deviceId]: { n: 1 } } },
      };
      await onDirectToDevice(a.hs, b.serverName, edu);
      await onDirectToDevice(a.hs, b.serverName, edu);
      // A sender that is not of the origin server: dropped.
      await onDirectToDevice(a.hs, "evil.example", { ...edu, message_id: "other" });
      const again = (await syncFrom(a, alice, aliceSince)).to_device.events as Json[];
      assertEquals(again.filter((e) => e.type === "m.test.again").length, 1);
    } finally {
      await b.close();
      await a.close();
    }
  },
});
