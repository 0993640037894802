import { assert, assertEquals } from "../unit/assert.ts";
import { type TestServer, withTestServer } from "../support/test_server.ts";
import { makeRoom, membership, send, sync, text, types } from "../support/sync_support.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

async function twoInRoom(t: TestServer) {
  const alice = await t.register("alice");
  const bob = await t.register("bob");
  const roomId = await makeRoom(t, alice);
  await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
  return { alice, bob, roomId };
}

Deno.test("typing: shows in sync, wakes a long-poll, stops and times out", () =>
  withTestServer(async (t) => {
    const { alice, bob, roomId } = await twoInRoom(t);
    const since = (await sync(t, bob)).body.next_batch;
    const waiting = sync(t, bob, { since, timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const path = `${V3}/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`;
    const started = Date.now();
    const put = await t.request("PUT", path, {
      token: alice.accessToken,
      body: { typing: true, timeout: 300 },
    });
    assertEquals(put.status, 200);
    const woke = await waiting;
    assert(Date.now() - started < 2000);
    const typing = woke.body.rooms.join[roomId].ephemeral.events.find((e: { type: string }) =>
      e.type === "m.typing"
    );
    assertEquals(typing.content.user_ids, [alice.userId]);
    // The timeout ends typing; the next sync reports the empty list.
    const after = await sync(t, bob, { since: woke.body.next_batch, timeout: 5000 });
    const stopped = after.body.rooms.join[roomId].ephemeral.events.find((e: { type: string }) =>
      e.type === "m.typing"
    );
    assertEquals(stopped.content.user_ids, []);
    // Others cannot type for alice; outsiders cannot type.
    const forged = await t.request("PUT", path, {
      token: bob.accessToken,
      body: { typing: true },
    });
    assertEquals(forged.status, 403);
    const carol = await t.register("carol");
    const outsider = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/typing/${enc(carol.userId)}`,
      { token: carol.accessToken, body: { typing: true } },
    );
    assertEquals(outsider.status, 403);
    const bad = await t.request("PUT", path, { token: alice.accessToken, body: {} });
    assertEquals(bad.body.errcode, "M_BAD_JSON");
  }));

Deno.test("receipts and unread counts: public, private, threaded; highlights from mentions", () =>
  withTestServer(async (t) => {
    const { alice, bob, roomId } = await twoInRoom(t);
    await send(t, roomId, bob, text("one"));
    await send(t, roomId, bob, text("hey", { "m.mentions": { user_ids: [alice.userId] } }));
    const last = await send(t, roomId, bob, text("three"));
    await send(t, roomId, bob, text("notice", { msgtype: "m.notice" }));
    const first = await sync(t, alice);
    const room = first.body.rooms.join[roomId];
    assertEquals(room.unread_notifications, { notification_count: 3, highlight_count: 1 });
    // Alice reads up to `last` privately: counts drop, bob never sees the receipt.
    const bobSince = (await sync(t, bob)).body.next_batch;
    const receipt = await t.request(
      "POST",
      `${V3}/rooms/${enc(roomId)}/receipt/m.read.private/${enc(last)}`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(receipt.status, 200);
    const aliceNext = await sync(t, alice, { since: first.body.next_batch });
    const aroom = aliceNext.body.rooms.join[roomId];
    assertEquals(aroom.unread_notifications, { notification_count: 0, highlight_count: 0 });
    const own = aroom.ephemeral.events.find((e: { type: string }) => e.type === "m.receipt");
    assert(own.content[last]["m.read.private"][alice.userId].ts > 0);
    const bobNext = await sync(t, bob, { since: bobSince });
    assertEquals(bobNext.body.rooms.join[roomId], undefined);
    // A public receipt reaches bob.
    await t.request("POST", `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(last)}`, {
      token: alice.accessToken,
      body: {},
    });
    const bobThird = await sync(t, bob, { since: bobNext.body.next_batch });
    const pub = bobThird.body.rooms.join[roomId].ephemeral.events.find((e: { type: string }) =>
      e.type === "m.receipt"
    );
    assertEquals(Object.keys(pub.content[last]), ["m.read"]);
    // Threads: with unread_thread_notifications, thread events are counted per thread.
    const root = await send(t, roomId, bob, text("root"));
    const rel = { "m.relates_to": { rel_type: "m.thread", event_id: root } };
    await send(t, roomId, bob, text("t1", rel));
    const t2 = await send(t, roomId, bob, text("t2", rel));
    const threaded = await sync(t, alice, {
      filter: { room: { timeline: { unread_thread_notifications: true } } },
    });
    const troom = threaded.body.rooms.join[roomId];
    assertEquals(troom.unread_notifications.notification_count, 1);
    assertEquals(troom.unread_thread_notifications[root].notification_count, 2);
    await t.request("POST", `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(t2)}`, {
      token: alice.accessToken,
      body: { thread_id: root },
    });
    const read = await sync(t, alice, {
      filter: { room: { timeline: { unread_thread_notifications: true } } },
    });
    assertEquals(read.body.rooms.join[roomId].unread_thread_notifications, {});
    assertEquals(read.body.rooms.join[roomId].unread_notifications.notification_count, 1);
    // Errors.
    const unknownType = await t.request(
      "POST",
      `${V3}/rooms/${enc(roomId)}/receipt/m.bogus/${enc(last)}`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(unknownType.body.errcode, "M_INVALID_PARAM");
    const unknownEvent = await t.request(
      "POST",
      `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc("$nope")}`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(unknownEvent.status, 404);
    const emptyThread = await t.request(
      "POST",
      `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(last)}`,
      { token: alice.accessToken, body: { thread_id: "" } },
    );
    assertEquals(emptyThread.body.errcode, "M_INVALID_PARAM");
  }));

Deno.test("read markers: m.fully_read as room account data, m.read as a receipt", () =>
  withTestServer(async (t) => {
    const { alice, bob, roomId } = await twoInRoom(t);
    const id = await send(t, roomId, bob, text("hi"));
    const since = (await sync(t, alice)).body.next_batch;
    const res = await t.request("POST", `${V3}/rooms/${enc(roomId)}/read_markers`, {
      token: alice.accessToken,
      body: { "m.fully_read": id, "m.read": id },
    });
    assertEquals(res.status, 200);
    const next = await sync(t, alice, { since });
    const room = next.body.rooms.join[roomId];
    assertEquals(room.account_data.events, [{ type: "m.fully_read", content: { event_id: id } }]);
    assert(room.ephemeral.events.some((e: { type: string }) => e.type === "m.receipt"));
  }));

Deno.test("account data, tags and push rule changes arrive in incremental syncs", () =>
  withTestServer(async (t) => {
    const { alice, roomId } = await twoInRoom(t);
    const since = (await sync(t, alice)).body.next_batch;
    await t.request("PUT", `${V3}/user/${enc(alice.userId)}/account_data/org.example.a`, {
      token: alice.accessToken,
      body: { v: 1 },
    });
    await t.request(
      "PUT",
      `${V3}/user/${enc(alice.userId)}/rooms/${enc(roomId)}/tags/m.favourite`,
      { token: alice.accessToken, body: { order: 0.5 } },
    );
    await t.request("PUT", `${V3}/pushrules/global/room/${enc(roomId)}`, {
      token: alice.accessToken,
      body: { actions: [] },
    });
    const next = await sync(t, alice, { since });
    const global = next.body.account_data.events.map((e: { type: string }) => e.type).sort();
    assertEquals(global, ["m.push_rules", "org.example.a"]);
    const rules = next.body.account_data.events.find((e: { type: string }) =>
      e.type === "m.push_rules"
    );
    assertEquals(rules.content.global.room[0].rule_id, roomId);
    assertEquals(next.body.rooms.join[roomId].account_data.events, [
      { type: "m.tag", content: { tags: { "m.favourite": { order: 0.5 } } } },
    ]);
    const again = await sync(t, alice, { since: next.body.next_batch });
    assertEquals(again.body.account_data.events, []);
    // The room push rule mutes the room: no unread count for new messages.
  }));

Deno.test("lazy-loading members: only the timeline's senders, and a summary", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice);
    const others = [];
    for (const name of ["bob", "carol", "dave", "erin"]) {
      const user = await t.register(name);
      await membership(t, roomId, { sender: user, target: user, membership: "join" });
      others.push(user);
    }
    await send(t, roomId, others[1], text("carol speaks"));
    const lazy = { room: { state: { lazy_load_members: true }, timeline: { limit: 1 } } };
    const res = await sync(t, alice, { filter: lazy });
    const room = res.body.rooms.join[roomId];
    const members = room.state.events.filter((e: { type: string }) => e.type === "m.room.member")
      .map((e: { state_key: string }) => e.state_key).sort();
    assertEquals(members, [alice.userId, others[1].userId].sort());
    assertEquals(room.summary["m.joined_member_count"], 5);
    assertEquals(room.summary["m.heroes"].length, 4);
    const full = await sync(t, alice, { filter: { room: { timeline: { limit: 1 } } } });
    assertEquals(
      types(full.body.rooms.join[roomId].state).filter((type) => type === "m.room.member").length,
      5,
    );
  }));

Deno.test("presence: set, read, and delivered to users who share a room", () =>
  withTestServer(async (t) => {
    const { alice, bob } = await twoInRoom(t);
    const carol = await t.register("carol");
    const since = (await sync(t, bob, { set_presence: "offline" })).body.next_batch;
    const path = `${V3}/presence/${enc(alice.userId)}/status`;
    const put = await t.request("PUT", path, {
      token: alice.accessToken,
      body: { presence: "unavailable", status_msg: "lunch" },
    });
    assertEquals(put.status, 200);
    const got = await t.request("GET", path, { token: bob.accessToken });
    assertEquals(got.body.presence, "unavailable");
    assertEquals(got.body.status_msg, "lunch");
    const hidden = await t.request("GET", path, { token: carol.accessToken });
    assertEquals(hidden.status, 403);
    const next = await sync(t, bob, { since, set_presence: "offline" });
    const event = next.body.presence.events.find((e: { sender: string }) =>
      e.sender === alice.userId
    );
    assertEquals(event.content.presence, "unavailable");
    const other = await t.request("PUT", path, {
      token: bob.accessToken,
      body: { presence: "online" },
    });
    assertEquals(other.status, 403);
    const bad = await t.request("PUT", path, {
      token: alice.accessToken,
      body: { presence: "busy" },
    });
    assertEquals(bad.body.errcode, "M_BAD_JSON");
    // Syncing marks a user online.
    await sync(t, carol);
    const carolPresence = await t.request("GET", `${V3}/presence/${enc(carol.userId)}/status`, {
      token: carol.accessToken,
    });
    assertEquals(carolPresence.body.presence, "online");
    assertEquals(carolPresence.body.currently_active, true);
  }));
