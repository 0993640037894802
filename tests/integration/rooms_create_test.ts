import { assert, assertEquals } from "../unit/assert.ts";
import { createRoom, enc, getEvent, getState, send, V3, withRoomServer } from "./rooms_support.ts";

for (const version of ["10", "11", "12"]) {
  for (const preset of ["private_chat", "trusted_private_chat", "public_chat"]) {
    Deno.test(`createRoom: v${version} ${preset} has the preset's state`, () =>
      withRoomServer(async (t) => {
        const alice = await t.register("alice");
        const bob = await t.register("bob");
        const roomId = await createRoom(t, alice, {
          room_version: version,
          preset,
          name: "Gemeng",
          topic: "Sitzung",
          invite: [bob.userId],
        });
        if (version === "12") assert(/^![A-Za-z0-9_-]{43}$/.test(roomId), roomId);
        else assert(roomId.endsWith(":localhost"), roomId);
        const state = await t.request("GET", `${V3}/rooms/${enc(roomId)}/state`, {
          token: alice.accessToken,
        });
        assertEquals(state.status, 200);
        const byType = new Map<string, Record<string, unknown>>();
        for (const e of state.body) byType.set(`${e.type}|${e.state_key}`, e.content);
        const create = byType.get("m.room.create|")!;
        assertEquals(create.room_version, version);
        assertEquals("creator" in create, version === "10");
        const isPublic = preset === "public_chat";
        assertEquals(byType.get("m.room.join_rules|")!.join_rule, isPublic ? "public" : "invite");
        assertEquals(byType.get("m.room.history_visibility|")!.history_visibility, "shared");
        assertEquals(
          byType.get("m.room.guest_access|")!.guest_access,
          isPublic ? "forbidden" : "can_join",
        );
        assertEquals(byType.get("m.room.name|")!.name, "Gemeng");
        assertEquals(byType.get("m.room.topic|")!.topic, "Sitzung");
        assertEquals(byType.get(`m.room.member|${alice.userId}`)!.membership, "join");
        assertEquals(byType.get(`m.room.member|${bob.userId}`)!.membership, "invite");
        const pl = byType.get("m.room.power_levels|")! as { users: Record<string, number> };
        assertEquals(pl.users[alice.userId], version === "12" ? undefined : 100);
        // v12 (spec v1.16): trusted invitees are creators, with no entry in `users`.
        const trusted = preset === "trusted_private_chat";
        assertEquals(pl.users[bob.userId], trusted && version !== "12" ? 100 : undefined);
        assertEquals(
          create.additional_creators,
          trusted && version === "12" ? [bob.userId] : undefined,
        );

        // Bob joins and both talk.
        const join = await t.request("POST", `${V3}/join/${enc(roomId)}`, {
          token: bob.accessToken,
          body: {},
        });
        assertEquals(join.status, 200, JSON.stringify(join.body));
        const sent = await send(t, bob, roomId, { msgtype: "m.text", body: "moien" });
        assertEquals(sent.status, 200, JSON.stringify(sent.body));
        const got = await getEvent(t, alice, roomId, sent.body.event_id);
        assertEquals(got.status, 200);
        assertEquals(got.body.content.body, "moien");
        assertEquals(got.body.sender, bob.userId);
        assertEquals(got.body.room_id, roomId);
        assert(typeof got.body.unsigned.age === "number");
        const name = await getState(t, bob, roomId, "m.room.name");
        assertEquals(name.body, { name: "Gemeng" });
        const joined = await t.request("GET", `${V3}/joined_rooms`, { token: bob.accessToken });
        assertEquals(joined.body.joined_rooms, [roomId]);
      }));
  }
}

Deno.test("createRoom: event order, initial_state over preset, overrides, is_direct", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, {
      preset: "private_chat",
      room_alias_name: "team",
      initial_state: [
        { type: "m.room.join_rules", content: { join_rule: "public" } },
        { type: "org.example.custom", state_key: "k", content: { a: 1 } },
      ],
      power_level_content_override: { events_default: 10 },
      invite: [bob.userId],
      is_direct: true,
      name: "N",
    });
    const rule = await getState(t, alice, roomId, "m.room.join_rules");
    assertEquals(rule.body.join_rule, "public");
    const pl = await getState(t, alice, roomId, "m.room.power_levels");
    assertEquals(pl.body.events_default, 10);
    const alias = await getState(t, alice, roomId, "m.room.canonical_alias");
    assertEquals(alias.body.alias, "#team:localhost");
    const custom = await getState(t, alice, roomId, "org.example.custom", "k");
    assertEquals(custom.body, { a: 1 });
    const member = await t.request(
      "GET",
      `${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`,
      { token: alice.accessToken },
    );
    assertEquals(member.body.is_direct, true);
    const aliasLookup = await t.request("GET", `${V3}/directory/room/${enc("#team:localhost")}`);
    assertEquals(aliasLookup.body.room_id, roomId);

    // The timeline order is the spec's.
    const entries = await t.hs.rooms.timeline(roomId, { dir: "f", limit: 100 });
    const types = entries.map((e) => e.type + (e.stateKey ? `:${e.stateKey}` : ""));
    assertEquals(types, [
      "m.room.create",
      `m.room.member:${alice.userId}`,
      "m.room.power_levels",
      "m.room.canonical_alias",
      "m.room.history_visibility",
      "m.room.guest_access",
      "m.room.encryption", // default encryption of a private room ([e2ee] default_for)
      "m.room.join_rules",
      "org.example.custom:k",
      "m.room.name",
      `m.room.member:${bob.userId}`,
    ]);
  }));

Deno.test("createRoom: errors", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const post = (body: unknown) =>
      t.request("POST", `${V3}/createRoom`, { token: alice.accessToken, body });
    const bad = await post({ room_version: "99" });
    assertEquals(bad.status, 400);
    assertEquals(bad.body.errcode, "M_UNSUPPORTED_ROOM_VERSION");
    assertEquals((await post({ preset: "nope" })).body.errcode, "M_BAD_JSON");
    assertEquals((await post({ invite: "x" })).body.errcode, "M_BAD_JSON");
    assertEquals((await post("[1]")).body.errcode, "M_NOT_JSON");
    assertEquals((await post({ invite: ["@ghost:localhost"] })).status, 404);
    await createRoom(t, alice, { room_alias_name: "taken" });
    const inUse = await post({ room_alias_name: "taken" });
    assertEquals(inUse.body.errcode, "M_ROOM_IN_USE");
    const unauth = await t.request("POST", `${V3}/createRoom`, { body: {} });
    assertEquals(unauth.status, 401);
    for (const version of ["1", "2", "3", "6", "9"]) {
      const roomId = await createRoom(t, alice, { room_version: version });
      const sent = await send(t, alice, roomId, { body: "x", msgtype: "m.text" });
      assertEquals(sent.status, 200, `v${version}: ${JSON.stringify(sent.body)}`);
    }
  }));
