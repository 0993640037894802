import { assert, assertEquals } from "../unit/assert.ts";
import { createRoom, enc, getState, roomPost, send, V3, withRoomServer } from "./rooms_support.ts";

Deno.test("membership: invite, join, leave, kick, ban, unban, forget with forbidden cases", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const roomId = await createRoom(t, alice, { preset: "private_chat" });

    // Uninvited join of an invite-only room: 403 with the auth rules' reason.
    const early = await roomPost(t, bob, roomId, "join");
    assertEquals(early.status, 403);
    assertEquals(early.body.errcode, "M_FORBIDDEN");
    assert(early.body.error.length > 10, early.body.error);

    assertEquals((await roomPost(t, alice, roomId, "invite", { user_id: bob.userId })).status, 200);
    const bobMember = await getState(t, alice, roomId, "m.room.member", bob.userId);
    assertEquals(bobMember.body.membership, "invite");
    assertEquals(bobMember.body.displayname, "bob");
    assertEquals((await roomPost(t, bob, roomId, "join")).body, { room_id: roomId });
    // Joining twice is a no-op.
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);

    // Bob (power 0) may not kick or ban; invite is allowed at level 0 in private chats.
    const kickByBob = await roomPost(t, bob, roomId, "kick", { user_id: alice.userId });
    assertEquals(kickByBob.status, 403);
    assertEquals((await roomPost(t, bob, roomId, "ban", { user_id: alice.userId })).status, 403);
    // Kicking someone not in the room.
    assertEquals((await roomPost(t, alice, roomId, "kick", { user_id: carol.userId })).status, 403);
    // Invite of an unknown user and a remote one.
    assertEquals(
      (await roomPost(t, alice, roomId, "invite", { user_id: "@ghost:localhost" })).status,
      404,
    );
    assertEquals(
      (await roomPost(t, alice, roomId, "invite", { user_id: "@x:elsewhere.example" })).status,
      400,
    );
    // Invite of a joined user.
    assertEquals((await roomPost(t, alice, roomId, "invite", { user_id: bob.userId })).status, 403);

    // Kick with a reason.
    const kick = await roomPost(t, alice, roomId, "kick", { user_id: bob.userId, reason: "bye" });
    assertEquals(kick.status, 200);
    const kicked = await getState(t, alice, roomId, "m.room.member", bob.userId);
    assertEquals(kicked.body.membership, "leave");
    assertEquals(kicked.body.reason, "bye");
    const denied = await send(t, bob, roomId, { msgtype: "m.text", body: "hi" });
    assertEquals(denied.status, 403);

    // Ban; a banned user cannot join even when invited; unban.
    assertEquals((await roomPost(t, alice, roomId, "ban", { user_id: bob.userId })).status, 200);
    assertEquals((await roomPost(t, alice, roomId, "invite", { user_id: bob.userId })).status, 403);
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 403);
    assertEquals(
      (await roomPost(t, alice, roomId, "unban", { user_id: carol.userId })).status,
      403,
    );
    assertEquals((await roomPost(t, alice, roomId, "unban", { user_id: bob.userId })).status, 200);
    assertEquals(
      (await getState(t, alice, roomId, "m.room.member", bob.userId)).body.membership,
      "leave",
    );

    // Leave and forget; forgetting while joined is refused.
    assertEquals((await roomPost(t, alice, roomId, "forget")).status, 400);
    assertEquals(
      (await roomPost(t, alice, roomId, "invite", { user_id: carol.userId })).status,
      200,
    );
    assertEquals((await roomPost(t, carol, roomId, "join")).status, 200);
    assertEquals((await roomPost(t, carol, roomId, "leave")).status, 200);
    assertEquals((await roomPost(t, carol, roomId, "forget")).status, 200);
    const carolRooms = await t.hs.rooms.roomsOfUser(carol.userId);
    assertEquals(carolRooms[0].forgotten, true);
    const joined = await t.request("GET", `${V3}/joined_rooms`, { token: carol.accessToken });
    assertEquals(joined.body.joined_rooms, []);

    // Leaving a room one never was in.
    const stranger = await t.register("dave");
    assertEquals((await roomPost(t, stranger, roomId, "leave")).status, 403);
    // Unknown rooms.
    const unknown = await roomPost(t, alice, "!nope:localhost", "join");
    assertEquals(unknown.status, 404);
    assertEquals(unknown.body.errcode, "M_NOT_FOUND");
    const bad = await roomPost(t, alice, "not-a-room", "join");
    assertEquals(bad.status, 400);
  }));

Deno.test("membership: join by alias, reject an invite, knock", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const publicRoom = await createRoom(t, alice, {
      preset: "public_chat",
      room_alias_name: "open",
    });
    const join = await t.request("POST", `${V3}/join/${enc("#open:localhost")}`, {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(join.body.room_id, publicRoom);
    const missing = await t.request("POST", `${V3}/join/${enc("#missing:localhost")}`, {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(missing.status, 404);

    // Reject an invite by leaving.
    const privateRoom = await createRoom(t, alice, { invite: [bob.userId] });
    assertEquals((await roomPost(t, bob, privateRoom, "leave")).status, 200);
    assertEquals(
      (await getState(t, alice, privateRoom, "m.room.member", bob.userId)).body.membership,
      "leave",
    );

    // Knock on a knockable room; alice then invites (accepts the knock).
    const knockRoom = await createRoom(t, alice, {
      initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }],
    });
    const knock = await t.request("POST", `${V3}/knock/${enc(knockRoom)}`, {
      token: bob.accessToken,
      body: { reason: "let me in" },
    });
    assertEquals(knock.status, 200, JSON.stringify(knock.body));
    const knocked = await getState(t, alice, knockRoom, "m.room.member", bob.userId);
    assertEquals(knocked.body.membership, "knock");
    // Knocking on an invite-only room fails.
    const inviteOnly = await createRoom(t, alice, {});
    const refused = await t.request("POST", `${V3}/knock/${enc(inviteOnly)}`, {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(refused.status, 403);
    // Knocking in a v6 room (no knocking).
    const old = await createRoom(t, alice, { room_version: "6" });
    const v6 = await t.request("POST", `${V3}/knock/${enc(old)}`, {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(v6.status, 403);
    assertEquals(
      (await roomPost(t, alice, knockRoom, "invite", { user_id: bob.userId })).status,
      200,
    );
    assertEquals((await roomPost(t, bob, knockRoom, "join")).status, 200);
  }));

Deno.test("membership: /members filters and /joined_members", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const roomId = await createRoom(t, alice, { invite: [bob.userId, carol.userId] });
    await roomPost(t, bob, roomId, "join");
    const members = (query: string) =>
      t.request("GET", `${V3}/rooms/${enc(roomId)}/members${query}`, {
        token: alice.accessToken,
      });
    assertEquals((await members("")).body.chunk.length, 3);
    const joined = (await members("?membership=join")).body.chunk.map((e: { state_key: string }) =>
      e.state_key
    ).sort();
    assertEquals(joined, [alice.userId, bob.userId].sort());
    const notJoined = (await members("?not_membership=join")).body.chunk;
    assertEquals(notJoined.map((e: { state_key: string }) => e.state_key), [carol.userId]);
    assertEquals((await members("?membership=bogus")).status, 400);

    const jm = await t.request("GET", `${V3}/rooms/${enc(roomId)}/joined_members`, {
      token: bob.accessToken,
    });
    assertEquals(Object.keys(jm.body.joined).sort(), [alice.userId, bob.userId].sort());
    assertEquals(jm.body.joined[alice.userId].display_name, "alice");
    const outsider = await t.request("GET", `${V3}/rooms/${enc(roomId)}/joined_members`, {
      token: carol.accessToken,
    });
    assertEquals(outsider.status, 403);
  }));

Deno.test("membership: a restricted room admits the members of its space, vouched for locally", () =>
  withRoomServer(async (t) => {
    const anna = await t.register("anna");
    const ben = await t.register("ben");
    const carol = await t.register("carol");
    const spaceId = await createRoom(t, anna, {
      preset: "public_chat",
      creation_content: { type: "m.space" },
    });
    const roomId = await createRoom(t, anna, {
      preset: "private_chat",
      initial_state: [{
        type: "m.room.join_rules",
        state_key: "",
        content: {
          join_rule: "restricted",
          allow: [{ type: "m.room_membership", room_id: spaceId }],
        },
      }],
    });
    // Carol is in no allowed room: refused, and nothing is written.
    const refused = await roomPost(t, carol, roomId, "join");
    assertEquals(refused.status, 403);
    assertEquals(refused.body.errcode, "M_FORBIDDEN");
    assertEquals((await getState(t, anna, roomId, "m.room.member", carol.userId)).status, 404);

    // Ben joins the space, then the room: anna, who may invite, vouches for him.
    assertEquals((await roomPost(t, ben, spaceId, "join")).status, 200);
    assertEquals((await roomPost(t, ben, roomId, "join")).body, { room_id: roomId });
    const member = await getState(t, anna, roomId, "m.room.member", ben.userId);
    assertEquals(member.body.membership, "join");
    assertEquals(member.body.join_authorised_via_users_server, anna.userId);
    // A value sent by the client is not taken.
    const dave = await t.register("dave");
    assertEquals((await roomPost(t, dave, spaceId, "join")).status, 200);
    const own = await roomPost(t, dave, roomId, "join", {
      join_authorised_via_users_server: dave.userId,
    });
    assertEquals(own.status, 200);
    const daveMember = await getState(t, anna, roomId, "m.room.member", dave.userId);
    assertEquals(daveMember.body.join_authorised_via_users_server, anna.userId);
  }));
