/**
 * Sync details an independent conformance suite checks (issue 14, "Sync details"), over real
 * HTTP against one server: newly joined rooms, membership changes that are not joins, join and
 * leave in one batch, current state under `joined` history visibility, lazy-loaded members not
 * resent per device, ignored users, `timeline.limit: 0`, `event_format: federation`, and the
 * `end` token of `/messages`.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import {
  startTestServer,
  type TestResponse,
  type TestServer,
  type TestUser,
} from "../support/test_server.ts";

type Json = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Event = any;

const V3 = "/_matrix/client/v3";
const room = (roomId: string) => `${V3}/rooms/${encodeURIComponent(roomId)}`;

function ok(res: TestResponse, what: string): TestResponse {
  assertEquals(res.status, 200, `${what}: ${JSON.stringify(res.body)}`);
  return res;
}

async function createRoom(t: TestServer, user: TestUser, body: Json = {}): Promise<string> {
  const res = ok(
    await t.request("POST", `${V3}/createRoom`, {
      token: user.accessToken,
      body: { preset: "public_chat", ...body },
    }),
    "createRoom",
  );
  return res.body.room_id;
}

let txn = 0;

async function sendEvent(
  t: TestServer,
  user: TestUser,
  roomId: string,
  content: Json,
  type = "m.room.message",
): Promise<string> {
  const res = ok(
    await t.request("PUT", `${room(roomId)}/send/${type}/t${++txn}`, {
      token: user.accessToken,
      body: content,
    }),
    "send",
  );
  return res.body.event_id;
}

const say = (t: TestServer, user: TestUser, roomId: string, body: string) =>
  sendEvent(t, user, roomId, { msgtype: "m.text", body });

async function putState(
  t: TestServer,
  user: TestUser,
  roomId: string,
  where: { type: string; stateKey?: string; content: Json },
): Promise<string> {
  const key = encodeURIComponent(where.stateKey ?? "");
  const res = ok(
    await t.request("PUT", `${room(roomId)}/state/${where.type}/${key}`, {
      token: user.accessToken,
      body: where.content,
    }),
    "state",
  );
  return res.body.event_id;
}

async function member(
  t: TestServer,
  user: TestUser,
  roomId: string,
  action: "join" | "leave",
): Promise<void> {
  ok(
    await t.request("POST", `${room(roomId)}/${action}`, { token: user.accessToken, body: {} }),
    action,
  );
}

async function invite(t: TestServer, by: TestUser, roomId: string, who: TestUser): Promise<void> {
  ok(
    await t.request("POST", `${room(roomId)}/invite`, {
      token: by.accessToken,
      body: { user_id: who.userId },
    }),
    "invite",
  );
}

async function sync(
  t: TestServer,
  user: TestUser,
  params: { since?: string; filter?: Json | string; full_state?: boolean } = {},
): Promise<Json & { next_batch: string; rooms: Event; presence: Event }> {
  const query = new URLSearchParams({ timeout: "0" });
  if (params.since) query.set("since", params.since);
  if (params.filter !== undefined) {
    query.set(
      "filter",
      typeof params.filter === "string" ? params.filter : JSON.stringify(params.filter),
    );
  }
  if (params.full_state) query.set("full_state", "true");
  const res = ok(
    await t.request("GET", `${V3}/sync?${query}`, { token: user.accessToken }),
    "sync",
  );
  return res.body;
}

async function createFilter(t: TestServer, user: TestUser, filter: Json): Promise<string> {
  const res = ok(
    await t.request("POST", `${V3}/user/${encodeURIComponent(user.userId)}/filter`, {
      token: user.accessToken,
      body: filter,
    }),
    "filter",
  );
  return res.body.filter_id;
}

/** The state keys of the member events in a room's state section. */
function stateMembers(section: Event): string[] {
  return (section?.state?.events ?? [])
    .filter((e: Event) => e.type === "m.room.member")
    .map((e: Event) => e.state_key)
    .sort();
}

/**
 * A sync filter that lets through only state events of type `a.madeup.test.state` (no
 * timeline, ephemeral or presence events); with `includeLeave`, left rooms as well.
 */
function madeupStateOnly(options: { includeLeave?: boolean } = {}): Json {
  const room: Json = {
    timeline: { types: [] },
    state: { types: ["a.madeup.test.state"] },
    ephemeral: { types: [] },
  };
  if (options.includeLeave) room.include_leave = true;
  return { room, presence: { types: [] } };
}

/** Creates a room of `creator`'s holding one `a.madeup.test.state` event (`my_key: 1`). */
async function roomWithMadeupState(t: TestServer, creator: TestUser): Promise<string> {
  const roomId = await createRoom(t, creator);
  await putState(t, creator, roomId, { type: "a.madeup.test.state", content: { my_key: 1 } });
  return roomId;
}

Deno.test("sync conformance: details of /sync and /messages", async (t) => {
  const server = await startTestServer();
  let n = 0;
  const user = (name: string) => server.register(`${name}${++n}`);
  try {
    await t.step("timeline.limit 0 gives an empty timeline and the filtered state", async () => {
      const alice = await user("alice");
      const roomId = await createRoom(server, alice);
      const body = await sync(server, alice, {
        filter: { room: { state: { types: ["m.room.member"] }, timeline: { limit: 0 } } },
      });
      const section = body.rooms.join[roomId];
      assertEquals(section.timeline.events, []);
      assertEquals(section.timeline.limited, true);
      assertEquals(stateMembers(section), [alice.userId]);
      assertEquals(section.state.events.length, 1);
      // A stored filter may say 0 as well.
      const id = await createFilter(server, alice, { room: { timeline: { limit: 0 } } });
      const stored = await sync(server, alice, { filter: id });
      assertEquals(stored.rooms.join[roomId].timeline.events, []);
      // A negative limit is still refused.
      const bad = await server.request(
        "GET",
        `${V3}/sync?filter=${encodeURIComponent('{"room":{"timeline":{"limit":-1}}}')}`,
        { token: alice.accessToken },
      );
      assertEquals(bad.status, 400);
      assertEquals(bad.body.errcode, "M_BAD_JSON");
    });

    await t.step("event_format federation gives the events as PDUs", async () => {
      const alice = await user("alice");
      const roomId = await createRoom(server, alice);
      const eventId = await say(server, alice, roomId, "Test message");
      const filter = await createFilter(server, alice, {
        event_format: "federation",
        room: { timeline: { limit: 1 } },
      });
      const body = await sync(server, alice, { filter });
      const section = body.rooms.join[roomId];
      assertEquals(section.timeline.events.length, 1);
      const event = section.timeline.events[0];
      for (
        const key of [
          "event_id",
          "content",
          "room_id",
          "sender",
          "origin_server_ts",
          "type",
          "prev_events",
          "auth_events",
          "depth",
          "hashes",
          "signatures",
        ]
      ) assert(key in event, `federation format has ${key}: ${JSON.stringify(event)}`);
      assertEquals(event.event_id, eventId);
      assertEquals(event.content.body, "Test message");
      const create = section.state.events.find((e: Event) => e.type === "m.room.create");
      assert(create && Array.isArray(create.auth_events) && typeof create.depth === "number");
      // The client format stays the default.
      const plain = await sync(server, alice, { filter: { room: { timeline: { limit: 1 } } } });
      const last = plain.rooms.join[roomId].timeline.events[0];
      assertEquals(last.event_id, eventId);
      assert(!("prev_events" in last) && !("room_id" in last));
    });

    await t.step("a newly joined room in an incremental sync is limited", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      const filter = await createFilter(server, bob, {
        room: { timeline: { limit: 10, types: ["m.room.message"] }, state: { types: [] } },
      });
      const roomId = await createRoom(server, alice);
      for (let i = 0; i < 4; i++) await say(server, alice, roomId, `one ${i}`);
      const first = await sync(server, bob, { filter });
      for (let i = 0; i < 4; i++) await say(server, alice, roomId, `two ${i}`);
      await member(server, bob, roomId, "join");
      const next = await sync(server, bob, { filter, since: first.next_batch });
      const timeline = next.rooms.join[roomId].timeline;
      assert(timeline.events.every((e: Event) => e.type === "m.room.message"));
      assertEquals(timeline.events.length, 8);
      // The client knows nothing of the room: older events exist before the timeline.
      assertEquals(timeline.limited, true);
      assertEquals(next.rooms.join[roomId].state.events, []);
    });

    await t.step("presence of newly met users comes with a newly joined room", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      const roomId = await createRoom(server, alice);
      await sync(server, alice);
      const before = await sync(server, bob);
      await member(server, bob, roomId, "join");
      const joined = await sync(server, bob, { since: before.next_batch });
      const senders = (body: Event) =>
        body.presence.events.map((e: Event) => e.sender).filter((s: string) => s !== bob.userId);
      assertEquals(senders(joined), [alice.userId]);
      assertEquals(joined.presence.events[0].type, "m.presence");
      const again = await sync(server, bob, { since: joined.next_batch });
      assertEquals(again.presence?.events ?? [], []);

      // The other side: alice gets the presence of bob's newcomer carol (never online: offline).
      const carol = await user("carol");
      const aliceBefore = await sync(server, alice);
      await say(server, alice, roomId, "let the first sync's presence settle");
      const settled = await sync(server, alice, { since: aliceBefore.next_batch });
      await member(server, carol, roomId, "join");
      const met = await sync(server, alice, { since: settled.next_batch });
      const carols = met.presence.events.filter((e: Event) => e.sender === carol.userId);
      assertEquals(carols.length, 1);
      assertEquals(carols[0].content.presence, "offline");
    });

    await t.step("a newly joined room's state is complete in the next sync", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      const filter = madeupStateOnly();
      const roomId = await roomWithMadeupState(server, alice);
      await invite(server, alice, roomId, bob);
      const first = await sync(server, bob, { filter });
      await member(server, bob, roomId, "join");
      const next = await sync(server, bob, { filter, since: first.next_batch });
      const state = next.rooms.join[roomId].state.events;
      assertEquals(state.length, 1);
      assertEquals(state[0].type, "a.madeup.test.state");
      assertEquals(state[0].content.my_key, 1);
    });

    await t.step("a display-name change does not resend the room's state", async () => {
      const alice = await user("alice");
      const filter = madeupStateOnly();
      const roomId = await roomWithMadeupState(server, alice);
      const first = await sync(server, alice, { filter });
      assertEquals(first.rooms.join[roomId].state.events.length, 1);
      await putState(server, alice, roomId, {
        type: "m.room.member",
        stateKey: alice.userId,
        content: { membership: "join", displayname: "boris" },
      });
      await say(server, alice, roomId, "after the rename");
      const next = await sync(server, alice, { filter, since: first.next_batch });
      assertEquals(next.rooms.join, {});
      // Without a filter, the rename and the message are the timeline, nothing else.
      const plain = await sync(server, alice, { since: first.next_batch });
      const section = plain.rooms.join[roomId];
      assertEquals(section.timeline.events.map((e: Event) => e.type), [
        "m.room.member",
        "m.room.message",
      ]);
      assertEquals(section.timeline.limited, false);
      assertEquals(section.state.events, []);
    });

    await t.step("join and leave in one batch keep the room's state", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      const filter = madeupStateOnly({ includeLeave: true });
      const roomId = await roomWithMadeupState(server, alice);
      await invite(server, alice, roomId, bob);
      const first = await sync(server, bob, { filter });
      await member(server, bob, roomId, "join");
      await member(server, bob, roomId, "leave");
      const next = await sync(server, bob, { filter, since: first.next_batch });
      const state = next.rooms.leave[roomId].state.events;
      assertEquals(state.length, 1, JSON.stringify(next.rooms.leave[roomId]));
      assertEquals(state[0].type, "a.madeup.test.state");
      // An invite rejected in the batch shows no room state (the user never joined).
      const carol = await user("carol");
      await invite(server, alice, roomId, carol);
      const before = await sync(server, carol, { filter });
      await member(server, carol, roomId, "leave");
      const rejected = await sync(server, carol, { filter, since: before.next_batch });
      assertEquals(rejected.rooms.leave[roomId].state.events, []);
    });

    await t.step("current state appears in the timeline under joined history", async () => {
      for (const messagesBefore of [0, 30]) {
        const creator = await user("creator");
        const syncer = await user("syncer");
        const invitee = await user("invitee");
        const roomId = await createRoom(server, creator);
        await member(server, syncer, roomId, "join");
        await putState(server, creator, roomId, {
          type: "m.room.history_visibility",
          content: { history_visibility: "joined" },
        });
        await invite(server, creator, roomId, invitee);
        const first = await sync(server, syncer);
        for (let i = 0; i < messagesBefore; i++) await say(server, creator, roomId, `m${i}`);
        await member(server, syncer, roomId, "leave");
        await member(server, invitee, roomId, "join");
        await say(server, creator, roomId, "while syncer is away");
        await member(server, syncer, roomId, "join");
        const next = await sync(server, syncer, { since: first.next_batch });
        const events = next.rooms.join[roomId].timeline.events;
        assert(
          events.some((e: Event) =>
            e.type === "m.room.member" && e.state_key === invitee.userId &&
            e.content.membership === "join"
          ),
          `the invitee's join is in the timeline (${messagesBefore} messages before)`,
        );
        // A message sent while the syncer was away stays hidden.
        assert(!events.some((e: Event) => e.content?.body === "while syncer is away"));
      }
    });

    await t.step("lazy-loading does not resend members the device already has", async () => {
      const alice = await user("alice");
      const bob = await user("bob");
      const charlie = await user("charlie");
      const lazy = { room: { state: { lazy_load_members: true }, timeline: { limit: 10 } } };
      const redundant = {
        room: {
          state: { lazy_load_members: true, include_redundant_members: true },
          timeline: { limit: 10 },
        },
      };
      const roomId = await createRoom(server, alice);
      await putState(server, alice, roomId, { type: "m.room.name", content: { name: "LL" } });
      await member(server, bob, roomId, "join");
      await member(server, charlie, roomId, "join");
      for (let i = 0; i < 10; i++) await say(server, bob, roomId, `bob ${i}`);
      for (let i = 0; i < 5; i++) await say(server, charlie, roomId, `charlie ${i}`);

      const initial = await sync(server, alice, { filter: lazy });
      assertEquals(
        stateMembers(initial.rooms.join[roomId]),
        [alice.userId, bob.userId, charlie.userId].sort(),
      );
      await say(server, bob, roomId, "new from bob");
      await say(server, charlie, roomId, "new from charlie");
      const incremental = await sync(server, alice, { filter: lazy, since: initial.next_batch });
      assertEquals(incremental.rooms.join[roomId].timeline.events.length, 2);
      assertEquals(stateMembers(incremental.rooms.join[roomId]), []);

      // A gapped sync: the senders' members are already known, a member of the gap is not.
      const dave = await user("dave");
      await member(server, dave, roomId, "join");
      for (let i = 0; i < 12; i++) await say(server, bob, roomId, `gap ${i}`);
      const gapped = await sync(server, alice, { filter: lazy, since: incremental.next_batch });
      assertEquals(gapped.rooms.join[roomId].timeline.limited, true);
      assertEquals(stateMembers(gapped.rooms.join[roomId]), [dave.userId]);
      // Retrying a token whose answer the client may never have got sends the member again.
      const retried = await sync(server, alice, { filter: lazy, since: incremental.next_batch });
      assertEquals(stateMembers(retried.rooms.join[roomId]), [dave.userId]);

      // Another device of the same user has its own record: its first sync gets them all.
      const phone = await server.login(alice.userId.slice(1).split(":")[0], alice.password);
      const phoneInitial = await sync(server, phone, { filter: lazy });
      assertEquals(stateMembers(phoneInitial.rooms.join[roomId]), [alice.userId, bob.userId]);
      await say(server, charlie, roomId, "charlie again");
      const phoneNext = await sync(server, phone, {
        filter: lazy,
        since: phoneInitial.next_batch,
      });
      assertEquals(stateMembers(phoneNext.rooms.join[roomId]), [charlie.userId]);
      // The first device already had charlie's member event.
      const laptopNext = await sync(server, alice, { filter: lazy, since: gapped.next_batch });
      assertEquals(laptopNext.rooms.join[roomId].timeline.events.length, 1);
      assertEquals(stateMembers(laptopNext.rooms.join[roomId]), []);

      // include_redundant_members: the senders' members come every time.
      const again = await sync(server, alice, { filter: redundant });
      await say(server, bob, roomId, "once more from bob");
      const redundantNext = await sync(server, alice, {
        filter: redundant,
        since: again.next_batch,
      });
      assertEquals(stateMembers(redundantNext.rooms.join[roomId]), [bob.userId]);

      // A new initial sync forgets what the device had: the members come again.
      const fresh = await sync(server, alice, { filter: lazy });
      assert(stateMembers(fresh.rooms.join[roomId]).includes(bob.userId));
      await say(server, bob, roomId, "after the fresh start");
      const afterFresh = await sync(server, alice, { filter: lazy, since: fresh.next_batch });
      assertEquals(stateMembers(afterFresh.rooms.join[roomId]), []);
    });

    await t.step("ignored users' messages and invites are hidden", async () => {
      const user1 = await user("ignorer");
      const user2 = await user("ignored");
      const user3 = await user("other");
      const roomId = await createRoom(server, user1);
      await member(server, user2, roomId, "join");
      await member(server, user3, roomId, "join");
      await say(server, user1, roomId, "Message");
      await say(server, user2, roomId, "Message");
      await say(server, user3, roomId, "Message");
      const filter = await createFilter(server, user1, {
        account_data: { types: ["m.ignored_user_list"] },
        presence: { types: [] },
        room: { timeline: { types: ["m.room.message"] }, state: { types: ["m.room.member"] } },
      });
      const first = await sync(server, user1, { filter });
      assertEquals(first.rooms.join[roomId].timeline.events.length, 3);
      assertEquals(first.rooms.join[roomId].state.events.length, 3);

      ok(
        await server.request(
          "PUT",
          `${V3}/user/${encodeURIComponent(user1.userId)}/account_data/m.ignored_user_list`,
          { token: user1.accessToken, body: { ignored_users: { [user2.userId]: {} } } },
        ),
        "ignore",
      );
      const second = await sync(server, user1, { filter });
      const messages = second.rooms.join[roomId].timeline.events;
      assertEquals(messages.length, 2, JSON.stringify(messages));
      assert(messages.every((e: Event) => e.sender !== user2.userId));
      // State events of an ignored user are still sent.
      assertEquals(second.rooms.join[roomId].state.events.length, 3);

      await say(server, user2, roomId, "Message2");
      const third = await sync(server, user1, { filter, since: second.next_batch });
      assertEquals(third.rooms.join, {});
      await say(server, user3, roomId, "Message3");
      const fourth = await sync(server, user1, { filter, since: third.next_batch });
      assertEquals(fourth.rooms.join[roomId].timeline.events.length, 1);
      // Unread counts leave them out too: only user3's two messages count.
      assertEquals(fourth.rooms.join[roomId].unread_notifications.notification_count, 2);
      // /messages hides them too, but not their state events.
      const page = ok(
        await server.request("GET", `${room(roomId)}/messages?dir=b&limit=50`, {
          token: user1.accessToken,
        }),
        "messages",
      );
      const senders = page.body.chunk.filter((e: Event) => e.type === "m.room.message")
        .map((e: Event) => e.sender);
      assertEquals(senders.length, 3);
      assert(!senders.includes(user2.userId));
      assert(
        page.body.chunk.some((e: Event) => e.type === "m.room.member" && e.sender === user2.userId),
      );

      // Invites from an ignored user: not in a full sync, not in an incremental one.
      const other = await createRoom(server, user2);
      const before = await sync(server, user1, { filter });
      await invite(server, user2, other, user1);
      const incremental = await sync(server, user1, { filter, since: before.next_batch });
      assertEquals(incremental.rooms.invite, {});
      const full = await sync(server, user1, { filter });
      assertEquals(full.rooms.invite, {});
      // Invites from anyone else still arrive.
      const third3 = await createRoom(server, user3);
      await invite(server, user3, third3, user1);
      const invited = await sync(server, user1, { filter, since: incremental.next_batch });
      assertEquals(Object.keys(invited.rooms.invite), [third3]);
    });

    await t.step("/messages gives end when its chunk has events", async () => {
      const alice = await user("alice");
      const roomId = await createRoom(server, alice);
      await say(server, alice, roomId, "1");
      const synced = await sync(server, alice, { filter: { room: { timeline: { limit: 1 } } } });
      const second = await say(server, alice, roomId, "2");
      // Forwards from a next_batch: the newer event, and a token to continue from.
      const forwards = ok(
        await server.request(
          "GET",
          `${room(roomId)}/messages?dir=f&from=${synced.next_batch}`,
          { token: alice.accessToken },
        ),
        "messages f",
      );
      assertEquals(forwards.body.chunk.map((e: Event) => e.event_id), [second]);
      assert(typeof forwards.body.end === "string", "end after a forward page");
      await say(server, alice, roomId, "3");
      const later = ok(
        await server.request(
          "GET",
          `${room(roomId)}/messages?dir=f&from=${forwards.body.end}`,
          { token: alice.accessToken },
        ),
        "messages f again",
      );
      assertEquals(later.body.chunk.map((e: Event) => e.content.body), ["3"]);

      // Backwards with a filter that matches one event: the page has it and an end; the
      // next page is empty and has none.
      const url = "mxc://localhost/abc";
      await sendEvent(server, alice, roomId, { msgtype: "m.file", body: "f", url });
      const filtered = ok(
        await server.request(
          "GET",
          `${room(roomId)}/messages?dir=b&filter=${encodeURIComponent('{"contains_url":true}')}`,
          { token: alice.accessToken },
        ),
        "messages contains_url",
      );
      assertEquals(filtered.body.chunk.length, 1);
      assert(typeof filtered.body.end === "string", "end when the chunk has events");
      const last = ok(
        await server.request(
          "GET",
          `${room(roomId)}/messages?dir=b&from=${filtered.body.end}&filter=${
            encodeURIComponent('{"contains_url":true}')
          }`,
          { token: alice.accessToken },
        ),
        "messages last",
      );
      assertEquals(last.body.chunk, []);
      assert(!("end" in last.body), "no end once nothing is left");
    });
  } finally {
    await server.close();
  }
});
