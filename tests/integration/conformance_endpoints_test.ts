/**
 * Conformance of endpoints issue 14 found missing: OpenID tokens (request_token, and the token
 * store behind the federation `/openid/userinfo`), `GET /admin/whois/{userId}`, `GET /v1/mutual_rooms` (v1.19), and the
 * versions `/versions` advertises.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { openIdTokenUser } from "../../server/federation/openid.ts";
import { MUTUAL_ROOMS_PAGE } from "../../server/client/mutual_rooms.ts";
import { createRoom, enc, roomPost, V3 } from "./rooms_support.ts";

const MUTUAL = "/_matrix/client/v1/mutual_rooms";

Deno.test("conformance: openid, whois, mutual rooms, versions", async (t) => {
  const s = await startTestServer();
  const alice = await s.register("alice");
  const bob = await s.register("bob");
  const carol = await s.register("carol");
  try {
    await t.step("an OpenID token identifies its user at /openid/userinfo", async () => {
      const issued = await s.request(
        "POST",
        `${V3}/user/${enc(alice.userId)}/openid/request_token`,
        {
          token: alice.accessToken,
          body: {},
        },
      );
      assertEquals(issued.status, 200);
      assertEquals(issued.body.token_type, "Bearer");
      assertEquals(issued.body.matrix_server_name, s.serverName);
      assert(issued.body.expires_in > 0);
      // The token names alice to `/openid/userinfo`, served on the TLS listener (tested over
      // HTTPS in tests/federation/queries_gemeng_test.ts) and, unlike the rest of the
      // Server-Server API, on the plain listener too, as widget back-ends ask it there.
      assertEquals(await openIdTokenUser(s.hs, issued.body.access_token), alice.userId);
      assertEquals(await openIdTokenUser(s.hs, "an/invalid/token"), null);
      const userinfo = (token: string) =>
        s.request("GET", `/_matrix/federation/v1/openid/userinfo?access_token=${enc(token)}`);
      const plain = await userinfo(issued.body.access_token);
      assertEquals([plain.status, plain.body.sub], [200, alice.userId]);
      const unknown = await userinfo("not-a-token");
      assertEquals([unknown.status, unknown.body.errcode], [401, "M_UNKNOWN_TOKEN"]);
      // The rest of the Server-Server API stays on the TLS listener.
      const version = await s.request("GET", "/_matrix/federation/v1/version");
      assertEquals(version.status, 404);
      const forOther = await s.request(
        "POST",
        `${V3}/user/${enc(bob.userId)}/openid/request_token`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(forOther.status, 403);
    });

    await t.step("whois: the user themselves and server admins", async () => {
      const whois = (userId: string, token: string) =>
        s.request("GET", `${V3}/admin/whois/${enc(userId)}`, { token });
      const self = await whois(alice.userId, alice.accessToken);
      assertEquals(self.status, 200);
      assertEquals(self.body.user_id, alice.userId);
      const connection = self.body.devices[alice.deviceId].sessions[0].connections[0];
      assertEquals(connection.ip, "127.0.0.1");
      assert(Math.abs(connection.last_seen - Date.now()) < 60_000);
      const other = await whois(alice.userId, bob.accessToken);
      assertEquals([other.status, other.body.errcode], [403, "M_FORBIDDEN"]);
      // A non-admin cannot learn whether a user exists.
      assertEquals((await whois("@ghost:localhost", bob.accessToken)).status, 403);
      await updateUser(s.hs.kv, bob.userId, (user) => ({ ...user, admin: true }));
      const byAdmin = await whois(alice.userId, bob.accessToken);
      assertEquals(byAdmin.status, 200);
      assertEquals(Object.keys(byAdmin.body.devices), [alice.deviceId]);
      assertEquals((await whois("@ghost:localhost", bob.accessToken)).status, 404);
    });

    await t.step("mutual rooms: joined by both, paged", async () => {
      const get = (query: string, token = alice.accessToken) =>
        s.request("GET", `${MUTUAL}?${query}`, { token });
      assertEquals((await get(`user_id=${enc(bob.userId)}`)).body, { joined: [], count: 0 });
      const shared: string[] = [];
      for (let batch = 0; batch < MUTUAL_ROOMS_PAGE + 1; batch += 10) {
        const ids = await Promise.all(
          Array.from(
            { length: Math.min(10, MUTUAL_ROOMS_PAGE + 1 - batch) },
            () => createRoom(s, alice, { preset: "public_chat" }),
          ),
        );
        await Promise.all(ids.map((id) => roomPost(s, bob, id, "join")));
        shared.push(...ids);
      }
      // Rooms only one of them is in, or where bob is only invited, do not count.
      await createRoom(s, alice);
      await createRoom(s, alice, { invite: [bob.userId] });
      const left = await createRoom(s, alice, { preset: "public_chat" });
      await roomPost(s, bob, left, "join");
      await roomPost(s, bob, left, "leave");

      const first = await get(`user_id=${enc(bob.userId)}`);
      assertEquals(first.status, 200);
      assertEquals(first.body.count, MUTUAL_ROOMS_PAGE + 1);
      assertEquals(first.body.joined.length, MUTUAL_ROOMS_PAGE);
      assert(typeof first.body.next_batch === "string");
      const second = await get(`user_id=${enc(bob.userId)}&from=${enc(first.body.next_batch)}`);
      assertEquals(second.body.joined.length, 1);
      assertEquals(second.body.next_batch, undefined);
      assertEquals([...first.body.joined, ...second.body.joined].sort(), shared.sort());
      // Symmetric, and empty for a user who is not known.
      assertEquals((await get(`user_id=${enc(alice.userId)}`, bob.accessToken)).body.count, 101);
      assertEquals((await get(`user_id=${enc("@nobody:localhost")}`)).body.joined, []);
      assertEquals((await get(`user_id=${enc(carol.userId)}`)).body.count, 0);
      // Bad requests.
      assertEquals((await get("")).body.errcode, "M_MISSING_PARAM");
      assertEquals((await get("user_id=bob")).body.errcode, "M_INVALID_PARAM");
      assertEquals((await get(`user_id=${enc(alice.userId)}`)).body.errcode, "M_INVALID_PARAM");
      const badToken = await get(`user_id=${enc(bob.userId)}&from=%%%`);
      assertEquals([badToken.status, badToken.body.errcode], [400, "M_INVALID_PARAM"]);
      assertEquals((await s.request("GET", `${MUTUAL}?user_id=${enc(bob.userId)}`)).status, 401);
    });

    await t.step("room summaries: open rooms to anyone, others to who may see them", async () => {
      const summary = (target: string, token?: string) =>
        s.request("GET", `/_matrix/client/v1/room_summary/${enc(target)}`, { token });
      const open = await createRoom(s, alice, {
        preset: "public_chat",
        room_alias_name: "open",
        name: "Open room",
        topic: "all welcome",
      });
      const anonymous = await summary("#open:localhost");
      assertEquals(anonymous.status, 200);
      assertEquals(anonymous.body.room_id, open);
      assertEquals(anonymous.body.name, "Open room");
      assertEquals(anonymous.body.topic, "all welcome");
      assertEquals(anonymous.body.join_rule, "public");
      assertEquals(anonymous.body.num_joined_members, 1);
      assertEquals(anonymous.body.room_version, "12");
      assertEquals(anonymous.body.membership, undefined);
      assertEquals(anonymous.body.children_state, undefined);
      assertEquals((await summary(open, alice.accessToken)).body.membership, "join");

      const closed = await createRoom(s, alice, { name: "Closed", invite: [bob.userId] });
      assertEquals((await summary(closed)).status, 404);
      const outsider = await summary(closed, carol.accessToken);
      assertEquals([outsider.status, outsider.body.errcode], [404, "M_NOT_FOUND"]);
      const invited = await summary(closed, bob.accessToken);
      assertEquals([invited.status, invited.body.membership], [200, "invite"]);
      assertEquals(invited.body.name, "Closed");
      assertEquals((await summary("!unknown:localhost", alice.accessToken)).status, 404);
      assertEquals((await summary("#nowhere:localhost")).status, 404);
      assertEquals((await summary(open, "not-a-token")).status, 401);
    });

    await t.step("/versions lists the versions whose features are built", async () => {
      const res = await s.request("GET", "/_matrix/client/versions");
      const r0 = ["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1"];
      const v1 = Array.from({ length: 19 }, (_, i) => `v1.${i + 1}`);
      assertEquals(res.body.versions, [...r0, ...v1]);
      const caps = await s.request("GET", `${V3}/capabilities`, { token: alice.accessToken });
      assertEquals(caps.body.capabilities["m.profile_fields"], { enabled: true });
    });
  } finally {
    await s.close();
  }
});
