/**
 * Conformance of rooms, membership, profiles and the user directory (issue 14): extra member
 * content on join, the `joined_members` shape, the directory's reach, v12 room IDs created in
 * one millisecond, idempotent state, aliases leaving the canonical alias, redactions across
 * rooms, and upgrades (unknown room, predecessor).
 */

import { assert, assertEquals, assertNotEquals } from "../unit/assert.ts";
import { startTestServer, type TestUser } from "../support/test_server.ts";
import { createRoom, enc, getState, putState, roomPost, send, V3 } from "./rooms_support.ts";

Deno.test("conformance: rooms, membership, profiles and the user directory", async (t) => {
  const s = await startTestServer({ config: { user_directory: { search_all_users: false } } });
  const alice = await s.register("alice");
  const bob = await s.register("bob");
  const carol = await s.register("carol");
  const search = async (user: TestUser, term: string): Promise<string[]> => {
    const res = await s.request("POST", `${V3}/user_directory/search`, {
      token: user.accessToken,
      body: { search_term: term },
    });
    assertEquals(res.status, 200);
    return res.body.results.map((r: { user_id: string }) => r.user_id);
  };
  const setName = (user: TestUser, name: string) =>
    s.request("PUT", `${V3}/profile/${enc(user.userId)}/displayname`, {
      token: user.accessToken,
      body: { displayname: name },
    });
  try {
    await t.step("join keeps extra member content", async () => {
      const roomId = await createRoom(s, alice, {
        preset: "public_chat",
        room_alias_name: "lobby",
      });
      for (
        const [user, path] of [
          [bob, `${V3}/join/${enc(roomId)}`],
          [carol, `${V3}/join/${enc("#lobby:localhost")}`],
        ] as const
      ) {
        const res = await s.request("POST", path, {
          token: user.accessToken,
          body: { foo: "bar", reason: "hello", membership: "leave" },
        });
        assertEquals(res.body, { room_id: roomId });
        const member = await getState(s, user, roomId, "m.room.member", user.userId);
        assertEquals(member.body.foo, "bar");
        assertEquals(member.body.reason, "hello");
        assertEquals(member.body.membership, "join");
      }
      await roomPost(s, bob, roomId, "leave");
      const again = await roomPost(s, bob, roomId, "join", { "org.example.tag": 7 });
      assertEquals(again.status, 200);
      const member = await getState(s, bob, roomId, "m.room.member", bob.userId);
      assertEquals(member.body["org.example.tag"], 7);
      assertEquals(member.body.foo, undefined);
    });

    await t.step("joined_members lists both profile keys", async () => {
      const roomId = await createRoom(s, alice, { invite: [bob.userId] });
      await roomPost(s, bob, roomId, "join");
      const avatar = "mxc://localhost/alice-avatar";
      await s.request("PUT", `${V3}/profile/${enc(alice.userId)}/avatar_url`, {
        token: alice.accessToken,
        body: { avatar_url: avatar },
      });
      const res = await s.request("GET", `${V3}/rooms/${enc(roomId)}/joined_members`, {
        token: bob.accessToken,
      });
      assertEquals(res.body, {
        joined: {
          [alice.userId]: { display_name: "alice", avatar_url: avatar },
          [bob.userId]: { display_name: "bob", avatar_url: null },
        },
      });
    });

    await t.step("the user directory: public rooms, shared rooms, name changes", async () => {
      const dave = await s.register("dave");
      const erin = await s.register("erin");
      await setName(dave, "Zebulon Public");
      await setName(erin, "Quincy Private");
      const publicRoom = await createRoom(s, dave, { preset: "public_chat" });
      const privateRoom = await createRoom(s, erin, { preset: "private_chat" });
      // Carol shares no room with dave but dave is in a public room.
      assertEquals(await search(carol, "zebulon"), [dave.userId]);
      // A private room's member is found only by those who share a room with them.
      assertEquals(await search(carol, "quincy"), []);
      await s.request("POST", `${V3}/rooms/${enc(privateRoom)}/invite`, {
        token: erin.accessToken,
        body: { user_id: carol.userId },
      });
      assertEquals(await search(carol, "quincy"), []);
      await roomPost(s, carol, privateRoom, "join");
      assertEquals(await search(carol, "quincy"), [erin.userId]);
      // Users find themselves once in a room, and the directory follows name changes.
      await setName(dave, "Xavier Renamed");
      assertEquals(await search(carol, "zebulon"), []);
      assertEquals(await search(carol, "xavier"), [dave.userId]);
      assertEquals(await search(dave, "xavier"), [dave.userId]);
      await roomPost(s, dave, publicRoom, "leave");
      assertEquals(await search(carol, "xavier"), []);
    });

    await t.step("rooms created in one millisecond get different v12 IDs", async () => {
      const body = { room_version: "12", preset: "private_chat" };
      const results = await Promise.all(
        Array.from(
          { length: 4 },
          () => s.request("POST", `${V3}/createRoom`, { token: alice.accessToken, body }),
        ),
      );
      for (const res of results) assertEquals(res.status, 200, JSON.stringify(res.body));
      const ids = new Set(results.map((res) => res.body.room_id));
      assertEquals(ids.size, 4);
    });

    await t.step("setting identical state twice is idempotent", async () => {
      const roomId = await createRoom(s, alice, { invite: [bob.userId] });
      await roomPost(s, bob, roomId, "join");
      const first = await putState(s, alice, roomId, "org.example.state", { a: 1, b: [1, 2] });
      const second = await putState(s, alice, roomId, "org.example.state", { b: [1, 2], a: 1 });
      assertEquals(second.body.event_id, first.body.event_id);
      // Another sender or other content is a new event.
      await s.request("PUT", `${V3}/rooms/${enc(roomId)}/state/m.room.power_levels/`, {
        token: alice.accessToken,
        body: { users: { [bob.userId]: 100 } },
      });
      const byBob = await putState(s, bob, roomId, "org.example.state", { a: 1, b: [1, 2] });
      assertNotEquals(byBob.body.event_id, first.body.event_id);
      const changed = await putState(s, bob, roomId, "org.example.state", { a: 2 });
      assertNotEquals(changed.body.event_id, byBob.body.event_id);
    });

    await t.step("deleting an alias removes it from the canonical alias", async () => {
      const roomId = await createRoom(s, alice, { room_alias_name: "main" });
      const alt = "#alt:localhost";
      assertEquals(
        (await s.request("PUT", `${V3}/directory/room/${enc(alt)}`, {
          token: alice.accessToken,
          body: { room_id: roomId },
        })).status,
        200,
      );
      const set = await putState(s, alice, roomId, "m.room.canonical_alias", {
        alias: "#main:localhost",
        alt_aliases: [alt],
      });
      assertEquals(set.status, 200, JSON.stringify(set.body));
      await s.request("DELETE", `${V3}/directory/room/${enc(alt)}`, { token: alice.accessToken });
      let canonical = await getState(s, alice, roomId, "m.room.canonical_alias");
      assertEquals(canonical.body, { alias: "#main:localhost", alt_aliases: [] });
      await s.request("DELETE", `${V3}/directory/room/${enc("#main:localhost")}`, {
        token: alice.accessToken,
      });
      canonical = await getState(s, alice, roomId, "m.room.canonical_alias");
      assertEquals(canonical.body, { alt_aliases: [] });
    });

    await t.step("redacting an event of another room is 400", async () => {
      const one = await createRoom(s, alice);
      const two = await createRoom(s, alice);
      const eventId = (await send(s, alice, one, { msgtype: "m.text", body: "x" })).body.event_id;
      const res = await s.request(
        "PUT",
        `${V3}/rooms/${enc(two)}/redact/${enc(eventId)}/t1`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals([res.status, res.body.errcode], [400, "M_INVALID_PARAM"]);
      const unknown = await s.request(
        "PUT",
        `${V3}/rooms/${enc(two)}/redact/${enc(`$${"A".repeat(43)}`)}/t2`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(unknown.status, 404);
    });

    await t.step(
      "upgrades: unknown rooms are 404, the predecessor names the tombstone",
      async () => {
        for (const roomId of ["!nothere:localhost", "!fail:unknown"]) {
          const res = await s.request("POST", `${V3}/rooms/${enc(roomId)}/upgrade`, {
            token: alice.accessToken,
            body: { new_version: "11" },
          });
          assertEquals([res.status, res.body.errcode], [404, "M_NOT_FOUND"]);
        }
        for (const [from, to] of [["10", "11"], ["11", "12"]]) {
          const oldRoom = await createRoom(s, alice, { room_version: from });
          const res = await s.request("POST", `${V3}/rooms/${enc(oldRoom)}/upgrade`, {
            token: alice.accessToken,
            body: { new_version: to },
          });
          assertEquals(res.status, 200, JSON.stringify(res.body));
          const newRoom = res.body.replacement_room;
          const tombstone = await s.request(
            "GET",
            `${V3}/rooms/${enc(oldRoom)}/state/m.room.tombstone/?format=event`,
            { token: alice.accessToken },
          );
          assertEquals(tombstone.body.content.replacement_room, newRoom);
          const create = await getState(s, alice, newRoom, "m.room.create");
          assertEquals(create.body.room_version, to);
          if (to === "12") {
            // The v12 room ID hashes the create event, which cannot name a later tombstone.
            assertEquals(create.body.predecessor, { room_id: oldRoom });
          } else {
            assertEquals(create.body.predecessor, {
              room_id: oldRoom,
              event_id: tombstone.body.event_id,
            });
          }
          // The tombstone is the first event of the old room after the upgrade started.
          const messages = await s.request(
            "GET",
            `${V3}/rooms/${enc(oldRoom)}/messages?dir=b&limit=10`,
            { token: alice.accessToken },
          );
          const types = messages.body.chunk.map((e: { type: string }) => e.type);
          assert(types.includes("m.room.tombstone"));
          if (to !== "12") {
            assertEquals(types.slice(0, 2), ["m.room.power_levels", "m.room.tombstone"]);
          }
        }
      },
    );

    await t.step("an upgrade keeps the upgrader's tags and direct chats", async () => {
      const oldRoom = await createRoom(s, alice, { is_direct: true, invite: [bob.userId] });
      const user = enc(alice.userId);
      await s.request("PUT", `${V3}/user/${user}/account_data/m.direct`, {
        token: alice.accessToken,
        body: { [bob.userId]: [oldRoom] },
      });
      await s.request("PUT", `${V3}/user/${user}/rooms/${enc(oldRoom)}/tags/m.favourite`, {
        token: alice.accessToken,
        body: { order: 0.5 },
      });
      const res = await s.request("POST", `${V3}/rooms/${enc(oldRoom)}/upgrade`, {
        token: alice.accessToken,
        body: { new_version: "12" },
      });
      const newRoom = res.body.replacement_room;
      const direct = await s.request("GET", `${V3}/user/${user}/account_data/m.direct`, {
        token: alice.accessToken,
      });
      assertEquals(direct.body, { [bob.userId]: [oldRoom, newRoom] });
      const tags = await s.request("GET", `${V3}/user/${user}/rooms/${enc(newRoom)}/tags`, {
        token: alice.accessToken,
      });
      assertEquals(tags.body.tags, { "m.favourite": { order: 0.5 } });
    });
  } finally {
    await s.close();
  }
});
