import { assert, assertEquals } from "../unit/assert.ts";
import { createRoom, enc, getState, roomPost, send, V3, withRoomServer } from "./rooms_support.ts";

Deno.test("aliases: create, resolve, list, delete, permissions", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    await roomPost(t, bob, roomId, "join");
    const alias = "#lobby:localhost";
    const path = `${V3}/directory/room/${enc(alias)}`;
    const put = await t.request("PUT", path, {
      token: bob.accessToken,
      body: { room_id: roomId },
    });
    assertEquals(put.status, 200);
    const conflict = await t.request("PUT", path, {
      token: alice.accessToken,
      body: { room_id: roomId },
    });
    assertEquals(conflict.status, 409);
    const get = await t.request("GET", path);
    assertEquals(get.body, { room_id: roomId, servers: ["localhost"] });
    const remote = await t.request("PUT", `${V3}/directory/room/${enc("#x:elsewhere")}`, {
      token: alice.accessToken,
      body: { room_id: roomId },
    });
    assertEquals(remote.status, 400);
    const noRoom = await t.request("PUT", `${V3}/directory/room/${enc("#y:localhost")}`, {
      token: alice.accessToken,
      body: { room_id: "!missing:localhost" },
    });
    assertEquals(noRoom.status, 404);
    const list = await t.request("GET", `${V3}/rooms/${enc(roomId)}/aliases`, {
      token: alice.accessToken,
    });
    assertEquals(list.body.aliases, [alias]);
    // Carol (not the creator, no power) may not delete; alice (room admin) may.
    const carol = await t.register("carol");
    assertEquals((await t.request("DELETE", path, { token: carol.accessToken })).status, 403);
    assertEquals((await t.request("DELETE", path, { token: alice.accessToken })).status, 200);
    assertEquals((await t.request("GET", path)).status, 404);
    assertEquals((await t.request("DELETE", path, { token: alice.accessToken })).status, 404);
  }));

Deno.test("publicRooms: visibility, directory list, search, pagination, counts", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const rooms: string[] = [];
    for (let i = 0; i < 5; i++) {
      rooms.push(
        await createRoom(t, alice, {
          visibility: "public",
          name: `Room ${i}`,
          topic: i === 3 ? "Gemengerot Sitzung" : "other",
        }),
      );
    }
    const hidden = await createRoom(t, alice, { preset: "public_chat", name: "Hidden" });
    await roomPost(t, bob, rooms[2], "join");
    const all = await t.request("GET", `${V3}/publicRooms`);
    assertEquals(all.status, 200);
    assertEquals(all.body.total_room_count_estimate, 5);
    assertEquals(all.body.chunk[0].room_id, rooms[2]);
    assertEquals(all.body.chunk[0].num_joined_members, 2);
    assertEquals(all.body.chunk[0].join_rule, "public");
    assertEquals(all.body.chunk[0].world_readable, false);
    assert(!all.body.chunk.some((r: { room_id: string }) => r.room_id === hidden));
    const page1 = await t.request("GET", `${V3}/publicRooms?limit=2`);
    assertEquals(page1.body.chunk.length, 2);
    const page2 = await t.request(
      "GET",
      `${V3}/publicRooms?limit=2&since=${page1.body.next_batch}`,
    );
    assertEquals(page2.body.chunk.length, 2);
    assert(page2.body.prev_batch);
    const page3 = await t.request(
      "GET",
      `${V3}/publicRooms?limit=2&since=${page2.body.next_batch}`,
    );
    assertEquals(page3.body.chunk.length, 1);
    assertEquals(page3.body.next_batch, undefined);
    const search = await t.request("POST", `${V3}/publicRooms`, {
      token: alice.accessToken,
      body: { filter: { generic_search_term: "gemengerot" } },
    });
    assertEquals(search.body.chunk.map((r: { room_id: string }) => r.room_id), [rooms[3]]);
    assertEquals((await t.request("POST", `${V3}/publicRooms`, { body: {} })).status, 401);

    // Directory visibility: get and set (needs power).
    const vis = (roomId: string) => t.request("GET", `${V3}/directory/list/room/${enc(roomId)}`);
    assertEquals((await vis(hidden)).body.visibility, "private");
    assertEquals((await vis(rooms[0])).body.visibility, "public");
    const byBob = await t.request("PUT", `${V3}/directory/list/room/${enc(rooms[2])}`, {
      token: bob.accessToken,
      body: { visibility: "private" },
    });
    assertEquals(byBob.status, 403);
    const byAlice = await t.request("PUT", `${V3}/directory/list/room/${enc(hidden)}`, {
      token: alice.accessToken,
      body: { visibility: "public" },
    });
    assertEquals(byAlice.status, 200);
    assertEquals((await vis(hidden)).body.visibility, "public");
    assertEquals((await vis("!unknown:localhost")).status, 404);
  }));

Deno.test("upgrade: tombstone, new room with copied state, predecessor, aliases moved", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const oldRoom = await createRoom(t, alice, {
      room_version: "10",
      preset: "public_chat",
      name: "Gemeng",
      topic: "Topic",
      room_alias_name: "town",
      visibility: "public",
    });
    await roomPost(t, bob, oldRoom, "join");
    await roomPost(t, alice, oldRoom, "ban", { user_id: "@spammer:localhost" });
    const path = `${V3}/rooms/${enc(oldRoom)}/upgrade`;
    // Bob may not upgrade; unknown versions are refused.
    assertEquals(
      (await t.request("POST", path, { token: bob.accessToken, body: { new_version: "12" } }))
        .status,
      403,
    );
    const unsupported = await t.request("POST", path, {
      token: alice.accessToken,
      body: { new_version: "99" },
    });
    assertEquals(unsupported.body.errcode, "M_UNSUPPORTED_ROOM_VERSION");
    const up = await t.request("POST", path, {
      token: alice.accessToken,
      body: { new_version: "12" },
    });
    assertEquals(up.status, 200, JSON.stringify(up.body));
    const newRoom = up.body.replacement_room;
    const tomb = await getState(t, alice, oldRoom, "m.room.tombstone");
    assertEquals(tomb.body.replacement_room, newRoom);
    const create = await getState(t, alice, newRoom, "m.room.create");
    assertEquals(create.body.predecessor.room_id, oldRoom);
    assertEquals(create.body.room_version, "12");
    assertEquals((await getState(t, alice, newRoom, "m.room.name")).body.name, "Gemeng");
    assertEquals((await getState(t, alice, newRoom, "m.room.topic")).body.topic, "Topic");
    assertEquals(
      (await getState(t, alice, newRoom, "m.room.join_rules")).body.join_rule,
      "public",
    );
    const pl = await getState(t, alice, newRoom, "m.room.power_levels");
    assertEquals(pl.body.users[alice.userId], undefined); // v12 creator: not in users
    assertEquals(
      (await getState(t, alice, newRoom, "m.room.member", "@spammer:localhost")).body.membership,
      "ban",
    );
    // Aliases follow the room.
    const alias = await t.request("GET", `${V3}/directory/room/${enc("#town:localhost")}`);
    assertEquals(alias.body.room_id, newRoom);
    assertEquals(
      (await getState(t, alice, newRoom, "m.room.canonical_alias")).body.alias,
      "#town:localhost",
    );
    const listed = await t.request("GET", `${V3}/publicRooms`);
    assertEquals(listed.body.chunk.map((r: { room_id: string }) => r.room_id), [newRoom]);
    // The old room is restricted: bob can no longer talk; he follows to the new room.
    const oldPl = await getState(t, alice, oldRoom, "m.room.power_levels");
    assertEquals(oldPl.body.events_default, 50);
    assertEquals((await send(t, bob, oldRoom, { body: "still here?" })).status, 403);
    assertEquals((await roomPost(t, bob, newRoom, "join")).status, 200);
    assertEquals((await send(t, bob, newRoom, { body: "moien" })).status, 200);

    // v12 -> v11 works too (creators get an explicit 100).
    const up2 = await t.request("POST", `${V3}/rooms/${enc(newRoom)}/upgrade`, {
      token: alice.accessToken,
      body: { new_version: "11" },
    });
    assertEquals(up2.status, 200, JSON.stringify(up2.body));
    const pl11 = await getState(t, alice, up2.body.replacement_room, "m.room.power_levels");
    assertEquals(pl11.body.users[alice.userId], 100);
  }));

Deno.test("upgrade: local members of an invite-only room are invited to the new room", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const oldRoom = await createRoom(t, alice, { room_version: "11", invite: [bob.userId] });
    await roomPost(t, bob, oldRoom, "join");
    const up = await t.request("POST", `${V3}/rooms/${enc(oldRoom)}/upgrade`, {
      token: alice.accessToken,
      body: { new_version: "12" },
    });
    const newRoom = up.body.replacement_room;
    assertEquals(
      (await getState(t, alice, newRoom, "m.room.member", bob.userId)).body.membership,
      "invite",
    );
    assertEquals((await roomPost(t, bob, newRoom, "join")).status, 200);
  }));
