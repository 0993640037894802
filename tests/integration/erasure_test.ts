/**
 * Deactivation with `erase` over real HTTP, one server, both ways in: the admin API
 * (`POST /_synapse/admin/v1/deactivate/{userId}` with `erase`) and `POST /account/deactivate`
 * with `erase`. The erased account's personal data goes (profile, avatar medium, account data,
 * devices, pushers), and its messages are served redacted to a user who joins later (through
 * `/messages`, `/event`, `/context`, `/sync`; `/search` no longer finds them) while a member who
 * was in the room when they were sent still reads them, as the spec says.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

let t: TestServer;

async function call(method: string, path: string, user: TestUser, body?: unknown) {
  return await t.request(method, path, { token: user.accessToken, body });
}

async function say(user: TestUser, roomId: string, body: string): Promise<string> {
  const res = await call(
    "PUT",
    `${V3}/rooms/${enc(roomId)}/send/m.room.message/${crypto.randomUUID()}`,
    user,
    { msgtype: "m.text", body },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

async function countKeys(prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of t.hs.kv.list({ prefix })) n++;
  return n;
}

/** Gives the user a profile with an uploaded avatar, account data and a pusher. */
async function personalData(user: TestUser): Promise<string> {
  const upload = await fetch(`${t.baseUrl}/_matrix/media/v3/upload?filename=me.png`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "image/png" },
    body: new Uint8Array(2000).map((_, i) => i & 0xff),
  });
  const avatar = (await upload.json()).content_uri as string;
  const uid = enc(user.userId);
  assertEquals(
    (await call("PUT", `${V3}/profile/${uid}/avatar_url`, user, { avatar_url: avatar })).status,
    200,
  );
  assertEquals(
    (await call("PUT", `${V3}/profile/${uid}/displayname`, user, { displayname: "Real Name" }))
      .status,
    200,
  );
  assertEquals(
    (await call("PUT", `${V3}/user/${uid}/account_data/org.example.diary`, user, {
      text: "private",
    }))
      .status,
    200,
  );
  const pusher = await call("POST", `${V3}/pushers/set`, user, {
    kind: "http",
    app_id: "org.example.app",
    pushkey: `key-${user.deviceId}`,
    app_display_name: "App",
    device_display_name: "Phone",
    lang: "en",
    data: { url: "https://push.invalid/_matrix/push/v1/notify" },
  });
  assertEquals(pusher.status, 200, JSON.stringify(pusher.body));
  assert(await countKeys(["account_data", user.userId]) > 0);
  assertEquals(await countKeys(["pusher", user.userId]), 1);
  return avatar;
}

async function assertErased(user: TestUser, avatar: string) {
  const profile = await call("GET", `${V3}/profile/${enc(user.userId)}`, user);
  assert(
    profile.status === 404 ||
      (profile.body.displayname === undefined && profile.body.avatar_url === undefined),
    JSON.stringify(profile.body),
  );
  assertEquals(await countKeys(["account_data", user.userId]), 0);
  assertEquals(await countKeys(["device", user.userId]), 0);
  assertEquals(await countKeys(["pusher", user.userId]), 0);
  const media = await fetch(`${t.baseUrl}/_matrix/client/v1/media/download/${avatar.slice(6)}`);
  await media.body?.cancel();
  assert(media.status === 404 || media.status === 401);
  assertEquals(
    await t.hs.kv.get(["media", t.serverName, avatar.split("/").pop()!]).then((e) => e.value),
    null,
  );
  assertEquals(
    (await t.hs.kv.get<{ erased?: boolean }>(["user", user.userId])).value?.erased,
    true,
  );
}

// deno-lint-ignore no-explicit-any
const byId = (events: any[], id: string) => events.find((e) => e.event_id === id);

Deno.test({
  name: "erasure: personal data goes; later members see the erased user's messages redacted",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    t = await startTestServer();
    try {
      const admin = await t.register("admin");
      await updateUser(t.hs.kv, admin.userId, (u) => ({ ...u, admin: true }));
      const alice = await t.register("alice", { password: "pw-alice" });
      const dave = await t.register("dave", { password: "pw-dave" });
      const bob = await t.register("bob");
      const carol = await t.register("carol");
      const created = await call("POST", `${V3}/createRoom`, bob, { preset: "public_chat" });
      const roomId = created.body.room_id;
      for (const user of [alice, dave]) {
        assertEquals((await call("POST", `${V3}/join/${enc(roomId)}`, user, {})).status, 200);
      }
      const fromAlice = await say(alice, roomId, "quokkafeeding alice was here");
      const fromDave = await say(dave, roomId, "quokkafeeding dave was here");
      const fromBob = await say(bob, roomId, "quokkafeeding bob was here");
      const aliceAvatar = await personalData(alice);
      const daveAvatar = await personalData(dave);
      // A pending invite, which Dave's own deactivation must reject.
      const other = (await call("POST", `${V3}/createRoom`, bob, { invite: [dave.userId] })).body
        .room_id;

      // Alice by the admin API, Dave by himself.
      const byAdmin = await call(
        "POST",
        `/_synapse/admin/v1/deactivate/${enc(alice.userId)}`,
        admin,
        {
          erase: true,
        },
      );
      assertEquals(byAdmin.status, 200, JSON.stringify(byAdmin.body));
      const path = `${V3}/account/deactivate`;
      const session = (await call("POST", path, dave, { erase: true })).body.session;
      const own = await call("POST", path, dave, {
        erase: true,
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "dave" },
          password: "pw-dave",
          session,
        },
      });
      assertEquals(own.status, 200, JSON.stringify(own.body));
      // Dave's own deactivation left his room and rejected his invite, as the admin one does;
      // Bob, still in both rooms, sees the leave events.
      for (const room of [roomId, other]) {
        const member = await call(
          "GET",
          `${V3}/rooms/${enc(room)}/state/m.room.member/${enc(dave.userId)}`,
          bob,
        );
        assertEquals(member.body.membership, "leave", `${room}: ${JSON.stringify(member.body)}`);
      }
      const bobTimeline = await call(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
        bob,
      );
      assert(
        bobTimeline.body.chunk.some((
          e: { type: string; state_key?: string; content: { membership?: string } },
        ) =>
          e.type === "m.room.member" && e.state_key === dave.userId &&
          e.content.membership === "leave"
        ),
        "Bob does not see Dave's leave",
      );
      await assertErased(alice, aliceAvatar);
      await assertErased(dave, daveAvatar);

      // Carol joins after the erasure: both erased users' messages come redacted.
      assertEquals((await call("POST", `${V3}/join/${enc(roomId)}`, carol, {})).status, 200);
      const messages = await call(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
        carol,
      );
      assertEquals(messages.status, 200);
      for (const id of [fromAlice, fromDave]) {
        const seen = byId(messages.body.chunk, id);
        assert(seen, `${id} missing from /messages`);
        assertEquals(seen.content, {});
        const single = await call("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(id)}`, carol);
        assertEquals([single.status, single.body.content], [200, {}]);
        const context = await call("GET", `${V3}/rooms/${enc(roomId)}/context/${enc(id)}`, carol);
        assertEquals(context.body.event.content, {});
      }
      assertEquals(byId(messages.body.chunk, fromBob).content.body, "quokkafeeding bob was here");
      const filter = JSON.stringify({ room: { timeline: { limit: 50 } } });
      const sync = await call("GET", `${V3}/sync?filter=${enc(filter)}`, carol);
      const timeline = sync.body.rooms.join[roomId].timeline.events;
      assertEquals(byId(timeline, fromAlice).content, {});
      assertEquals(byId(timeline, fromBob).content.body, "quokkafeeding bob was here");
      const search = async (user: TestUser) => {
        const res = await call("POST", `${V3}/search`, user, {
          search_categories: { room_events: { search_term: "quokkafeeding" } },
        });
        // deno-lint-ignore no-explicit-any
        return res.body.search_categories.room_events.results.map((r: any) => r.result.event_id)
          .sort();
      };
      assertEquals(await search(carol), [fromBob]);

      // Bob was in the room when they were sent: he still reads them.
      const bobView = await call("GET", `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`, bob);
      assertEquals(
        byId(bobView.body.chunk, fromAlice).content.body,
        "quokkafeeding alice was here",
      );
      const bobEvent = await call("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(fromDave)}`, bob);
      assertEquals(bobEvent.body.content.body, "quokkafeeding dave was here");
      assertEquals(await search(bob), [fromAlice, fromBob, fromDave].sort());
    } finally {
      await t.close();
    }
  },
});
