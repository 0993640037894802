/**
 * Push delivery end to end: a real push gateway (a small HTTP server in the test that checks
 * every request against the Push Gateway API) receives what Element on a phone would get,
 * through retries, a rejected pushkey, and a restart of the homeserver.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { joinRoom, sendText } from "./rooms_support.ts";
import { GatewayPool, postToGateway } from "../../server/push/gateway_http.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A push gateway: records valid notifications, can fail or reject on demand. */
class Gateway {
  readonly received: Json[] = [];
  readonly problems: string[] = [];
  failNext = 0;
  failAll = false;
  rejected = new Set<string>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #waiters: (() => void)[] = [];
  readonly #peers = new Set<string>();

  /** Distinct client connections seen. */
  get connections(): number {
    return this.#peers.size;
  }

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => {
        this.#peers.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
        return this.#handle(req);
      },
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/_matrix/push/v1/notify`;
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || path !== "/_matrix/push/v1/notify") {
      this.problems.push(`${req.method} ${path}`);
      return Response.json({ errcode: "M_UNRECOGNIZED" }, { status: 404 });
    }
    const body = await req.json();
    if (this.failAll || this.failNext > 0) {
      this.failNext = Math.max(0, this.failNext - 1);
      return new Response("down", { status: 503 });
    }
    this.#check(body);
    this.received.push(body);
    for (const wake of this.#waiters.splice(0)) wake();
    const rejected = body.notification.devices.map((d: Json) => d.pushkey)
      .filter((key: string) => this.rejected.has(key));
    return Response.json({ rejected });
  }

  /** The spec's shape of a notify request. */
  #check(body: Json): void {
    const n = body?.notification;
    const fail = (what: string) => {
      this.problems.push(`${what}: ${JSON.stringify(body)}`);
    };
    if (typeof n !== "object" || n === null) return fail("no notification object");
    if (!Array.isArray(n.devices) || n.devices.length === 0) fail("devices missing");
    for (const d of n.devices ?? []) {
      if (typeof d.app_id !== "string" || typeof d.pushkey !== "string") fail("device ids");
      if (!Number.isInteger(d.pushkey_ts)) fail("pushkey_ts not an integer");
      if (d.data && "url" in d.data) fail("data still has the url");
      if (typeof d.tweaks !== "object") fail("tweaks not an object");
    }
    if (n.event_id !== undefined && typeof n.room_id !== "string") fail("event without room");
    if (n.prio !== undefined && n.prio !== "high" && n.prio !== "low") fail("bad prio");
    if (n.event_id === undefined && n.counts?.unread === undefined) fail("nothing to say");
    for (const [key, value] of Object.entries(n.counts ?? {})) {
      if (!Number.isInteger(value) || (value as number) < 0) fail(`count ${key} invalid`);
      // Zero counts are left out, except in a badge update (which may clear the badge).
      if (value === 0 && n.event_id !== undefined) fail(`count ${key} zero`);
    }
  }

  /** Waits until a notification matching `match` arrived. */
  async waitFor(match: (n: Json) => boolean, timeoutMs = 15_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.received.find((b) => match(b.notification));
      if (found) return found.notification;
      if (Date.now() > deadline) {
        throw new Error(`no such notification; got ${JSON.stringify(this.received)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  forDevice(pushkey: string, eventId: string): Json | undefined {
    return this.received.map((b) => b.notification).find((n) =>
      n.event_id === eventId && n.devices.some((d: Json) => d.pushkey === pushkey)
    );
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

async function setPusher(
  server: TestServer,
  user: TestUser,
  pusher: { pushkey: string; url: string; data?: Json; kind?: string | null; appId?: string },
): Promise<void> {
  const res = await server.request("POST", "/_matrix/client/v3/pushers/set", {
    token: user.accessToken,
    body: {
      pushkey: pusher.pushkey,
      kind: pusher.kind === undefined ? "http" : pusher.kind,
      app_id: pusher.appId ?? "im.vector.app.android",
      app_display_name: "Element",
      device_display_name: "Phone",
      lang: "en",
      data: { url: pusher.url, ...pusher.data },
    },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

async function pushkeysOf(server: TestServer, user: TestUser): Promise<string[]> {
  const res = await server.request("GET", "/_matrix/client/v3/pushers", {
    token: user.accessToken,
  });
  assertEquals(res.status, 200);
  return res.body.pushers.map((p: Json) => p.pushkey).sort();
}

Deno.test("push: a gateway gets what Element would, with retries, rejections and restarts", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "gemeng-push-" });
  const gateway = new Gateway();
  const config = { push: { allow_private_addresses: true } };
  let server = await startTestServer({ dataDir, config });
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    await server.request("PUT", `/_matrix/client/v3/profile/${bob.userId}/displayname`, {
      token: bob.accessToken,
      body: { displayname: "Bob B" },
    });
    await setPusher(server, alice, { pushkey: "pk-full", url: gateway.url });
    let roomId = "";
    let group = "";
    let carol: TestUser | null = null;

    await t.step("an invite and a direct message are pushed in full, high priority", async () => {
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { preset: "private_chat", name: "Chat", invite: [alice.userId], is_direct: true },
      });
      assertEquals(created.status, 200);
      roomId = created.body.room_id;
      const invite = await gateway.waitFor((n) => n.type === "m.room.member");
      assertEquals(invite.room_id, roomId);
      assertEquals(invite.user_is_target, true);
      assertEquals(invite.membership, "invite");
      assertEquals(invite.prio, "high");
      assertEquals(invite.devices[0].tweaks.sound, "default");
      await joinRoom(server, alice, roomId);
      const eventId = await sendText(server, bob, roomId, "hello alice");
      const n = await gateway.waitFor((n) => n.event_id === eventId);
      assertEquals(n.type, "m.room.message");
      assertEquals(n.id, eventId);
      assertEquals(n.sender, bob.userId);
      assertEquals(n.sender_display_name, "Bob B");
      assertEquals(n.room_name, "Chat");
      assertEquals(n.content, { msgtype: "m.text", body: "hello alice" });
      assertEquals(n.prio, "high");
      assertEquals(n.counts, { unread: 1 });
      const device = n.devices[0];
      assertEquals(device.app_id, "im.vector.app.android");
      assertEquals(device.pushkey, "pk-full");
      assertEquals(device.data, {});
      assert(Math.abs(device.pushkey_ts - Date.now() / 1000) < 600);
      // Bob's own messages are not pushed to him, and he has no pusher anyway.
      assertEquals(gateway.received.filter((b) => b.notification.sender === alice.userId), []);
    });

    await t.step("an encrypted message in a direct chat is high priority", async () => {
      const res = await server.request(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/e1`,
        {
          token: bob.accessToken,
          body: {
            algorithm: "m.megolm.v1.aes-sha2",
            ciphertext: "AwgAEnAC...",
            device_id: bob.deviceId,
            sender_key: "abc",
            session_id: "s1",
          },
        },
      );
      assertEquals(res.status, 200);
      const n = await gateway.waitFor((n) => n.event_id === res.body.event_id);
      assertEquals([n.type, n.prio, n.content.ciphertext], [
        "m.room.encrypted",
        "high",
        "AwgAEnAC...",
      ]);
      // Read up to it, so the counts below start again.
      const read = await server.request(
        "POST",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${
          encodeURIComponent(res.body.event_id)
        }`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(read.status, 200);
      // Everything is read now: the phone's badge is cleared without an event.
      const badge = await gateway.waitFor((n) => n.event_id === undefined);
      assertEquals(badge.counts, { unread: 0 });
      assertEquals(badge.devices[0].pushkey, "pk-full");
    });

    await t.step("event_id_only pushers get no content; counts follow reads", async () => {
      await setPusher(server, alice, {
        pushkey: "pk-ids",
        url: gateway.url,
        data: { format: "event_id_only" },
      });
      const eventId = await sendText(server, bob, roomId, "secret");
      await gateway.waitFor((n) => n.event_id === eventId && n.devices[0].pushkey === "pk-ids");
      await gateway.waitFor((n) => n.event_id === eventId && n.devices[0].pushkey === "pk-full");
      const slim = gateway.forDevice("pk-ids", eventId);
      assertEquals(Object.keys(slim).sort(), ["counts", "devices", "event_id", "prio", "room_id"]);
      assertEquals(slim.devices[0].data, { format: "event_id_only" });
      assertEquals(slim.counts, { unread: 1 });
      assertEquals(gateway.forDevice("pk-full", eventId)?.content?.body, "secret");
      const receipt = await server.request(
        "POST",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${
          encodeURIComponent(eventId)
        }`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(receipt.status, 200);
      const next = await sendText(server, bob, roomId, "after the read");
      const n = await gateway.waitFor((n) => n.event_id === next);
      assertEquals(n.counts, { unread: 1 }, JSON.stringify(n));
    });

    await t.step("a group message is low priority; a mention is high with highlight", async () => {
      carol = await server.register("carol");
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { preset: "public_chat", name: "Group" },
      });
      group = created.body.room_id;
      for (const user of [alice, carol]) {
        await joinRoom(server, user, group);
      }
      const plain = await sendText(server, bob, group, "lunch?");
      const low = await gateway.waitFor((n) => n.event_id === plain);
      assertEquals(low.prio, "low");
      assertEquals(low.devices[0].tweaks, {});
      const mention = await sendText(server, carol!, group, "alice: look at this");
      const high = await gateway.waitFor((n) => n.event_id === mention);
      assertEquals(high.prio, "high");
      assertEquals(high.devices[0].tweaks.highlight, true);
      // Joins of others in a group room do not notify (.m.rule.member_event).
      assertEquals(
        gateway.received.filter((b) =>
          b.notification.room_id === group && b.notification.type === "m.room.member"
        ),
        [],
      );
    });

    await t.step("a failing gateway is retried with backoff", async () => {
      gateway.failNext = 2;
      const eventId = await sendText(server, bob, roomId, "retry me");
      const n = await gateway.waitFor(
        (n) => n.event_id === eventId && n.devices[0].pushkey === "pk-full",
        20_000,
      );
      assertEquals(n.content.body, "retry me");
    });

    await t.step("a rejected pushkey removes the pusher", async () => {
      await setPusher(server, alice, { pushkey: "pk-gone", url: gateway.url });
      gateway.rejected.add("pk-gone");
      const eventId = await sendText(server, bob, roomId, "reject this");
      await gateway.waitFor((n) => n.event_id === eventId && n.devices[0].pushkey === "pk-gone");
      for (let i = 0; i < 50 && (await pushkeysOf(server, alice)).includes("pk-gone"); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(await pushkeysOf(server, alice), ["pk-full", "pk-ids"]);
      const later = await sendText(server, bob, roomId, "not for pk-gone");
      await gateway.waitFor((n) => n.event_id === later && n.devices[0].pushkey === "pk-full");
      assertEquals(gateway.forDevice("pk-gone", later), undefined);
    });

    await t.step("notifications queued while the gateway is down survive a restart", async () => {
      gateway.failAll = true;
      const eventId = await sendText(server, bob, roomId, "sent before the restart");
      // Give the worker time to queue it and fail once.
      await new Promise((r) => setTimeout(r, 500));
      await server.close();
      gateway.failAll = false;
      server = await startTestServer({ dataDir, config });
      const n = await gateway.waitFor(
        (n) => n.event_id === eventId && n.devices[0].pushkey === "pk-full",
        20_000,
      );
      assertEquals(n.content.body, "sent before the restart");
      const after = await sendText(server, bob, roomId, "sent after the restart");
      await gateway.waitFor((n) => n.event_id === after);
    });

    await t.step("an event committed but not yet evaluated is pushed after a crash", async () => {
      const eventId = await sendText(server, bob, roomId, "evaluated again");
      await gateway.waitFor((n) => n.event_id === eventId && n.devices[0].pushkey === "pk-full");
      await server.close();
      // As if the process died between the commit and the evaluation: the cursor is behind
      // the event and nothing is queued.
      const kv = await Deno.openKv(`${dataDir}/gemeng.kv`);
      const event = await kv.get<{ meta: { pos: number } }>(["event", eventId]);
      assert(event.value, "the event is stored");
      await kv.set(["push_cursor"], event.value.meta.pos - 1);
      kv.close();
      const before = gateway.received.length;
      server = await startTestServer({ dataDir, config });
      await gateway.waitFor((n) =>
        n.event_id === eventId && gateway.received.length > before &&
        gateway.received.slice(before).some((b) => b.notification.event_id === eventId)
      );
    });

    await t.step("GET /notifications lists them, read or not, and pages", async () => {
      const all = await server.request("GET", "/_matrix/client/v3/notifications?limit=100", {
        token: alice.accessToken,
      });
      assertEquals(all.status, 200);
      const list = all.body.notifications;
      assert(list.length >= 8, JSON.stringify(list));
      const bodies = list.map((n: Json) => n.event.content.body);
      assertEquals(bodies[0], "evaluated again");
      assert(bodies.includes("alice: look at this"));
      for (const n of list) {
        assertEquals(typeof n.ts, "number");
        assert(Array.isArray(n.actions));
        assertEquals(n.room_id, n.event.room_id);
      }
      const secret = list.find((n: Json) => n.event.content.body === "secret");
      assertEquals(secret.read, true, JSON.stringify(list));
      assertEquals(list[0].read, false);
      const highlights = await server.request(
        "GET",
        "/_matrix/client/v3/notifications?only=highlight",
        { token: alice.accessToken },
      );
      assertEquals(
        highlights.body.notifications.map((n: Json) => n.event.content.body),
        // "hello alice" names her display name: a highlight too.
        ["alice: look at this", "hello alice"],
      );
      const first = await server.request("GET", "/_matrix/client/v3/notifications?limit=2", {
        token: alice.accessToken,
      });
      assertEquals(first.body.notifications.length, 2);
      assert(first.body.next_token, "a next_token");
      const second = await server.request(
        "GET",
        `/_matrix/client/v3/notifications?limit=2&from=${first.body.next_token}`,
        { token: alice.accessToken },
      );
      assertEquals(
        second.body.notifications.map((n: Json) => n.event.event_id),
        list.slice(2, 4).map((n: Json) => n.event.event_id),
      );
      // A token older than every room's join: an empty page, not a 500 (found by the fuzz test).
      const old = await server.request("GET", "/_matrix/client/v3/notifications?from=0", {
        token: alice.accessToken,
      });
      assertEquals(old.status, 200, JSON.stringify(old.body));
      assertEquals(old.body.notifications, []);
      const bad = await server.request("GET", "/_matrix/client/v3/notifications?limit=x", {
        token: alice.accessToken,
      });
      assertEquals(bad.status, 400);
    });

    await t.step("a password change removes the pushers of other sessions", async () => {
      const phone = await server.login("alice", alice.password);
      await setPusher(server, phone, { pushkey: "pk-phone", url: gateway.url });
      assertEquals(await pushkeysOf(server, alice), ["pk-full", "pk-ids", "pk-phone"]);
      const body = { new_password: "a-new-password-1", logout_devices: false };
      const first = await server.request("POST", "/_matrix/client/v3/account/password", {
        token: alice.accessToken,
        body,
      });
      assertEquals(first.status, 401);
      const done = await server.request("POST", "/_matrix/client/v3/account/password", {
        token: alice.accessToken,
        body: {
          ...body,
          auth: {
            type: "m.login.password",
            session: first.body.session,
            identifier: { type: "m.id.user", user: "alice" },
            password: alice.password,
          },
        },
      });
      assertEquals(done.status, 200, JSON.stringify(done.body));
      assertEquals(await pushkeysOf(server, alice), ["pk-full", "pk-ids"]);
      // Logging a session out removes its pushers too.
      const tablet = await server.login("alice", "a-new-password-1");
      await setPusher(server, tablet, { pushkey: "pk-tablet", url: gateway.url });
      await server.request("POST", "/_matrix/client/v3/logout", { token: tablet.accessToken });
      assertEquals(await pushkeysOf(server, alice), ["pk-full", "pk-ids"]);
    });

    await t.step("an ignored sender is neither pushed nor listed", async () => {
      const ignore = await server.request(
        "PUT",
        `/_matrix/client/v3/user/${
          encodeURIComponent(alice.userId)
        }/account_data/m.ignored_user_list`,
        { token: alice.accessToken, body: { ignored_users: { [carol!.userId]: {} } } },
      );
      assertEquals(ignore.status, 200);
      const ignoredId = await sendText(server, carol!, group, "alice: ignore me");
      const heard = await sendText(server, bob, group, "alice: from bob");
      await gateway.waitFor((n) => n.event_id === heard);
      assertEquals(gateway.received.filter((b) => b.notification.event_id === ignoredId), []);
      const list = await server.request("GET", "/_matrix/client/v3/notifications", {
        token: alice.accessToken,
      });
      const senders = new Set(list.body.notifications.map((n: Json) => n.event.sender));
      assert(senders.has(bob.userId));
      assert(!senders.has(carol!.userId), JSON.stringify([...senders]));
    });

    await t.step("a deactivated account loses its pushers", async () => {
      const dave = await server.register("dave");
      await setPusher(server, dave, { pushkey: "pk-dave", url: gateway.url });
      const path = "/_matrix/client/v3/account/deactivate";
      const first = await server.request("POST", path, { token: dave.accessToken, body: {} });
      const done = await server.request("POST", path, {
        token: dave.accessToken,
        body: {
          auth: {
            type: "m.login.password",
            session: first.body.session,
            identifier: { type: "m.id.user", user: "dave" },
            password: dave.password,
          },
        },
      });
      assertEquals(done.status, 200, JSON.stringify(done.body));
      const left = await Array.fromAsync(server.hs.kv.list({ prefix: ["pusher", dave.userId] }));
      assertEquals(left, []);
    });

    await t.step("a gateway on a private address is refused unless configured", async () => {
      let error: unknown = null;
      try {
        await postToGateway(gateway.url, { notification: { devices: [] } }, {
          allowPrivateAddresses: false,
        });
      } catch (err) {
        error = err;
      }
      assertEquals((error as { code?: string })?.code, "FORBIDDEN");
      const answer = await postToGateway(gateway.url, {
        notification: {
          counts: { unread: 1 },
          devices: [{ app_id: "a", pushkey: "b", pushkey_ts: 1, tweaks: {} }],
        },
      }, { allowPrivateAddresses: true });
      assertEquals(answer.status, 200);
    });

    assertEquals(gateway.problems, []);
  } finally {
    await server.close();
    await gateway.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("push gateway client: kept connections are reused, and replaced when closed", async () => {
  // A gateway that answers one request per connection, then closes it without saying so.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      connections++;
      const buffer = new Uint8Array(8192);
      let text = "";
      while (!/\r\n\r\n[\s\S]*\}$/.test(text)) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      const body = '{"rejected":[]}';
      await conn.write(new TextEncoder().encode(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ));
      conn.close();
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/_matrix/push/v1/notify`;
  const pool = new GatewayPool();
  try {
    const body = { notification: { counts: { unread: 1 }, devices: [] } };
    for (let i = 0; i < 3; i++) {
      const answer = await postToGateway(url, body, { allowPrivateAddresses: true, pool });
      assertEquals(answer, { status: 200, body: { rejected: [] } });
    }
    assertEquals(connections, 3);
  } finally {
    pool.close();
    listener.close();
    await serving.catch(() => {});
  }
  // The test gateway keeps connections: one connection carries several requests.
  const gateway = new Gateway();
  const kept = new GatewayPool();
  try {
    const body = { notification: { counts: { unread: 2 }, devices: [] } };
    for (let i = 0; i < 3; i++) {
      const answer = await postToGateway(gateway.url, body, {
        allowPrivateAddresses: true,
        pool: kept,
      });
      assertEquals(answer.status, 200);
    }
    assertEquals(gateway.connections, 1);
  } finally {
    kept.close();
    await gateway.close();
  }
});

Deno.test("push: [push] enabled = false keeps pushers but sends nothing", async () => {
  const gateway = new Gateway();
  const server = await startTestServer({
    config: { push: { enabled: false, allow_private_addresses: true } },
  });
  try {
    const erin = await server.register("erin");
    const frank = await server.register("frank");
    await setPusher(server, erin, { pushkey: "pk-erin", url: gateway.url });
    assertEquals(await pushkeysOf(server, erin), ["pk-erin"]);
    const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
      token: frank.accessToken,
      body: { preset: "private_chat", invite: [erin.userId], is_direct: true },
    });
    assertEquals(created.status, 200);
    await new Promise((r) => setTimeout(r, 500));
    assertEquals(gateway.received, []);
  } finally {
    await server.close();
    await gateway.close();
  }
});
