/**
 * The sync paths that work from memory: unread counts kept per (user, room) must equal a
 * recount from the read marks after messages, receipts and push rule changes; lazy-loaded
 * members are chosen by key; idle long-polls wait without computing and still wake at once.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { type TestUser, withTestServer } from "../support/test_server.ts";
import { makeRoom, membership, send, sync, text } from "../support/sync_support.ts";
import { forgetUnreadCounts } from "../../server/sync/unread_counts.ts";
import { RECENT_ENTRIES, recentTimelines } from "../../server/sync/recent_timeline.ts";
import { timelineBatches } from "../../server/sync/room_reader.ts";
import { presenceChangesInMemory } from "../../server/sync/positions.ts";
import { presenceChangedBetween } from "../../server/store/presence.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

interface Counts {
  main: { notification_count: number; highlight_count: number };
  threads: Record<string, { notification_count: number; highlight_count: number }>;
}

const THREADED = { room: { timeline: { limit: 5, unread_thread_notifications: true } } };

// deno-lint-ignore no-explicit-any
function countsOf(room: any): Counts {
  return { main: room.unread_notifications, threads: room.unread_thread_notifications };
}

function n(notification_count: number, highlight_count = 0) {
  return { notification_count, highlight_count };
}

Deno.test("unread counts: kept counts equal a recount after messages, receipts and rule changes", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await makeRoom(t, alice);
    await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
    let since = (await sync(t, alice, { filter: THREADED })).body.next_batch as string;
    const receipt = (type: string, eventId: string, body: Record<string, unknown> = {}) =>
      t.request("POST", `${V3}/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`, {
        token: alice.accessToken,
        body,
      });

    /** Incremental (kept), initial (kept) and initial after forgetting must all agree. */
    const expect = async (expected: Counts, step: string) => {
      const incremental = await sync(t, alice, { since, filter: THREADED });
      since = incremental.body.next_batch;
      const inRoom = incremental.body.rooms.join[roomId];
      if (inRoom) assertEquals(countsOf(inRoom), expected, `${step}: incremental`);
      const kept = await sync(t, alice, { filter: THREADED });
      assertEquals(countsOf(kept.body.rooms.join[roomId]), expected, `${step}: kept`);
      forgetUnreadCounts(t.hs);
      const recount = await sync(t, alice, { filter: THREADED });
      assertEquals(countsOf(recount.body.rooms.join[roomId]), expected, `${step}: recount`);
    };

    await send(t, roomId, bob, text("one"));
    const hey = await send(
      t,
      roomId,
      bob,
      text("hey", { "m.mentions": { user_ids: [alice.userId] } }),
    );
    await send(t, roomId, bob, text("notice", { msgtype: "m.notice" }));
    const root = await send(t, roomId, bob, text("root"));
    const inThread = { "m.relates_to": { rel_type: "m.thread", event_id: root } };
    await send(t, roomId, bob, text("t1", inThread));
    await send(t, roomId, bob, text("t2", inThread));
    await expect({ main: n(3, 1), threads: { [root]: n(2) } }, "messages");

    // New events are added to kept counts (the incremental sync evaluates only them).
    await send(t, roomId, bob, text("m5"));
    const m5 = await send(t, roomId, bob, text("m5b"));
    await expect({ main: n(5, 1), threads: { [root]: n(2) } }, "more messages");

    // An unthreaded public receipt resets everything up to it, thread events included.
    assertEquals((await receipt("m.read", hey)).status, 200);
    await expect({ main: n(3), threads: { [root]: n(2) } }, "m.read");
    assertEquals((await receipt("m.read.private", m5)).status, 200);
    await expect({ main: n(0), threads: {} }, "m.read.private");

    const t3 = await send(t, roomId, bob, text("t3", inThread));
    await send(t, roomId, bob, text("m7", { "m.mentions": { user_ids: [alice.userId] } }));
    await expect({ main: n(1, 1), threads: { [root]: n(1) } }, "after the receipts");
    assertEquals((await receipt("m.read", t3, { thread_id: root })).status, 200);
    await expect({ main: n(1, 1), threads: {} }, "threaded receipt");

    // A room rule without actions silences the room; the mention rule still highlights.
    await send(t, roomId, bob, text("m8"));
    await expect({ main: n(2, 1), threads: {} }, "before the rule");
    const rule = `${V3}/pushrules/global/room/${enc(roomId)}`;
    const put = await t.request("PUT", rule, { token: alice.accessToken, body: { actions: [] } });
    assertEquals(put.status, 200);
    await expect({ main: n(1, 1), threads: {} }, "room muted");
    await send(t, roomId, bob, text("m9"));
    await expect({ main: n(1, 1), threads: {} }, "muted room, new message");
    assertEquals((await t.request("DELETE", rule, { token: alice.accessToken })).status, 200);
    await expect({ main: n(3, 1), threads: {} }, "rule deleted");
    const mention = `${V3}/pushrules/global/override/.m.rule.is_user_mention/enabled`;
    const off = await t.request("PUT", mention, {
      token: alice.accessToken,
      body: { enabled: false },
    });
    assertEquals(off.status, 200);
    await expect({ main: n(3), threads: {} }, "mention rule disabled");
  }));

// deno-lint-ignore no-explicit-any
function memberKeys(room: any): string[] {
  return room.state.events.filter((e: { type: string }) => e.type === "m.room.member")
    .map((e: { state_key: string }) => e.state_key).sort();
}

Deno.test("lazy-loaded members: exactly the timeline's senders and the user, initial and incremental", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice);
    const users: TestUser[] = [];
    for (const name of ["bob", "carol", "dave", "erin", "frank"]) {
      const user = await t.register(name);
      await membership(t, roomId, { sender: user, target: user, membership: "join" });
      users.push(user);
    }
    const [bob, carol, dave] = users;
    await send(t, roomId, bob, text("b"));
    await send(t, roomId, carol, text("c"));
    await send(t, roomId, dave, text("d"));
    await send(t, roomId, carol, text("c2"));
    const lazy = { room: { state: { lazy_load_members: true }, timeline: { limit: 3 } } };
    const first = await sync(t, alice, { filter: lazy });
    const room = first.body.rooms.join[roomId];
    assertEquals(room.timeline.limited, true);
    assertEquals(memberKeys(room), [alice.userId, carol.userId, dave.userId].sort());
    // Non-member state is complete.
    const types = new Set(room.state.events.map((e: { type: string }) => e.type));
    for (const type of ["m.room.create", "m.room.power_levels", "m.room.join_rules"]) {
      assert(types.has(type), type);
    }
    assertEquals(room.summary["m.joined_member_count"], 6);

    // Incremental, not limited: the new sender's member event comes with their message.
    const grace = await t.register("grace");
    await membership(t, roomId, { sender: grace, target: grace, membership: "join" });
    const since = first.body.next_batch;
    await send(t, roomId, grace, text("g"));
    await send(t, roomId, bob, text("b2"));
    const next = await sync(t, alice, { since, filter: lazy });
    const inc = next.body.rooms.join[roomId];
    assertEquals(inc.timeline.limited, false);
    // grace's join is in the timeline (state events there are not repeated in `state`).
    assertEquals(memberKeys(inc), [bob.userId]);
    assertEquals(inc.summary["m.joined_member_count"], 7);

    // Incremental, limited: members changed in the gap are sent, plus the senders this device
    // does not have yet (dave's member event came with the first sync).
    const frank = users[4];
    const gapSince = next.body.next_batch;
    await membership(t, roomId, { sender: frank, target: frank, membership: "leave" });
    for (let i = 0; i < 4; i++) await send(t, roomId, dave, text(`d${i}`));
    const gap = await sync(t, alice, { since: gapSince, filter: lazy });
    const gapRoom = gap.body.rooms.join[roomId];
    assertEquals(gapRoom.timeline.limited, true);
    assertEquals(memberKeys(gapRoom), [frank.userId]);
    assertEquals(gapRoom.summary["m.joined_member_count"], 6);
  }));

Deno.test("idle long-polls: wait without computing, wake at once for events, to-device and typing", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await makeRoom(t, alice);
    await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
    let since = (await sync(t, alice)).body.next_batch as string;
    // Nothing since the token: the long-poll times out with the same token.
    const started = Date.now();
    const idle = await sync(t, alice, { since, timeout: 300 });
    assert(Date.now() - started >= 280);
    assertEquals(idle.body.next_batch, since);
    assertEquals(idle.body.rooms.join, {});
    assert(typeof idle.body.device_one_time_keys_count === "object");
    assertEquals(t.hs.notifier.waiterCount, 0);

    const wakesFor = async (what: string, act: () => Promise<unknown>) => {
      const waiting = sync(t, alice, { since, timeout: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      assertEquals(t.hs.notifier.waiterCount, 1, `${what}: waiting`);
      const acted = Date.now();
      await act();
      const res = await waiting;
      const elapsed = Date.now() - acted;
      assert(elapsed < 1000, `${what}: woke after ${elapsed} ms`);
      assert(res.body.next_batch !== since, `${what}: token moved`);
      since = res.body.next_batch;
      return res.body;
    };

    const event = await wakesFor("event", () => send(t, roomId, bob, text("hello")));
    assertEquals(event.rooms.join[roomId].timeline.events.at(-1).content.body, "hello");

    const toDevice = await wakesFor(
      "to-device",
      () =>
        t.request("PUT", `${V3}/sendToDevice/org.example.ping/txn1`, {
          token: bob.accessToken,
          body: { messages: { [alice.userId]: { [alice.deviceId]: { n: 1 } } } },
        }),
    );
    assertEquals(toDevice.to_device.events.map((e: { type: string }) => e.type), [
      "org.example.ping",
    ]);

    const typing = await wakesFor(
      "typing",
      () =>
        t.request("PUT", `${V3}/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, {
          token: bob.accessToken,
          body: { typing: true, timeout: 10_000 },
        }),
    );
    const typingEvent = typing.rooms.join[roomId].ephemeral.events.find((
      e: { type: string },
    ) => e.type === "m.typing");
    assertEquals(typingEvent.content.user_ids, [bob.userId]);
    await t.request("PUT", `${V3}/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, {
      token: bob.accessToken,
      body: { typing: false },
    });
  }));

Deno.test("long-polls: a client that goes away ends its wait; an answered one leaves none", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const since = (await sync(t, alice)).body.next_batch as string;
    const url = `${t.baseUrl}${V3}/sync?since=${enc(since)}&timeout=30000`;
    // An answered request leaves no waiter and nothing aborts later (the server runs without
    // Deno's legacy abort-on-success, deno.json "unstable").
    const answered = await fetch(`${t.baseUrl}${V3}/sync?since=${enc(since)}&timeout=100`, {
      headers: { Authorization: `Bearer ${alice.accessToken}` },
    });
    assertEquals(answered.status, 200);
    await answered.body?.cancel();
    assertEquals(t.hs.notifier.waiterCount, 0);
    const client = new AbortController();
    const waiting = fetch(url, {
      headers: { Authorization: `Bearer ${alice.accessToken}` },
      signal: client.signal,
    }).catch(() => null);
    const until = async (count: number, what: string) => {
      const deadline = Date.now() + 3000;
      while (t.hs.notifier.waiterCount !== count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assertEquals(t.hs.notifier.waiterCount, count, what);
    };
    await until(1, "waiting");
    client.abort();
    await waiting;
    await until(0, "the wait ended when the client went away");
  }));

Deno.test("presence changes: ranges from memory equal ranges read from KV", () =>
  withTestServer(async (t) => {
    const users = [];
    for (const name of ["pa", "pb", "pc", "pd"]) users.push(await t.register(name));
    const start = t.hs.stream.visiblePosition;
    const states = ["online", "unavailable", "offline"];
    for (let round = 0; round < 6; round++) {
      for (const [i, user] of users.entries()) {
        if ((round + i) % 3 === 0) continue;
        const res = await t.request(
          "PUT",
          `${V3}/presence/${enc(user.userId)}/status`,
          { token: user.accessToken, body: { presence: states[(round * 2 + i) % 3] } },
        );
        assertEquals(res.status, 200);
      }
    }
    const end = t.hs.stream.visiblePosition;
    assert(end > start + 5, "presence was written");
    for (let since = start; since <= end; since++) {
      for (const upto of [since, since + 1, since + 4, end]) {
        const fromMemory = await presenceChangesInMemory(t.hs, { since, upto });
        const fromKv = await presenceChangedBetween(t.hs, { since, upto });
        assertEquals(fromMemory, fromKv, `(${since}, ${upto}]`);
      }
    }
  }));

Deno.test("presence filters: none wanted, none computed; the same range still has them", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await makeRoom(t, alice);
    await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
    const since = (await sync(t, alice)).body.next_batch as string;
    const res = await t.request("PUT", `${V3}/presence/${enc(bob.userId)}/status`, {
      token: bob.accessToken,
      body: { presence: "unavailable", status_msg: "away" },
    });
    assertEquals(res.status, 200);
    const senders = (body: { presence: { events: { sender: string }[] } }) =>
      body.presence.events.map((event) => event.sender);
    assertEquals(senders((await sync(t, alice, { since })).body), [bob.userId]);
    for (const presence of [{ types: [] }, { senders: [] }, { not_types: ["m.*"] }]) {
      const filtered = await sync(t, alice, { since, filter: { presence } });
      assertEquals(senders(filtered.body), [], JSON.stringify(presence));
    }
    const bobOnly = await sync(t, alice, {
      since,
      filter: { presence: { senders: [bob.userId] } },
    });
    assertEquals(senders(bobOnly.body), [bob.userId]);
  }));

Deno.test("recent timelines: ranges from memory equal ranges read from KV", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice);
    const recent = recentTimelines(t.hs);
    const kvRange = async (after: number, upto: number) =>
      (await t.hs.rooms.timeline(roomId, { dir: "f", from: after, to: upto, limit: 10_000 }))
        .map((e) => e.pos);
    // A seeded pseudo-random walk: sends interleaved with reads of ranges, forwards and newest
    // first, so stretches are offered, extended, joined and trimmed.
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    for (let round = 0; round < 60; round++) {
      const sends = random(6);
      for (let i = 0; i < sends; i++) await send(t, roomId, alice, text(`r${round}.${i}`));
      const visible = t.hs.stream.visiblePosition;
      const upto = visible - random(4);
      const after = Math.max(0, upto - 1 - random(60));
      const between = await recent.between(roomId, { after, upto, max: 1000 });
      assertEquals(
        between?.map((e) => e.pos),
        await kvRange(after, upto),
        `between ${after}-${upto}`,
      );
      const newest = await recent.newest(roomId, { after, upto });
      if (newest) {
        assert(newest.covered >= after);
        assertEquals(
          newest.entries.map((e) => e.pos),
          (await kvRange(newest.covered, upto)).reverse(),
          `newest ${after}-${upto}`,
        );
      }
      const batches: number[] = [];
      const iter = timelineBatches(t.hs, roomId, { after, upto, newest: true, firstBatch: 3 });
      for await (const entries of iter) batches.push(...entries.map((e) => e.pos));
      assertEquals(batches, (await kvRange(after, upto)).reverse(), `batches ${after}-${upto}`);
    }
    // More than a stretch holds: the caller is told to page through KV.
    const before = t.hs.stream.visiblePosition;
    for (let i = 0; i < RECENT_ENTRIES + 5; i++) await send(t, roomId, alice, text(`b${i}`));
    const upto = t.hs.stream.visiblePosition;
    assertEquals(await recent.between(roomId, { after: before, upto, max: 1000 }) !== null, true);
    assertEquals(await recent.between(roomId, { after: before, upto, max: 10 }), null);
    const newest = await recent.newest(roomId, { after: 0, upto });
    if (newest) {
      assert(newest.entries.length <= RECENT_ENTRIES);
      assertEquals(
        newest.entries.map((e) => e.pos),
        (await kvRange(newest.covered, upto)).reverse(),
      );
    }
  }));
