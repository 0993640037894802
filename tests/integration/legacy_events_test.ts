/**
 * The deprecated endpoints over real HTTP: the old event stream (`GET /events`, long-poll and
 * peeking with `room_id`), `GET /events/{eventId}`, `GET /initialSync`,
 * `GET /rooms/{roomId}/initialSync` (member, former member, peeker) and
 * `POST /rooms/{roomId}/send/{eventType}` without a transaction ID.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestUser } from "../support/test_server.ts";

const V3 = "/_matrix/client/v3";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("legacy events: event stream, initial syncs, peeking, txn-less send", async (t) => {
  const server = await startTestServer();
  const req = server.request;
  try {
    const alice = await server.register("lalice");
    const bob = await server.register("lbob");
    const carol = await server.register("lcarol");

    const createRoom = async (user: TestUser, visibility: string) => {
      const res = await req("POST", `${V3}/createRoom`, {
        token: user.accessToken,
        body: {
          preset: "public_chat",
          initial_state: [{
            type: "m.room.history_visibility",
            state_key: "",
            content: { history_visibility: visibility },
          }],
        },
      });
      assertEquals(res.status, 200, JSON.stringify(res.body));
      return res.body.room_id as string;
    };
    const send = async (user: TestUser, roomId: string, body: string) => {
      const res = await req(
        "PUT",
        `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${crypto.randomUUID()}`,
        { token: user.accessToken, body: { msgtype: "m.text", body } },
      );
      assertEquals(res.status, 200, JSON.stringify(res.body));
      return res.body.event_id as string;
    };
    const events = (user: TestUser, query: string) =>
      req("GET", `${V3}/events?${query}`, { token: user.accessToken });

    const room = await createRoom(alice, "shared");
    const open = await createRoom(alice, "world_readable");
    const joined = await req("POST", `${V3}/join/${encodeURIComponent(room)}`, {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(joined.status, 200);
    const firstId = await send(alice, room, "first");

    await t.step("the stream starts now without from, and answers its events after", async () => {
      const now = await events(bob, "timeout=0");
      assertEquals(now.status, 200);
      assertEquals(now.body.chunk, []);
      assert(typeof now.body.start === "string" && typeof now.body.end === "string");
      await send(alice, room, "second");
      const next = await events(bob, `from=${now.body.end}&timeout=0`);
      assertEquals(next.status, 200);
      const messages = next.body.chunk.filter((e: Json) => e.type === "m.room.message");
      assertEquals(messages.map((e: Json) => e.content.body), ["second"]);
      assertEquals(messages[0].room_id, room);
      assertEquals(next.body.start, now.body.end);
      const empty = await events(bob, `from=${next.body.end}&timeout=0`);
      assertEquals(empty.body.chunk, []);
      assertEquals(empty.body.end, next.body.end);
    });

    await t.step("the stream long-polls until an event arrives", async () => {
      const now = await events(bob, "timeout=0");
      const started = Date.now();
      const polled = events(bob, `from=${now.body.end}&timeout=20000`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await send(alice, room, "while waiting");
      const res = await polled;
      assert(Date.now() - started < 10_000, "the long-poll woke on the event");
      assertEquals(res.body.chunk.at(-1).content.body, "while waiting");
    });

    await t.step("the stream catches up fully, in order, with a small limit", async () => {
      const now = await events(bob, "timeout=0");
      const sent: string[] = [];
      for (let i = 0; i < 12; i++) sent.push(await send(alice, room, `burst ${i}`));
      const seen: string[] = [];
      let from = now.body.end;
      for (let call = 0; call < 6 && seen.length < sent.length; call++) {
        const res = await events(bob, `from=${from}&timeout=500&limit=5`);
        assertEquals(res.status, 200);
        const messages = res.body.chunk.filter((e: Json) => e.type === "m.room.message");
        assert(messages.length <= 5, `${messages.length} events with limit=5`);
        seen.push(...messages.map((e: Json) => e.event_id));
        from = res.body.end;
      }
      assertEquals(seen, sent);
    });

    await t.step("typing notifications are in the stream with their room", async () => {
      const now = await events(bob, "timeout=0");
      const typing = await req(
        "PUT",
        `${V3}/rooms/${encodeURIComponent(room)}/typing/${encodeURIComponent(alice.userId)}`,
        { token: alice.accessToken, body: { typing: true, timeout: 10000 } },
      );
      assertEquals(typing.status, 200);
      const res = await events(bob, `from=${now.body.end}&timeout=5000`);
      const event = res.body.chunk.find((e: Json) => e.type === "m.typing");
      assert(event, JSON.stringify(res.body));
      assertEquals(event.room_id, room);
      assertEquals(event.content.user_ids, [alice.userId]);
    });

    await t.step("presence is in the stream with the old content.user_id", async () => {
      const now = await events(bob, "timeout=0");
      const set = await req("PUT", `${V3}/presence/${encodeURIComponent(alice.userId)}/status`, {
        token: alice.accessToken,
        body: { presence: "unavailable", status_msg: "away" },
      });
      assertEquals(set.status, 200);
      const res = await events(bob, `from=${now.body.end}&timeout=5000`);
      const event = res.body.chunk.find((e: Json) =>
        e.type === "m.presence" && e.sender === alice.userId
      );
      assert(event, JSON.stringify(res.body));
      assertEquals(event.content.user_id, alice.userId);
      assertEquals(event.content.presence, "unavailable");
    });

    await t.step("the stream leaves the device's to-device messages to /sync", async () => {
      const before = await req("GET", `${V3}/sync?timeout=0`, { token: bob.accessToken });
      const since = before.body.next_batch;
      const stream = await events(bob, "timeout=0");
      const sent = await req("PUT", `${V3}/sendToDevice/org.example.ping/${crypto.randomUUID()}`, {
        token: alice.accessToken,
        body: { messages: { [bob.userId]: { [bob.deviceId]: { n: 1 } } } },
      });
      assertEquals(sent.status, 200);
      const first = await events(bob, `from=${stream.body.end}&timeout=0`);
      await events(bob, `from=${first.body.end}&timeout=0`);
      const sync = await req("GET", `${V3}/sync?timeout=0&since=${since}`, {
        token: bob.accessToken,
      });
      const toDevice = sync.body.to_device.events;
      assertEquals(toDevice.map((e: Json) => e.type), ["org.example.ping"]);
    });

    await t.step("bad stream parameters are 400s", async () => {
      for (const query of ["timeout=soon", "limit=-1", "from=nonsense", "room_id=nope", "dir=up"]) {
        const res = await events(bob, query);
        assertEquals(res.status, 400, query);
        assertEquals(res.body.errcode, "M_INVALID_PARAM", query);
      }
    });

    await t.step("GET /events/{eventId} for those who may see it", async () => {
      const seen = await req("GET", `${V3}/events/${encodeURIComponent(firstId)}`, {
        token: bob.accessToken,
      });
      assertEquals(seen.status, 200);
      assertEquals(seen.body.content.body, "first");
      assertEquals(seen.body.room_id, room);
      const hidden = await req("GET", `${V3}/events/${encodeURIComponent(firstId)}`, {
        token: carol.accessToken,
      });
      assertEquals(hidden.status, 404);
      assertEquals(hidden.body.errcode, "M_NOT_FOUND");
      const unknown = await req("GET", `${V3}/events/${encodeURIComponent("$nothing")}`, {
        token: bob.accessToken,
      });
      assertEquals(unknown.status, 404);
    });

    await t.step("POST send without a transaction ID makes a new event each time", async () => {
      const path = `${V3}/rooms/${encodeURIComponent(room)}/send/m.room.message`;
      const body = { msgtype: "m.text", body: "no txn" };
      const one = await req("POST", path, { token: bob.accessToken, body });
      const two = await req("POST", path, { token: bob.accessToken, body });
      assertEquals([one.status, two.status], [200, 200]);
      assert(one.body.event_id !== two.body.event_id);
      const outsider = await req("POST", path, { token: carol.accessToken, body });
      assertEquals(outsider.status, 403);
      const bad = await req("POST", path, { token: bob.accessToken, body: "[1]" });
      assertEquals(bad.status, 400);
    });

    await t.step("GET /initialSync lists rooms, invites and (archived) left rooms", async () => {
      const res = await req("GET", `${V3}/initialSync?limit=3`, { token: bob.accessToken });
      assertEquals(res.status, 200, JSON.stringify(res.body));
      const entry = res.body.rooms.find((r: Json) => r.room_id === room);
      assertEquals(entry.membership, "join");
      assertEquals(entry.visibility, "private");
      assertEquals(entry.messages.chunk.length, 3);
      assertEquals(entry.messages.chunk.at(-1).content.body, "no txn");
      assertEquals(entry.messages.chunk[0].room_id, room);
      assert(entry.state.some((e: Json) => e.type === "m.room.create"));
      assert(
        entry.state.some((e: Json) => e.type === "m.room.member" && e.state_key === bob.userId),
      );
      assert(Array.isArray(res.body.account_data));
      const own = res.body.presence.find((e: Json) => e.content.user_id === bob.userId);
      assertEquals(own?.content.presence, "online", JSON.stringify(res.body.presence));
      // `end` continues in the stream, and pages back through /messages.
      const after = await events(bob, `from=${res.body.end}&timeout=0`);
      assertEquals(after.body.chunk, []);
      const page = await req(
        "GET",
        `${V3}/rooms/${
          encodeURIComponent(room)
        }/messages?dir=b&limit=1&from=${entry.messages.start}`,
        { token: bob.accessToken },
      );
      assertEquals(page.status, 200);
      assertEquals(page.body.chunk.length, 1);

      const invited = await req("POST", `${V3}/rooms/${encodeURIComponent(room)}/invite`, {
        token: alice.accessToken,
        body: { user_id: carol.userId },
      });
      assertEquals(invited.status, 200);
      const none = await req("GET", `${V3}/initialSync?limit=0`, { token: bob.accessToken });
      const noMessages = none.body.rooms.find((r: Json) => r.room_id === room);
      assertEquals(noMessages.messages.chunk, []);
      assert(typeof noMessages.messages.start === "string");
      assert(noMessages.state.some((e: Json) => e.type === "m.room.create"));
      const noneInRoom = await req(
        "GET",
        `${V3}/rooms/${encodeURIComponent(room)}/initialSync?limit=0`,
        { token: bob.accessToken },
      );
      assertEquals(noneInRoom.body.messages.chunk, []);

      const carols = await req("GET", `${V3}/initialSync`, { token: carol.accessToken });
      const invite = carols.body.rooms.find((r: Json) => r.room_id === room);
      assertEquals(invite.membership, "invite");
      assertEquals(invite.invite.state_key, carol.userId);
      assertEquals(invite.invite.content.membership, "invite");
      assertEquals(invite.inviter, alice.userId);
    });

    await t.step("GET /rooms/{roomId}/initialSync: member, former member, peeker", async () => {
      const path = (roomId: string) => `${V3}/rooms/${encodeURIComponent(roomId)}/initialSync`;
      const member = await req("GET", `${path(room)}?limit=2`, { token: bob.accessToken });
      assertEquals(member.status, 200, JSON.stringify(member.body));
      assertEquals(member.body.membership, "join");
      assertEquals(member.body.room_id, room);
      assertEquals(member.body.messages.chunk.length, 2);
      assert(member.body.state.some((e: Json) => e.type === "m.room.join_rules"));
      assert(Array.isArray(member.body.presence));

      // Carol is invited, not joined: the room is not world-readable.
      const refused = await req("GET", path(room), { token: carol.accessToken });
      assertEquals(refused.status, 403);
      assertEquals(refused.body.errcode, "M_FORBIDDEN");

      await send(alice, open, "for everyone");
      const peek = await req("GET", path(open), { token: carol.accessToken });
      assertEquals(peek.status, 200, JSON.stringify(peek.body));
      assertEquals(peek.body.membership, undefined);
      assertEquals(peek.body.messages.chunk.at(-1).content.body, "for everyone");

      const left = await req("POST", `${V3}/rooms/${encodeURIComponent(room)}/leave`, {
        token: bob.accessToken,
        body: {},
      });
      assertEquals(left.status, 200);
      await send(alice, room, "after bob left");
      const former = await req("GET", path(room), { token: bob.accessToken });
      assertEquals(former.status, 200, JSON.stringify(former.body));
      assertEquals(former.body.membership, "leave");
      const bodies = former.body.messages.chunk.map((e: Json) => e.content.body);
      assert(!bodies.includes("after bob left"), JSON.stringify(bodies));
      const own = former.body.state.find((e: Json) =>
        e.type === "m.room.member" && e.state_key === bob.userId
      );
      assertEquals(own.content.membership, "leave");

      const archived = await req("GET", `${V3}/initialSync?archived=true`, {
        token: bob.accessToken,
      });
      assertEquals(
        archived.body.rooms.find((r: Json) => r.room_id === room)?.membership,
        "leave",
      );
      const current = await req("GET", `${V3}/initialSync`, { token: bob.accessToken });
      assertEquals(current.body.rooms.find((r: Json) => r.room_id === room), undefined);
    });

    await t.step("peeking with /events?room_id= in a world-readable room", async () => {
      const now = await events(carol, `room_id=${encodeURIComponent(open)}&timeout=0`);
      assertEquals(now.status, 200, JSON.stringify(now.body));
      assertEquals(now.body.chunk, []);
      const polled = events(
        carol,
        `room_id=${encodeURIComponent(open)}&from=${now.body.end}&timeout=20000`,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await send(alice, room, "elsewhere");
      await send(alice, open, "peeked");
      const res = await polled;
      assertEquals(res.status, 200);
      assertEquals(res.body.chunk.map((e: Json) => e.content.body), ["peeked"]);
      assertEquals(res.body.chunk[0].room_id, open);
      const again = await events(
        carol,
        `room_id=${encodeURIComponent(open)}&from=${res.body.end}&timeout=0`,
      );
      assertEquals(again.body.chunk, []);
      const closed = await events(carol, `room_id=${encodeURIComponent(room)}&timeout=0`);
      assertEquals(closed.status, 403);
      assertEquals(closed.body.errcode, "M_FORBIDDEN");
    });

    await t.step("the deprecated endpoints answer on r0 and api/v1", async () => {
      for (const prefix of ["/_matrix/client/r0", "/_matrix/client/api/v1"]) {
        const stream = await req("GET", `${prefix}/events?timeout=0`, { token: alice.accessToken });
        assertEquals(stream.status, 200, prefix);
        const snapshot = await req("GET", `${prefix}/initialSync?limit=1`, {
          token: alice.accessToken,
        });
        assertEquals(snapshot.status, 200, prefix);
        const one = await req("GET", `${prefix}/rooms/${encodeURIComponent(open)}/initialSync`, {
          token: alice.accessToken,
        });
        assertEquals(one.body.membership, "join", prefix);
      }
    });
  } finally {
    await server.close();
  }
});
