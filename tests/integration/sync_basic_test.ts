import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { makeRoom, membership, send, sync, text, types } from "../support/sync_support.ts";

async function withServer(fn: (t: TestServer) => Promise<void>): Promise<void> {
  const t = await startTestServer();
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

Deno.test("sync: initial sync has state, timeline, push rules and a token", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice, { name: "Lobby" });
    await send(t, roomId, alice, text("hello"));
    const res = await sync(t, alice);
    assertEquals(res.status, 200);
    assert(typeof res.body.next_batch === "string");
    const room = res.body.rooms.join[roomId];
    assert(room, "room in rooms.join");
    assertEquals(types(room.timeline).slice(-1), ["m.room.message"]);
    // State is the state at the start of the timeline: no event is in both.
    const timelineIds = new Set(room.timeline.events.map((e: { event_id: string }) => e.event_id));
    for (const event of room.state.events) assert(!timelineIds.has(event.event_id));
    const all = [...types(room.state), ...types(room.timeline)];
    for (const type of ["m.room.create", "m.room.member", "m.room.power_levels", "m.room.name"]) {
      assert(all.includes(type), type);
    }
    assertEquals(room.timeline.limited, false);
    assert(typeof room.timeline.prev_batch === "string");
    assertEquals(room.unread_notifications, { notification_count: 0, highlight_count: 0 });
    assertEquals(room.summary["m.joined_member_count"], 1);
    const pushRules = res.body.account_data.events.find((e: { type: string }) =>
      e.type === "m.push_rules"
    );
    assertEquals(pushRules.content.global.override[0].rule_id, ".m.rule.master");
    assertEquals(res.body.rooms.invite, {});
    assertEquals(res.body.rooms.leave, {});
    assert(Array.isArray(res.body.to_device.events));
    assertEquals(room.timeline.events[0].room_id, undefined);
  }));

Deno.test("sync: incremental syncs carry only what changed; limited timelines", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const quiet = await makeRoom(t, alice);
    const busy = await makeRoom(t, alice);
    const first = await sync(t, alice);
    const since = first.body.next_batch;
    const empty = await sync(t, alice, { since });
    assertEquals(empty.body.rooms.join, {});
    assertEquals(empty.body.next_batch, since);
    const id = await send(t, busy, alice, text("one"));
    const next = await sync(t, alice, { since });
    assertEquals(Object.keys(next.body.rooms.join), [busy]);
    const room = next.body.rooms.join[busy];
    assertEquals(room.timeline.events.map((e: { event_id: string }) => e.event_id), [id]);
    assertEquals(room.timeline.limited, false);
    assertEquals(room.state.events, []);
    assert(!(quiet in next.body.rooms.join));
    // A gap: 8 messages and a topic change, with a limit of 3.
    const since2 = next.body.next_batch;
    await t.hs.pipeline.sendEvent(busy, {
      type: "m.room.topic",
      stateKey: "",
      sender: alice.userId,
      content: { topic: "gap topic" },
    });
    for (let i = 0; i < 8; i++) await send(t, busy, alice, text(`m${i}`));
    const limited = await sync(t, alice, {
      since: since2,
      filter: { room: { timeline: { limit: 3 } } },
    });
    const lroom = limited.body.rooms.join[busy];
    assertEquals(lroom.timeline.limited, true);
    assertEquals(lroom.timeline.events.map((e: { content: { body: string } }) => e.content.body), [
      "m5",
      "m6",
      "m7",
    ]);
    // The topic changed in the gap: it is in state.
    assertEquals(types(lroom.state), ["m.room.topic"]);
    // prev_batch paginates back into the gap.
    const back = await t.request(
      "GET",
      `/_matrix/client/v3/rooms/${
        encodeURIComponent(busy)
      }/messages?dir=b&limit=2&from=${lroom.timeline.prev_batch}`,
      { token: alice.accessToken },
    );
    assertEquals(back.status, 200);
    {
      assertEquals(back.body.chunk.map((e: { content: { body: string } }) => e.content.body), [
        "m4",
        "m3",
      ]);
    }
  }));

Deno.test("sync: long-poll returns within milliseconds of a send, and times out empty", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice);
    const since = (await sync(t, alice)).body.next_batch;
    const started = Date.now();
    const waiting = sync(t, alice, { since, timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await send(t, roomId, alice, text("wake up"));
    const res = await waiting;
    const elapsed = Date.now() - started;
    assert(elapsed < 2000, `took ${elapsed} ms`);
    assertEquals(types(res.body.rooms.join[roomId].timeline), ["m.room.message"]);
    const idleStart = Date.now();
    const idle = await sync(t, alice, { since: res.body.next_batch, timeout: 300 });
    assert(Date.now() - idleStart >= 280);
    assertEquals(idle.body.rooms.join, {});
    assertEquals(t.hs.notifier.waiterCount, 0);
  }));

Deno.test("sync: invite, join, leave and ban sections", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await makeRoom(t, alice, { name: "Secret", joinRule: "invite" });
    const since = (await sync(t, bob)).body.next_batch;
    await membership(t, roomId, { sender: alice, target: bob, membership: "invite" });
    const invited = await sync(t, bob, { since });
    const invite = invited.body.rooms.invite[roomId];
    assert(invite, "invite section");
    const inviteTypes = types(invite.invite_state);
    assert(inviteTypes.includes("m.room.name"));
    assert(inviteTypes.includes("m.room.member"));
    await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
    await send(t, roomId, alice, text("welcome"));
    const joined = await sync(t, bob, { since: invited.body.next_batch });
    const room = joined.body.rooms.join[roomId];
    // A newly joined room comes with its full state (here the whole history fits the timeline).
    assert([...types(room.state), ...types(room.timeline)].includes("m.room.create"));
    const limitedJoin = await sync(t, bob, {
      since: invited.body.next_batch,
      filter: { room: { timeline: { limit: 1 } } },
    });
    assert(types(limitedJoin.body.rooms.join[roomId].state).includes("m.room.create"));
    assert(types(room.timeline).includes("m.room.message"));
    await membership(t, roomId, { sender: bob, target: bob, membership: "leave" });
    await send(t, roomId, alice, text("after bob left"));
    const left = await sync(t, bob, { since: joined.body.next_batch });
    const leave = left.body.rooms.leave[roomId];
    assert(leave, "leave section");
    const bodies = leave.timeline.events.map((e: { content: { body?: string } }) => e.content.body);
    assert(!bodies.includes("after bob left"));
    assertEquals(leave.timeline.events.at(-1).type, "m.room.member");
    assertEquals(left.body.rooms.join[roomId], undefined);
    // Banned while invited again.
    await membership(t, roomId, { sender: alice, target: bob, membership: "invite" });
    const reinvited = await sync(t, bob, { since: left.body.next_batch });
    assert(reinvited.body.rooms.invite[roomId]);
    await membership(t, roomId, { sender: alice, target: bob, membership: "ban", reason: "spam" });
    const banned = await sync(t, bob, { since: reinvited.body.next_batch });
    const ban = banned.body.rooms.leave[roomId];
    assertEquals(ban.timeline.events.at(-1).content.membership, "ban");
    // Initial syncs leave out left rooms unless the filter asks.
    assertEquals((await sync(t, bob)).body.rooms.leave, {});
    const withLeave = await sync(t, bob, { filter: { room: { include_leave: true } } });
    assert(withLeave.body.rooms.leave[roomId]);
  }));

Deno.test("sync: query parameters as browsers and clients encode them", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice);
    for (const body of ["one", "two", "three"]) await send(t, roomId, alice, text(body));
    const get = async (query: string) => {
      const res = await t.request("GET", `/_matrix/client/v3/sync?${query}`, {
        token: alice.accessToken,
      });
      assertEquals(res.status, 200, query);
      return res.body.rooms.join[roomId].timeline.events.length;
    };
    const inline = '{"room": {"timeline": {"limit": 1}}}';
    // `+` for spaces, percent-encoding, a raw JSON filter, an encoded parameter name, and
    // the first of two values: each must give the one-event timeline (twice: cached too).
    for (let round = 0; round < 2; round++) {
      assertEquals(await get(`filter=${encodeURIComponent(inline).replaceAll("%20", "+")}`), 1);
      assertEquals(await get(`filter=${encodeURIComponent(inline)}&full_state=false`), 1);
      assertEquals(await get(`timeout=0&filter=${inline.replaceAll(" ", "")}`), 1);
      assertEquals(await get(`fil%74er=${encodeURIComponent(inline)}`), 1);
      assertEquals(
        await get(`filter=${encodeURIComponent(inline)}&filter=${encodeURIComponent("{}")}`),
        1,
      );
    }
    const bad = await t.request("GET", "/_matrix/client/v3/sync?full_state=%zz", {
      token: alice.accessToken,
    });
    assertEquals(bad.status, 400);
  }));
