/**
 * Web Push built into the server (MSC4174 `webpush` pushers) end to end: a push service in the
 * test (`support/webpush_receiver.ts`) plays the browser's side: it checks each request's
 * RFC 8030 headers and RFC 8292 VAPID signature against the key the server advertises, and
 * decrypts the RFC 8291 (aes128gcm) payload with the subscription's keys.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { joinRoom, sendText } from "./rooms_support.ts";
import { decodeBase64Url, encodeBase64Url } from "../../crypto/base64.ts";
import { PushService } from "../support/webpush_receiver.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function setWebPusher(
  server: TestServer,
  user: TestUser,
  fields: { pushkey: string; url: string; auth: string; format?: string },
) {
  const data: Json = { url: fields.url, auth: fields.auth };
  if (fields.format) data.format = fields.format;
  return server.request("POST", "/_matrix/client/v3/pushers/set", {
    token: user.accessToken,
    body: {
      kind: "webpush",
      app_id: "gemeng.web",
      pushkey: fields.pushkey,
      app_display_name: "gemeng",
      device_display_name: "Firefox",
      lang: "en",
      data,
    },
  });
}

async function pushersOf(server: TestServer, user: TestUser): Promise<Json[]> {
  const res = await server.request("GET", "/_matrix/client/v3/pushers", {
    token: user.accessToken,
  });
  assertEquals(res.status, 200);
  return res.body.pushers;
}

Deno.test("web push: VAPID, activation, encrypted delivery, retries and expiry", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "gemeng-webpush-" });
  const service = await new PushService().init();
  const config = { push: { allow_private_addresses: true } };
  let server = await startTestServer({ dataDir, config });
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const auth = encodeBase64Url(service.auth);

    await t.step("the server's VAPID key is advertised and kept across restarts", async () => {
      const caps = await server.request("GET", "/_matrix/client/v3/capabilities", {
        token: alice.accessToken,
      });
      const webpush = caps.body.capabilities["m.webpush"];
      assertEquals(webpush.enabled, true);
      const point = decodeBase64Url(webpush.vapid);
      assertEquals(point.length, 65);
      assertEquals(point[0], 4);
      service.vapid = webpush.vapid;
      await server.close();
      server = await startTestServer({ dataDir, config });
      const again = await server.request("GET", "/_matrix/client/v3/capabilities", {
        token: alice.accessToken,
      });
      assertEquals(again.body.capabilities["m.webpush"].vapid, webpush.vapid);
    });

    await t.step("malformed subscriptions are refused and change nothing", async () => {
      const cases: [Json, string][] = [
        [{ pushkey: "not-a-key", url: service.endpoint, auth }, "M_INVALID_PARAM"],
        [
          { pushkey: encodeBase64Url(new Uint8Array(65)), url: service.endpoint, auth },
          "M_INVALID_PARAM",
        ],
        [{ pushkey: service.p256dh, url: service.endpoint, auth: "c2hvcnQ" }, "M_INVALID_PARAM"],
        [{ pushkey: service.p256dh, url: "ftp://push.example/x", auth }, "M_INVALID_PARAM"],
        [{ pushkey: service.p256dh, url: 42, auth }, "M_BAD_JSON"],
      ];
      for (const [fields, errcode] of cases) {
        const res = await setWebPusher(server, alice, fields);
        assertEquals([res.status, res.body.errcode], [400, errcode], JSON.stringify(fields));
      }
      assertEquals(await pushersOf(server, alice), []);
    });

    await t.step("a new pusher is activated with the token pushed to it", async () => {
      const res = await setWebPusher(server, alice, {
        pushkey: service.p256dh,
        url: service.endpoint,
        auth,
      });
      assertEquals(res.status, 201);
      const [listed] = await pushersOf(server, alice);
      assertEquals(listed.kind, "webpush");
      assertEquals(listed.activated, false);
      assertEquals(listed.data, { url: service.endpoint, auth });
      const ack = await service.waitFor((p) => typeof p.ack_token === "string");
      assertEquals(ack.payload.app_id, "gemeng.web");
      const ackPath = "/_matrix/client/v3/pushers/ack";
      const wrong = await server.request("POST", ackPath, {
        token: alice.accessToken,
        body: { app_id: "gemeng.web", ack_token: crypto.randomUUID() },
      });
      assertEquals([wrong.status, wrong.body.errcode], [400, "M_UNKNOWN_ACTIVATION_TOKEN"]);
      const otherApp = await server.request("POST", ackPath, {
        token: alice.accessToken,
        body: { app_id: "other.app", ack_token: ack.payload.ack_token },
      });
      assertEquals([otherApp.status, otherApp.body.errcode], [404, "M_NOT_FOUND"]);
      const notHers = await server.request("POST", ackPath, {
        token: bob.accessToken,
        body: { app_id: "gemeng.web", ack_token: ack.payload.ack_token },
      });
      assertEquals(notHers.status, 404);
      const ok = await server.request("POST", ackPath, {
        token: alice.accessToken,
        body: { app_id: "gemeng.web", ack_token: ack.payload.ack_token },
      });
      assertEquals(ok.status, 200);
      assertEquals((await pushersOf(server, alice))[0].activated, true);
      // Setting the same subscription again keeps it activated.
      const same = await setWebPusher(server, alice, {
        pushkey: service.p256dh,
        url: service.endpoint,
        auth,
      });
      assertEquals(same.status, 200);
      assertEquals((await pushersOf(server, alice))[0].activated, true);
    });

    let roomId = "";
    await t.step("a message is pushed encrypted, with TTL and urgency", async () => {
      await server.request("PUT", `/_matrix/client/v3/profile/${bob.userId}/displayname`, {
        token: bob.accessToken,
        body: { displayname: "Bob B" },
      });
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { preset: "private_chat", name: "Chat", invite: [alice.userId], is_direct: true },
      });
      roomId = created.body.room_id;
      await service.waitFor((p) => p.type === "m.room.member" && p.room_id === roomId);
      await joinRoom(server, alice, roomId);
      const eventId = await sendText(server, bob, roomId, "hello alice");
      const got = await service.waitFor((p) => p.event_id === eventId);
      assertEquals(got.path, "/push/sub-1");
      assertEquals(got.payload.room_id, roomId);
      assertEquals(got.payload.sender, bob.userId);
      assertEquals(got.payload.sender_display_name, "Bob B");
      assertEquals(got.payload.room_name, "Chat");
      assertEquals(got.payload.content, { msgtype: "m.text", body: "hello alice" });
      assertEquals(got.payload.prio, "high");
      assertEquals(got.payload.devices, undefined); // the pusher's secret is not echoed
      assertEquals(got.headers.get("urgency"), "high");
      assert(Number(got.headers.get("ttl")) > 0);
    });

    await t.step("a long message still fits one push message, without its content", async () => {
      const eventId = await sendText(server, bob, roomId, "x".repeat(6000));
      const got = await service.waitFor((p) => p.event_id === eventId);
      assertEquals(got.payload.content, undefined);
      assertEquals(got.payload.sender, bob.userId);
    });

    await t.step("a failing push service is retried with backoff", async () => {
      service.answers = [503, 429];
      const eventId = await sendText(server, bob, roomId, "after an outage");
      const got = await service.waitFor((p) => p.event_id === eventId, 20_000);
      assertEquals(got.payload.content.body, "after an outage");
      assertEquals(service.answers, []);
    });

    await t.step("an expired subscription (410) removes the pusher", async () => {
      service.answers = [410];
      const before = service.received.length;
      await sendText(server, bob, roomId, "nobody listens");
      const deadline = Date.now() + 10_000;
      while ((await pushersOf(server, alice)).length > 0) {
        assert(Date.now() < deadline, "the pusher was not removed");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await sendText(server, bob, roomId, "not delivered");
      await new Promise((resolve) => setTimeout(resolve, 500));
      assertEquals(service.received.length, before);
    });

    assertEquals(service.problems, []);
  } finally {
    await server.close();
    await service.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("web push: endpoints on private addresses are refused unless configured", async () => {
  const server = await startTestServer();
  const service = await new PushService().init();
  try {
    const alice = await server.register("alice");
    const auth = encodeBase64Url(service.auth);
    for (
      const url of [
        service.endpoint,
        "https://127.0.0.1/p",
        "https://10.1.2.3/p",
        "https://localhost/p",
      ]
    ) {
      const res = await setWebPusher(server, alice, { pushkey: service.p256dh, url, auth });
      assertEquals([res.status, res.body.errcode], [400, "M_INVALID_PARAM"], url);
    }
    assertEquals(await pushersOf(server, alice), []);
  } finally {
    await server.close();
    await service.close();
  }
});
