import { assert, assertEquals, assertNotEquals } from "../unit/assert.ts";
import {
  createRoom,
  enc,
  getEvent,
  getState,
  putState,
  roomPost,
  send,
  V3,
  withRoomServer,
} from "./rooms_support.ts";

Deno.test("send: transaction IDs are idempotent per device", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await createRoom(t, alice);
    const first = await send(t, alice, roomId, { msgtype: "m.text", body: "1" }, { txnId: "t1" });
    assertEquals(first.status, 200);
    const again = await send(t, alice, roomId, { msgtype: "m.text", body: "1" }, { txnId: "t1" });
    assertEquals(again.body.event_id, first.body.event_id);
    // Concurrent repeats of one transaction give one event.
    const burst = await Promise.all(
      Array.from({ length: 5 }, () =>
        send(t, alice, roomId, { msgtype: "m.text", body: "2" }, { txnId: "t2" })),
    );
    assertEquals(
      new Set(burst.map((r) =>
        r.body.event_id
      )).size,
      1,
    );
    // Another device of the same user: a new event.
    const laptop = await t.login("alice", alice.password);
    const other = await send(t, laptop, roomId, { msgtype: "m.text", body: "1" }, { txnId: "t1" });
    assertEquals(other.status, 200);
    assertNotEquals(other.body.event_id, first.body.event_id);
    // transaction_id only for the sending device.
    const mine = await getEvent(t, alice, roomId, first.body.event_id);
    assertEquals(mine.body.unsigned.transaction_id, "t1");
    const theirs = await getEvent(t, laptop, roomId, first.body.event_id);
    assertEquals(theirs.body.unsigned.transaction_id, undefined);
    // Polls and location events are ordinary events.
    const poll = await send(t, alice, roomId, {
      "org.matrix.msc3381.poll.start": { question: { body: "?" }, answers: [] },
    }, { type: "org.matrix.msc3381.poll.start" });
    assertEquals(poll.status, 200);
    const loc = await send(t, alice, roomId, {
      msgtype: "m.location",
      body: "here",
      geo_uri: "geo:49.6,6.1",
    });
    assertEquals(loc.status, 200);
  }));

Deno.test("send: errors (unknown room, not joined, too large, bad JSON, rate limit)", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice);
    assertEquals((await send(t, alice, "!nope:localhost", { body: "x" })).status, 404);
    const notIn = await send(t, bob, roomId, { body: "x" });
    assertEquals(notIn.status, 403);
    assertEquals(notIn.body.errcode, "M_FORBIDDEN");
    const big = await send(t, alice, roomId, { body: "x".repeat(70_000) });
    assertEquals(big.status, 413);
    assertEquals(big.body.errcode, "M_TOO_LARGE");
    const float = await send(t, alice, roomId, { n: 1.5 });
    assertEquals(float.status, 400);
    assertEquals(float.body.errcode, "M_BAD_JSON");
    const notJson = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/send/m.room.message/x1`,
      { token: alice.accessToken, body: "{nope" },
    );
    assertEquals(notJson.body.errcode, "M_NOT_JSON");
    // A large event (over 30,000 characters) is stored split and read back whole.
    const large = await send(t, alice, roomId, { msgtype: "m.text", body: "é".repeat(25_000) });
    assertEquals(large.status, 200, JSON.stringify(large.body));
    assertEquals(
      (await getEvent(t, alice, roomId, large.body.event_id)).body.content.body.length,
      25_000,
    );
  }));

Deno.test("send: rate limited", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await createRoom(t, alice);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await send(t, alice, roomId, { body: `${i}` }));
    const limited = results.find((r) => r.status === 429);
    assert(limited, "a send is rate limited");
    assertEquals(limited.body.errcode, "M_LIMIT_EXCEEDED");
  }, { rate_limits: { send: { per_second: 0.1, burst: 3 } } }));

Deno.test("state: put/get, forbidden change with reason, canonical alias checks", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    await roomPost(t, bob, roomId, "join");
    const put = await putState(t, alice, roomId, "m.room.topic", { topic: "t1" });
    assertEquals(put.status, 200);
    assert(put.body.event_id.startsWith("$"));
    assertEquals((await getState(t, bob, roomId, "m.room.topic")).body.topic, "t1");
    const full = await t.request(
      "GET",
      `${V3}/rooms/${enc(roomId)}/state/m.room.topic/?format=event`,
      { token: bob.accessToken },
    );
    assertEquals(full.body.event_id, put.body.event_id);
    // Bob may not change the name: 403 with the reason.
    const forbidden = await putState(t, bob, roomId, "m.room.name", { name: "mine" });
    assertEquals(forbidden.status, 403);
    assertEquals(forbidden.body.errcode, "M_FORBIDDEN");
    assert(/power/i.test(forbidden.body.error), forbidden.body.error);
    assertEquals((await getState(t, bob, roomId, "m.room.name")).status, 404);
    // prev_content on a replaced state event.
    const put2 = await putState(t, alice, roomId, "m.room.topic", { topic: "t2" });
    const ev = await getEvent(t, bob, roomId, put2.body.event_id);
    assertEquals(ev.body.unsigned.prev_content, { topic: "t1" });
    assertEquals(ev.body.unsigned.replaces_state, put.body.event_id);
    // State with a state key containing a slash.
    const slash = await putState(t, alice, roomId, "org.example.s", { v: 1 }, "a/b");
    assertEquals(slash.status, 200);
    assertEquals((await getState(t, bob, roomId, "org.example.s", "a/b")).body, { v: 1 });

    // Canonical alias: must exist and point to this room.
    const missing = await putState(t, alice, roomId, "m.room.canonical_alias", {
      alias: "#nope:localhost",
    });
    assertEquals(missing.status, 400);
    assertEquals(missing.body.errcode, "M_BAD_ALIAS");
    const other = await createRoom(t, alice, { room_alias_name: "other" });
    assert(other);
    const elsewhere = await putState(t, alice, roomId, "m.room.canonical_alias", {
      alias: "#other:localhost",
    });
    assertEquals(elsewhere.body.errcode, "M_BAD_ALIAS");
    await t.request("PUT", `${V3}/directory/room/${enc("#mine:localhost")}`, {
      token: alice.accessToken,
      body: { room_id: roomId },
    });
    const ok = await putState(t, alice, roomId, "m.room.canonical_alias", {
      alias: "#mine:localhost",
      alt_aliases: ["#mine:localhost"],
    });
    assertEquals(ok.status, 200, JSON.stringify(ok.body));
    const invalid = await putState(t, alice, roomId, "m.room.canonical_alias", { alias: 5 });
    assertEquals(invalid.body.errcode, "M_INVALID_PARAM");
    // An outsider cannot read the state of a shared (non world-readable) room.
    const carol = await t.register("carol");
    assertEquals((await getState(t, carol, roomId, "m.room.topic")).status, 403);
  }));

Deno.test("redact: own events, others' with power, content stripped, redacts fields", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    for (const version of ["10", "11", "12"]) {
      const roomId = await createRoom(t, alice, { preset: "public_chat", room_version: version });
      await roomPost(t, bob, roomId, "join");
      const msg = await send(t, bob, roomId, { msgtype: "m.text", body: "secret" });
      const alicesMsg = await send(t, alice, roomId, { msgtype: "m.text", body: "mine" });
      // Bob may not redact Alice's message.
      const denied = await t.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc(alicesMsg.body.event_id)}/r0`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(denied.status, 403);
      const redact = await t.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc(msg.body.event_id)}/r1`,
        { token: alice.accessToken, body: { reason: "spam" } },
      );
      assertEquals(redact.status, 200, JSON.stringify(redact.body));
      const repeat = await t.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc(msg.body.event_id)}/r1`,
        { token: alice.accessToken, body: { reason: "spam" } },
      );
      assertEquals(repeat.body.event_id, redact.body.event_id);
      const redacted = await getEvent(t, bob, roomId, msg.body.event_id);
      assertEquals(redacted.body.content, {});
      assertEquals(redacted.body.unsigned.redacted_because.event_id, redact.body.event_id);
      const redaction = await getEvent(t, bob, roomId, redact.body.event_id);
      assertEquals(redaction.body.redacts, msg.body.event_id);
      assertEquals(redaction.body.content.redacts, msg.body.event_id);
      assertEquals(redaction.body.content.reason, "spam");
      // Bob redacts his own message.
      const own = await send(t, bob, roomId, { msgtype: "m.text", body: "oops" });
      const ownRedact = await t.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc(own.body.event_id)}/r2`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(ownRedact.status, 200);
      const unknown = await t.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc("$" + "A".repeat(43))}/r3`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(unknown.status, 404);
    }
  }));

Deno.test("event: history visibility decides who sees what", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    const before = await send(t, alice, roomId, { body: "before bob" });
    await roomPost(t, bob, roomId, "join");
    // shared: bob sees events from before his join.
    assertEquals((await getEvent(t, bob, roomId, before.body.event_id)).status, 200);
    // A stranger sees nothing.
    const stranger = await getEvent(t, carol, roomId, before.body.event_id);
    assertEquals(stranger.status, 404);
    assertEquals(stranger.body.errcode, "M_NOT_FOUND");

    await putState(t, alice, roomId, "m.room.history_visibility", { history_visibility: "joined" });
    const hidden = await send(t, alice, roomId, { body: "before carol" });
    await roomPost(t, carol, roomId, "join");
    assertEquals((await getEvent(t, carol, roomId, hidden.body.event_id)).status, 404);
    const after = await send(t, alice, roomId, { body: "after carol" });
    assertEquals((await getEvent(t, carol, roomId, after.body.event_id)).status, 200);
    // After leaving, carol no longer sees new events but still the ones from her time.
    await roomPost(t, carol, roomId, "leave");
    const later = await send(t, alice, roomId, { body: "after carol left" });
    assertEquals((await getEvent(t, carol, roomId, later.body.event_id)).status, 404);
    assertEquals((await getEvent(t, carol, roomId, after.body.event_id)).status, 200);

    await putState(t, alice, roomId, "m.room.history_visibility", {
      history_visibility: "world_readable",
    });
    const open = await send(t, alice, roomId, { body: "for everyone" });
    const dave = await t.register("dave");
    assertEquals((await getEvent(t, dave, roomId, open.body.event_id)).status, 200);
    // The world_readable room's state is readable by anyone.
    assertEquals((await getState(t, dave, roomId, "m.room.history_visibility")).status, 200);

    // invited: visible from the invite on.
    const room2 = await createRoom(t, alice, {
      initial_state: [{
        type: "m.room.history_visibility",
        content: { history_visibility: "invited" },
      }],
    });
    const early = await send(t, alice, room2, { body: "early" });
    await roomPost(t, alice, room2, "invite", { user_id: bob.userId });
    const invited = await send(t, alice, room2, { body: "while invited" });
    await roomPost(t, bob, room2, "join");
    assertEquals((await getEvent(t, bob, room2, early.body.event_id)).status, 404);
    assertEquals((await getEvent(t, bob, room2, invited.body.event_id)).status, 200);
  }));
