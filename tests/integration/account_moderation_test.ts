/**
 * Account locking and suspension (v1.18 admin endpoints): who may set them, and what a locked
 * or suspended account may still do, over real HTTP.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";

const V1 = "/_matrix/client/v1/admin";
const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

Deno.test("account moderation: lock and suspend", async (t) => {
  const s = await startTestServer();
  try {
    const admin = await s.register("admin");
    await updateUser(s.hs.kv, admin.userId, (user) => ({ ...user, admin: true }));
    const alice = await s.register("alice");
    const bob = await s.register("bob");
    const created = await s.request("POST", `${V3}/createRoom`, {
      token: alice.accessToken,
      body: { preset: "public_chat" },
    });
    const roomId = created.body.room_id as string;
    const joined = await s.request("POST", `${V3}/rooms/${enc(roomId)}/join`, {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(joined.status, 200);
    const bobMessage = await s.request("PUT", `${V3}/rooms/${enc(roomId)}/send/m.room.message/b1`, {
      token: bob.accessToken,
      body: { msgtype: "m.text", body: "from bob" },
    });
    const put = (kind: string, userId: string, token: string, body: unknown) =>
      s.request("PUT", `${V1}/${kind}/${enc(userId)}`, { token, body });
    const get = (kind: string, userId: string, token: string) =>
      s.request("GET", `${V1}/${kind}/${enc(userId)}`, { token });

    await t.step("only admins, only local live non-admin users", async () => {
      const notAdmin = await get("lock", "@nobody:localhost", alice.accessToken);
      assertEquals([notAdmin.status, notAdmin.body.errcode], [403, "M_FORBIDDEN"]);
      const unknown = await get("lock", "@nobody:localhost", admin.accessToken);
      assertEquals([unknown.status, unknown.body.errcode], [404, "M_NOT_FOUND"]);
      const remote = await get("suspend", "@someone:elsewhere.example", admin.accessToken);
      assertEquals([remote.status, remote.body.errcode], [400, "M_INVALID_PARAM"]);
      const self = await put("suspend", admin.userId, admin.accessToken, { suspended: true });
      assertEquals([self.status, self.body.errcode], [403, "M_FORBIDDEN"]);
      const bad = await put("lock", alice.userId, admin.accessToken, { locked: "yes" });
      assertEquals([bad.status, bad.body.errcode], [400, "M_BAD_JSON"]);
      const missing = await put("lock", alice.userId, admin.accessToken, {});
      assertEquals([missing.status, missing.body.errcode], [400, "M_MISSING_PARAM"]);
      assertEquals((await get("lock", alice.userId, admin.accessToken)).body, { locked: false });
      const caps = await s.request("GET", `${V3}/capabilities`, { token: admin.accessToken });
      assertEquals(caps.body.capabilities["m.account_moderation"], { suspend: true, lock: true });
      const userCaps = await s.request("GET", `${V3}/capabilities`, { token: alice.accessToken });
      assertEquals(userCaps.body.capabilities["m.account_moderation"], undefined);
    });

    await t.step("a suspended account reads and leaves, but does not take part", async () => {
      const set = await put("suspend", bob.userId, admin.accessToken, { suspended: true });
      assertEquals([set.status, set.body], [200, { suspended: true }]);
      assertEquals((await get("suspend", bob.userId, admin.accessToken)).body, {
        suspended: true,
      });
      const refused = async (method: string, path: string, body?: unknown) => {
        const res = await s.request(method, path, { token: bob.accessToken, body });
        assertEquals([res.status, res.body.errcode], [403, "M_USER_SUSPENDED"], path);
      };
      await refused("PUT", `${V3}/rooms/${enc(roomId)}/send/m.room.message/b2`, {
        msgtype: "m.text",
        body: "not sent",
      });
      await refused("POST", `${V3}/createRoom`, {});
      await refused("PUT", `${V3}/profile/${enc(bob.userId)}/displayname`, {
        displayname: "Bobby",
      });
      await refused("POST", `${V3}/rooms/${enc(roomId)}/invite`, { user_id: admin.userId });
      await refused("PUT", `${V3}/rooms/${enc(roomId)}/state/m.room.topic/`, { topic: "t" });
      // Someone else's event may not be redacted; one's own may.
      const aliceMessage = await s.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/a1`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "from alice" } },
      );
      await refused(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc(aliceMessage.body.event_id)}/r1`,
        {},
      );
      const own = await s.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/redact/${enc(bobMessage.body.event_id)}/r2`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(own.status, 200, JSON.stringify(own.body));
      // Reading works.
      const sync = await s.request("GET", `${V3}/sync?timeout=0`, { token: bob.accessToken });
      assertEquals(sync.status, 200);
      assert(roomId in sync.body.rooms.join);
      const messages = await s.request("GET", `${V3}/rooms/${enc(roomId)}/messages?dir=b`, {
        token: bob.accessToken,
      });
      assertEquals(messages.status, 200);
      // Leaving works, joining again does not.
      const left = await s.request("POST", `${V3}/rooms/${enc(roomId)}/leave`, {
        token: bob.accessToken,
        body: {},
      });
      assertEquals(left.status, 200);
      await refused("POST", `${V3}/rooms/${enc(roomId)}/join`, {});
      // Lifted: bob takes part again.
      await put("suspend", bob.userId, admin.accessToken, { suspended: false });
      const back = await s.request("POST", `${V3}/rooms/${enc(roomId)}/join`, {
        token: bob.accessToken,
        body: {},
      });
      assertEquals(back.status, 200);
    });

    await t.step("a locked account gets 401 M_USER_LOCKED until unlocked", async () => {
      const second = await s.login("alice", alice.password);
      const set = await put("lock", alice.userId, admin.accessToken, { locked: true });
      assertEquals([set.status, set.body], [200, { locked: true }]);
      const whoami = await s.request("GET", `${V3}/account/whoami`, { token: alice.accessToken });
      assertEquals(whoami.status, 401);
      assertEquals(whoami.body.errcode, "M_USER_LOCKED");
      assertEquals(whoami.body.soft_logout, true);
      // Logging out is allowed; the other session's token survives the lock.
      const out = await s.request("POST", `${V3}/logout`, { token: second.accessToken, body: {} });
      assertEquals(out.status, 200);
      await put("lock", alice.userId, admin.accessToken, { locked: false });
      const again = await s.request("GET", `${V3}/account/whoami`, { token: alice.accessToken });
      assertEquals([again.status, again.body.user_id], [200, alice.userId]);
      const gone = await s.request("GET", `${V3}/account/whoami`, { token: second.accessToken });
      assertEquals(gone.status, 401);
      assertEquals(gone.body.errcode, "M_UNKNOWN_TOKEN");
      // Nothing is stored for an account without flags.
      const stored = await s.hs.kv.get(["moderation", alice.userId]);
      assertEquals(stored.value, null);
    });
  } finally {
    await s.close();
  }
});
