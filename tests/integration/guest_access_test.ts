/**
 * Guest access over real HTTP: guest registration (off by default), the endpoints guests may
 * and may not call, `m.room.guest_access` on joins (and guests leaving when a room stops
 * allowing them), guests reading only joined or world-readable rooms, and upgrading a guest
 * to a full account that keeps its user ID.
 */

import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { plainSdkClient, silentLogger, startSyncing } from "../support/sdk_client.ts";
import { createRoom, enc, getState, putState, roomPost, send, V3 } from "./rooms_support.ts";

async function registerGuest(t: TestServer, body: unknown = {}): Promise<TestUser> {
  const res = await t.request("POST", `${V3}/register?kind=guest`, { body });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return {
    userId: res.body.user_id,
    accessToken: res.body.access_token,
    deviceId: res.body.device_id,
    password: "",
  };
}

/** Polls until `check` holds (a guest's removal runs after the change commits). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("guest access is off by default: kind=guest is 403 M_FORBIDDEN", async () => {
  const t = await startTestServer();
  try {
    const res = await t.request("POST", `${V3}/register?kind=guest`, { body: {} });
    assertEquals(res.status, 403);
    assertEquals(res.body.errcode, "M_FORBIDDEN");
  } finally {
    await t.close();
  }
});

Deno.test("guest access: registration, allow-list, joins, history, revocation, upgrade", async (t) => {
  const server = await startTestServer({ config: { registration: { allow_guests: true } } });
  const req = server.request;
  try {
    const alice = await server.register("alice");
    let guest!: TestUser;

    await t.step(
      "kind=guest registers a numeric guest with a device, ignoring other fields",
      async () => {
        guest = await registerGuest(server, {
          username: "chosen",
          password: "ignored-password",
          device_id: "CHOSEN",
          initial_device_display_name: "Guest phone",
        });
        assert(/^@[0-9]+:localhost$/.test(guest.userId), guest.userId);
        assert(guest.deviceId !== "CHOSEN");
        const whoami = await req("GET", `${V3}/account/whoami`, { token: guest.accessToken });
        assertEquals(whoami.body, {
          user_id: guest.userId,
          device_id: guest.deviceId,
          is_guest: true,
        });
        const devices = await req("GET", `${V3}/devices`, { token: guest.accessToken });
        assertEquals(devices.status, 200);
        assertEquals(devices.body.devices[0].display_name, "Guest phone");
        const aliceWho = await req("GET", `${V3}/account/whoami`, { token: alice.accessToken });
        assertEquals(aliceWho.body.is_guest, false);
        // A guest has no password: it cannot log in.
        const login = await req("POST", `${V3}/login`, {
          body: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: guest.userId },
            password: "ignored-password",
          },
        });
        assertEquals(login.status, 403);
        // An empty body is fine too.
        const empty = await req("POST", `${V3}/register?kind=guest`);
        assertEquals(empty.status, 200, JSON.stringify(empty.body));
      },
    );

    await t.step("numeric usernames are reserved for guests", async () => {
      const res = await req("POST", `${V3}/register`, {
        body: { username: "12345", password: "a-password" },
      });
      assertEquals(res.status, 400);
      assertEquals(res.body.errcode, "M_INVALID_USERNAME");
      const available = await req("GET", `${V3}/register/available?username=12345`);
      assertEquals(available.body.errcode, "M_INVALID_USERNAME");
    });

    await t.step("endpoints off the guest list answer 403 M_GUEST_ACCESS_FORBIDDEN", async () => {
      const token = guest.accessToken;
      const refused: [string, string, unknown?][] = [
        ["POST", `${V3}/createRoom`, {}],
        ["POST", "/_matrix/client/r0/createRoom", {}],
        ["POST", `${V3}/user_directory/search`, { search_term: "alice" }],
        ["PUT", `${V3}/profile/${enc(guest.userId)}/avatar_url`, { avatar_url: "mxc://a/b" }],
        ["POST", `${V3}/account/password`, { new_password: "x" }],
        ["POST", `${V3}/account/deactivate`, {}],
        ["GET", `${V3}/pushrules/`],
        ["POST", `${V3}/user/${enc(guest.userId)}/filter`, {}],
        ["GET", `${V3}/events`],
        ["POST", "/_matrix/media/v3/upload", "bytes"],
        ["GET", `${V3}/rooms/!x:localhost/joined_members`],
        ["POST", `${V3}/rooms/!x:localhost/invite`, { user_id: alice.userId }],
        ["PUT", `${V3}/rooms/!x:localhost/state/m.room.member/${enc(guest.userId)}`, {
          membership: "join",
        }],
      ];
      for (const [method, path, body] of refused) {
        const res = await req(method, path, { token, body });
        assertEquals(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assertEquals(res.body.errcode, "M_GUEST_ACCESS_FORBIDDEN", `${method} ${path}`);
      }
      // Allowed ones reach their handlers.
      for (const path of [`${V3}/capabilities`, `${V3}/joined_rooms`, "/_matrix/client/r0/sync"]) {
        const res = await req("GET", path, { token });
        assertEquals(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      }
      const name = await req("PUT", `${V3}/profile/${enc(guest.userId)}/displayname`, {
        token,
        body: { displayname: "Visitor" },
      });
      assertEquals(name.status, 200);
      const keys = await req("POST", `${V3}/keys/query`, {
        token,
        body: { device_keys: { [alice.userId]: [] } },
      });
      assertEquals(keys.status, 200);
    });

    let openRoom = "";
    await t.step("guests join only rooms whose guest_access is can_join", async () => {
      openRoom = await createRoom(server, alice, {
        preset: "public_chat",
        room_alias_name: "lobby",
      });
      const refused = await roomPost(server, guest, openRoom, "join");
      assertEquals(refused.status, 403);
      assertEquals(refused.body.errcode, "M_FORBIDDEN");
      const byAlias = await req("POST", `${V3}/join/${enc("#lobby:localhost")}`, {
        token: guest.accessToken,
        body: {},
      });
      assertEquals(byAlias.status, 403);
      assertEquals(byAlias.body.errcode, "M_FORBIDDEN");

      const allow = await putState(server, alice, openRoom, "m.room.guest_access", {
        guest_access: "can_join",
      });
      assertEquals(allow.status, 200);
      const joined = await req("POST", `${V3}/join/${enc("#lobby:localhost")}`, {
        token: guest.accessToken,
        body: {},
      });
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      const member = await getState(server, alice, openRoom, "m.room.member", guest.userId);
      assertEquals(member.body.membership, "join");
      assertEquals(member.body.kind, "guest");
      assertEquals(member.body.displayname, "Visitor");

      const sent = await send(server, guest, openRoom, { msgtype: "m.text", body: "hello" });
      assertEquals(sent.status, 200);
      const messages = await req(
        "GET",
        `${V3}/rooms/${enc(openRoom)}/messages?dir=b&limit=5`,
        { token: guest.accessToken },
      );
      assertEquals(messages.status, 200);
      assert(
        messages.body.chunk.some((e: { content: { body?: string } }) => e.content.body === "hello"),
      );
      const sync = await req("GET", `${V3}/sync`, { token: guest.accessToken });
      assert(openRoom in sync.body.rooms.join);
    });

    await t.step("guests are not listed in the user directory", async () => {
      const search = (term: string) =>
        req("POST", `${V3}/user_directory/search`, {
          token: alice.accessToken,
          body: { search_term: term },
        });
      const byId = await search(guest.userId.slice(1, 7));
      assertEquals(byId.status, 200);
      assertEquals(byId.body.results, []);
      const byName = await search("Visitor");
      assertEquals(byName.body.results, []);
      // The room's ordinary member is found as before.
      const alices = await search("alice");
      assert(alices.body.results.some((r: { user_id: string }) => r.user_id === alice.userId));
    });

    await t.step("guests read history only of joined or world_readable rooms", async () => {
      const readable = await createRoom(server, alice, {
        preset: "public_chat",
        initial_state: [{
          type: "m.room.history_visibility",
          state_key: "",
          content: { history_visibility: "world_readable" },
        }],
      });
      const shared = await createRoom(server, alice, { preset: "public_chat" });
      for (const roomId of [readable, shared]) {
        await send(server, alice, roomId, { msgtype: "m.text", body: "before" });
      }
      const token = guest.accessToken;
      const readMessages = await req("GET", `${V3}/rooms/${enc(readable)}/messages?dir=b`, {
        token,
      });
      assertEquals(readMessages.status, 200);
      assert(readMessages.body.chunk.length > 0);
      assertEquals((await req("GET", `${V3}/rooms/${enc(readable)}/state`, { token })).status, 200);
      const visibility = await req(
        "GET",
        `${V3}/rooms/${enc(readable)}/state/m.room.history_visibility/`,
        { token },
      );
      assertEquals(visibility.body, { history_visibility: "world_readable" });
      const preview = await req("GET", `${V3}/events?room_id=${enc(readable)}&timeout=0`, {
        token,
      });
      assertEquals(preview.status, 200, JSON.stringify(preview.body));

      for (
        const path of [
          `${V3}/rooms/${enc(shared)}/messages?dir=b`,
          `${V3}/rooms/${enc(shared)}/state`,
          `${V3}/rooms/${enc(shared)}/state/m.room.name/`,
        ]
      ) {
        const res = await req("GET", path, { token });
        assertEquals(res.status, 403, `${path}: ${JSON.stringify(res.body)}`);
        // Refused by the room's history visibility, not by the guest allow-list.
        assertEquals(res.body.errcode, "M_FORBIDDEN", path);
      }
      // No guest_access event: a world_readable room is readable, not joinable.
      assertEquals((await roomPost(server, guest, readable, "join")).status, 403);
    });

    await t.step(
      "guests leave a room that stops allowing them; ordinary members stay",
      async () => {
        const bob = await server.register("bob");
        assertEquals((await roomPost(server, bob, openRoom, "join")).status, 200);
        const revoke = await putState(server, alice, openRoom, "m.room.guest_access", {
          guest_access: "forbidden",
        });
        assertEquals(revoke.status, 200);
        await eventually(async () => {
          const member = await getState(server, alice, openRoom, "m.room.member", guest.userId);
          return member.body.membership === "leave";
        }, "the guest to leave");
        const member = await getState(server, alice, openRoom, "m.room.member", guest.userId);
        assertEquals(member.body.membership, "leave");
        const bobMember = await getState(server, alice, openRoom, "m.room.member", bob.userId);
        assertEquals(bobMember.body.membership, "join");
        const again = await roomPost(server, guest, openRoom, "join");
        assertEquals(again.status, 403);
      },
    );

    await t.step("matrix-js-sdk as a guest: register, sync, join, send", async () => {
      const roomId = await createRoom(server, alice, {
        preset: "public_chat",
        initial_state: [{
          type: "m.room.guest_access",
          state_key: "",
          content: { guest_access: "can_join" },
        }],
      });
      const anonymous = sdk.createClient({ baseUrl: server.baseUrl, logger: silentLogger });
      const creds = await anonymous.registerGuest({ body: {} });
      const client = plainSdkClient(server, {
        userId: creds.user_id,
        deviceId: creds.device_id,
        accessToken: creds.access_token,
      });
      client.setGuest(true);
      try {
        await startSyncing(client, { initialSyncLimit: 5 });
        await client.joinRoom(roomId);
        await client.sendTextMessage(roomId, "from a guest client");
        const page = await req("GET", `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=5`, {
          token: alice.accessToken,
        });
        const bodies = page.body.chunk.map((e: { content: { body?: string } }) => e.content.body);
        assert(bodies.includes("from a guest client"), JSON.stringify(bodies));
      } finally {
        client.stopClient();
      }
    });

    await t.step(
      "upgrade refusals: someone else's ID, a full user's token, no username",
      async () => {
        const other = await registerGuest(server);
        const localpart = guest.userId.slice(1, guest.userId.indexOf(":"));
        const cases: [Record<string, unknown>, number, string][] = [
          [{ guest_access_token: other.accessToken, username: localpart }, 403, "M_FORBIDDEN"],
          [{ guest_access_token: alice.accessToken, username: "alice" }, 403, "M_FORBIDDEN"],
          [{ guest_access_token: "gmat_nonsense", username: localpart }, 403, "M_FORBIDDEN"],
          [{ guest_access_token: guest.accessToken }, 400, "M_MISSING_PARAM"],
        ];
        for (const [body, status, errcode] of cases) {
          const res = await req("POST", `${V3}/register`, {
            body: { ...body, password: "a-new-password" },
          });
          assertEquals(res.status, status, JSON.stringify(res.body));
          assertEquals(res.body.errcode, errcode);
        }
        // Still a guest.
        const whoami = await req("GET", `${V3}/account/whoami`, { token: guest.accessToken });
        assertEquals(whoami.body.is_guest, true);
      },
    );

    await t.step("a guest upgrades to a full account with the same user ID", async () => {
      const lobby2 = await createRoom(server, alice, {
        preset: "public_chat",
        initial_state: [{
          type: "m.room.guest_access",
          state_key: "",
          content: { guest_access: "can_join" },
        }],
      });
      assertEquals((await roomPost(server, guest, lobby2, "join")).status, 200);
      const localpart = guest.userId.slice(1, guest.userId.indexOf(":"));
      const body = {
        username: localpart,
        password: "a-new-password",
        guest_access_token: guest.accessToken,
        initial_device_display_name: "Upgraded",
      };
      const first = await req("POST", `${V3}/register`, { body });
      assertEquals(first.status, 401, JSON.stringify(first.body));
      const done = await req("POST", `${V3}/register`, {
        body: { auth: { type: "m.login.dummy", session: first.body.session } },
      });
      assertEquals(done.status, 200, JSON.stringify(done.body));
      assertEquals(done.body.user_id, guest.userId);
      assert(done.body.device_id !== guest.deviceId);

      const whoami = await req("GET", `${V3}/account/whoami`, { token: done.body.access_token });
      assertEquals(whoami.body, {
        user_id: guest.userId,
        device_id: done.body.device_id,
        is_guest: false,
      });
      // The account keeps its rooms and profile, may now log in, and its old token is no
      // longer held to the guest list.
      const rooms = await req("GET", `${V3}/joined_rooms`, { token: done.body.access_token });
      assert(rooms.body.joined_rooms.includes(lobby2));
      const name = await req("GET", `${V3}/profile/${enc(guest.userId)}/displayname`);
      assertEquals(name.body.displayname, "Visitor");
      const login = await server.login(guest.userId, "a-new-password");
      assertEquals(login.userId, guest.userId);
      const created = await req("POST", `${V3}/createRoom`, {
        token: guest.accessToken,
        body: {},
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      // A second upgrade of the same account is refused.
      const twice = await req("POST", `${V3}/register`, {
        body: { ...body, guest_access_token: login.accessToken },
      });
      assertEquals(twice.status, 403);
    });
  } finally {
    await server.close();
  }
});
