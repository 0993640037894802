import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { INDEX_VERSION, INDEX_VERSION_KEY } from "../../server/search/backfill.ts";
import { searchMutations, tokenize } from "../../server/search/index.ts";
import {
  createJoinedHistoryRoom,
  createRoom,
  enc,
  roomPost,
  sendOk,
  V3,
  withRoomServer,
} from "./rooms_support.ts";

function search(
  t: TestServer,
  user: TestUser,
  criteria: Record<string, unknown>,
  nextBatch?: string,
) {
  const query = nextBatch ? `?next_batch=${enc(nextBatch)}` : "";
  return t.request("POST", `${V3}/search${query}`, {
    token: user.accessToken,
    body: { search_categories: { room_events: criteria } },
  });
}

function ids(res: { body: { search_categories: { room_events: { results: unknown[] } } } }) {
  return res.body.search_categories.room_events.results.map((r) =>
    (r as { result: { event_id: string } }).result.event_id
  );
}

Deno.test("search: tokenizer and index writes", () => {
  assertEquals(tokenize("Héllo, WORLD! l'été 2026"), ["héllo", "world", "l", "été", "2026"]);
  const writes = searchMutations({
    eventId: "$e",
    roomId: "!r:x",
    type: "m.room.message",
    content: { msgtype: "m.text", body: "ping ping pong" },
  }, 7);
  assertEquals(writes.map(([key]) => key), [
    ["search", "!r:x", "ping", 7, "content.body"],
    ["search", "!r:x", "pong", 7, "content.body"],
  ]);
  assertEquals(writes[0][1], { eventId: "$e", tf: 2, len: 3 });
  const encrypted = searchMutations({
    eventId: "$x",
    roomId: "!r:x",
    type: "m.room.encrypted",
    content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "ping", body: "ping" },
  }, 8);
  assertEquals(encrypted, []);
});

Deno.test("search: room_events over body, name, topic; order, pagination, count, highlights", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, {
      preset: "public_chat",
      name: "Garden club",
      topic: "Tomatoes and beans",
    });
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    const other = await createRoom(t, alice, { name: "Private tomatoes" });
    const m1 = await sendOk(t, alice, roomId, { msgtype: "m.text", body: "The tomatoes are ripe" });
    const m2 = await sendOk(t, bob, roomId, { msgtype: "m.text", body: "tomato soup tonight" });
    const m3 = await sendOk(t, alice, roomId, {
      msgtype: "m.text",
      body: "Beans beans beans, and many other things in a long sentence about the garden",
    });
    // Encrypted events are never searchable, even when a client puts a plaintext body in them.
    await sendOk(t, bob, roomId, {
      algorithm: "m.megolm.v1.aes-sha2",
      ciphertext: "tomatoes",
      body: "tomatoes secret",
      sender_key: "k",
      session_id: "s",
      device_id: "D",
    }, { type: "m.room.encrypted" });
    await sendOk(t, alice, other, { msgtype: "m.text", body: "tomatoes in the other room" });

    // Prefix matching: "tomato" matches "tomatoes" and "tomato".
    const recent = await search(t, bob, { search_term: "tomato", order_by: "recent" });
    assertEquals(recent.status, 200, JSON.stringify(recent.body));
    const body = recent.body.search_categories.room_events;
    assertEquals(ids(recent).slice(0, 2), [m2, m1]);
    // The topic event matches too; bob is not in `other`.
    assertEquals(body.count, 3);
    assertEquals(body.results[2].result.type, "m.room.topic");
    assert(body.highlights.includes("tomatoes"));
    assert(body.highlights.includes("tomato"));
    assert(body.results.every((r: { rank: number }) => r.rank > 0));

    // Keys restrict the fields.
    const bodiesOnly = await search(t, bob, { search_term: "tomato", keys: ["content.body"] });
    assertEquals(bodiesOnly.body.search_categories.room_events.count, 2);
    const names = await search(t, bob, { search_term: "garden", keys: ["content.name"] });
    assertEquals(names.body.search_categories.room_events.results[0].result.type, "m.room.name");
    assertEquals(names.body.search_categories.room_events.count, 1);

    // Rank: an exact, repeated match in a short message first.
    const ranked = await search(t, bob, { search_term: "tomatoes" });
    // The short topic ranks above the longer message; "tomato" is not a match for "tomatoes".
    assertEquals(
      ranked.body.search_categories.room_events.results.map((r: { result: { type: string } }) =>
        r.result.type
      ),
      ["m.room.topic", "m.room.message"],
    );
    assertEquals(ids(ranked)[1], m1);
    const exact = await search(t, bob, { search_term: "tomato", keys: ["content.body"] });
    assertEquals(ids(exact), [m2, m1]); // the exact match first
    const beans = await search(t, bob, { search_term: "beans", keys: ["content.body"] });
    assertEquals(ids(beans), [m3]);
    // All terms must match.
    assertEquals(
      (await search(t, bob, { search_term: "tomato soup" })).body.search_categories
        .room_events.count,
      1,
    );
    assertEquals(
      (await search(t, bob, { search_term: "tomato beans" })).body.search_categories
        .room_events.count,
      1,
    ); // the topic

    // Pagination with next_batch; later events do not shift pages.
    const page1 = await search(t, bob, {
      search_term: "tomato",
      order_by: "recent",
      filter: { limit: 2 },
    });
    assertEquals(ids(page1), [m2, m1]);
    const next = page1.body.search_categories.room_events.next_batch;
    assert(next);
    await sendOk(t, alice, roomId, { msgtype: "m.text", body: "more tomatoes" });
    const page2 = await search(t, bob, {
      search_term: "tomato",
      order_by: "recent",
      filter: { limit: 2 },
    }, next);
    assertEquals(page2.body.search_categories.room_events.results.length, 1);
    assertEquals(page2.body.search_categories.room_events.next_batch, undefined);
    // A page of none counts the matches but gives no token that would repeat itself.
    const none = await search(t, bob, { search_term: "tomato", filter: { limit: 0 } });
    assertEquals(none.body.search_categories.room_events.results, []);
    assertEquals(none.body.search_categories.room_events.count, 4);
    assertEquals(none.body.search_categories.room_events.next_batch, undefined);
    // The rooms filter with `order_by: recent`, paged: every page in that room, newest first.
    const inRoom = await search(t, bob, {
      search_term: "tomato",
      order_by: "recent",
      keys: ["content.body"],
      filter: { rooms: [roomId], limit: 1 },
    });
    const first = inRoom.body.search_categories.room_events;
    assert(first.next_batch);
    const second = (await search(t, bob, {
      search_term: "tomato",
      order_by: "recent",
      keys: ["content.body"],
      filter: { rooms: [roomId], limit: 1 },
    }, first.next_batch)).body.search_categories.room_events;
    assertEquals(first.results[0].result.room_id, roomId);
    assertEquals(second.results[0].result.room_id, roomId);
    assert(
      first.results[0].result.origin_server_ts >= second.results[0].result.origin_server_ts,
      "newest first across pages",
    );

    // Filters: senders, not_senders, rooms, types.
    const bobs = await search(t, bob, { search_term: "tomato", filter: { senders: [bob.userId] } });
    assertEquals(ids(bobs), [m2]);
    const alices = await search(t, alice, {
      search_term: "tomatoes",
      filter: { rooms: [other] },
    });
    assertEquals(alices.body.search_categories.room_events.count, 2); // message + room name
    const noMessages = await search(t, alice, {
      search_term: "tomatoes",
      filter: { not_types: ["m.room.message"] },
    });
    assert(
      noMessages.body.search_categories.room_events.results.every((r: {
        result: { type: string };
      }) => r.result.type !== "m.room.message"),
    );

    // Encrypted ciphertext is not found at all.
    const secret = await search(t, bob, { search_term: "secret" });
    assertEquals(secret.body.search_categories.room_events.count, 0);
    assertEquals(secret.body.search_categories.room_events.results, []);

    // Redacted events disappear from results.
    const redact = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/redact/${enc(m2)}/r1`,
      { token: bob.accessToken, body: {} },
    );
    assertEquals(redact.status, 200);
    const afterRedact = await search(t, bob, { search_term: "soup" });
    assertEquals(afterRedact.body.search_categories.room_events.count, 0);
    // The redacted text left the index in the redaction's commit.
    const left = await Array.fromAsync(t.hs.kv.list({ prefix: ["search", roomId, "soup"] }));
    assertEquals(left, []);
    // Nothing of the encrypted event's fields was written to the index.
    const secretKeys = await Array.fromAsync(
      t.hs.kv.list({ prefix: ["search", roomId, "secret"] }),
    );
    assertEquals(secretKeys, []);
  }));

Deno.test("search: event_context with profiles, include_state, groupings, visibility", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createJoinedHistoryRoom(t, alice);
    await sendOk(t, alice, roomId, { msgtype: "m.text", body: "hidden kiwi before bob" });
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    const res = await t.request("PUT", `${V3}/profile/${enc(bob.userId)}/displayname`, {
      token: bob.accessToken,
      body: { displayname: "Bobby" },
    });
    assertEquals(res.status, 200);
    const a = await sendOk(t, alice, roomId, { msgtype: "m.text", body: "one" });
    const hit = await sendOk(t, bob, roomId, { msgtype: "m.text", body: "kiwi for everyone" });
    const b = await sendOk(t, alice, roomId, { msgtype: "m.text", body: "two" });

    // Bob cannot find what was said before he joined (history visibility "joined").
    const found = await search(t, bob, {
      search_term: "kiwi",
      event_context: { before_limit: 1, after_limit: 1, include_profile: true },
      include_state: true,
      groupings: { group_by: [{ key: "room_id" }, { key: "sender" }] },
    });
    assertEquals(found.status, 200, JSON.stringify(found.body));
    const events = found.body.search_categories.room_events;
    assertEquals(ids(found), [hit]);
    const context = events.results[0].context;
    assertEquals(context.events_before.map((e: { event_id: string }) => e.event_id), [a]);
    assertEquals(context.events_after.map((e: { event_id: string }) => e.event_id), [b]);
    assertEquals(context.profile_info[bob.userId].displayname, "Bobby");
    assert(context.profile_info[alice.userId]);
    assert(typeof context.start === "string" && typeof context.end === "string");
    assert(events.state[roomId].some((e: { type: string }) => e.type === "m.room.create"));
    assertEquals(events.groups.room_id[roomId].results, [hit]);
    assertEquals(events.groups.sender[bob.userId].results, [hit]);
    // Alice sees both.
    const forAlice = await search(t, alice, { search_term: "kiwi" });
    assertEquals(forAlice.body.search_categories.room_events.count, 2);
    // After leaving, bob's rooms are no longer searched.
    assertEquals((await roomPost(t, bob, roomId, "leave")).status, 200);
    assertEquals(
      (await search(t, bob, { search_term: "kiwi" })).body.search_categories
        .room_events.count,
      0,
    );
  }));

Deno.test("search: bad requests", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const post = (body: unknown, query = "") =>
      t.request("POST", `${V3}/search${query}`, { token: alice.accessToken, body });
    assertEquals((await post({})).body.errcode, "M_BAD_JSON");
    assertEquals(
      (await post({ search_categories: { room_events: {} } })).body.errcode,
      "M_BAD_JSON",
    );
    assertEquals(
      (await post({
        search_categories: { room_events: { search_term: "x", keys: ["content.x"] } },
      }))
        .body.errcode,
      "M_BAD_JSON",
    );
    assertEquals(
      (await post({ search_categories: { room_events: { search_term: "x", order_by: "new" } } }))
        .status,
      400,
    );
    assertEquals(
      (await post({ search_categories: { room_events: { search_term: "x" } } }, "?next_batch=zz"))
        .body.errcode,
      "M_INVALID_PARAM",
    );
    const empty = await post({ search_categories: {} });
    assertEquals(empty.status, 200);
    assertEquals(empty.body, { search_categories: {} });
    const punct = await post({ search_categories: { room_events: { search_term: "!!!" } } });
    assertEquals(punct.body.search_categories.room_events.results, []);
    assertEquals(
      (await t.request("POST", `${V3}/search`, { body: { search_categories: {} } })).status,
      401,
    );
  }));

Deno.test("search: events stored before the indexes existed are indexed at start-up", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const first = await startTestServer({ kv });
    const alice = await first.register("alice");
    const roomId = await createRoom(first, alice);
    const root = await sendOk(first, alice, roomId, { msgtype: "m.text", body: "old quince" });
    await sendOk(first, alice, roomId, {
      msgtype: "m.text",
      body: "old reply",
      "m.relates_to": { rel_type: "m.thread", event_id: root },
    });
    await first.close();
    // A database from before the indexes: no postings, no relations, no version mark.
    for (const prefix of [["search"], ["relation"], ["thread_root"]]) {
      for await (const entry of kv.list({ prefix })) await kv.delete(entry.key);
    }
    await kv.delete(INDEX_VERSION_KEY);

    const second = await startTestServer({ kv });
    try {
      const again = await second.login("alice", alice.password);
      const found = await search(second, again, { search_term: "quince" });
      assertEquals(ids(found), [root]);
      const threads = await second.request(
        "GET",
        `/_matrix/client/v1/rooms/${enc(roomId)}/threads`,
        { token: again.accessToken },
      );
      assertEquals(threads.body.chunk.map((e: { event_id: string }) => e.event_id), [root]);
      assertEquals(threads.body.chunk[0].unsigned["m.relations"]["m.thread"].count, 1);
      assertEquals((await kv.get(INDEX_VERSION_KEY)).value, INDEX_VERSION);
    } finally {
      await second.close();
    }
  } finally {
    kv.close();
  }
});
