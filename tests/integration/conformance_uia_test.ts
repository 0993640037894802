/**
 * Conformance of user-interactive authentication and registration (issue 14): sessions
 * remember the request's parameters, registration is idempotent per session, usernames are
 * lower-cased, `completed` is in every 401, authenticating as someone else is 403 and a session
 * cannot be carried over to another operation.
 */

import { assert, assertEquals, assertNotEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

const REGISTER = "/_matrix/client/v3/register";
const WHOAMI = "/_matrix/client/v3/account/whoami";

function passwordAuth(user: string, password: string, session: string) {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password, session };
}

Deno.test("conformance: user-interactive auth and registration", async (t) => {
  const s = await startTestServer();
  try {
    await t.step("a session remembers the parameters of its first request", async () => {
      const first = await s.request("POST", REGISTER, {
        body: {
          username: "Remember-ME",
          password: "s3kr1t",
          device_id: "XYZZY",
          initial_device_display_name: "kitchen tablet",
        },
      });
      assertEquals(first.status, 401);
      assertEquals(first.body.completed, []);
      const done = await s.request("POST", REGISTER, {
        body: { auth: { type: "m.login.dummy", session: first.body.session } },
      });
      assertEquals(done.status, 200);
      assertEquals(done.body.user_id, "@remember-me:localhost");
      assertEquals(done.body.device_id, "XYZZY");
      const device = await s.request("GET", "/_matrix/client/v3/devices/XYZZY", {
        token: done.body.access_token,
      });
      assertEquals(device.body.display_name, "kitchen tablet");
      // The remembered password is the one that logs in.
      await s.login("remember-me", "s3kr1t");
    });

    await t.step("usernames are lower-cased", async () => {
      const user = await s.register("User-UPPER");
      assertEquals(user.userId, "@user-upper:localhost");
      const taken = await s.request("GET", `${REGISTER}/available?username=USER-upper`);
      assertEquals(taken.body.errcode, "M_USER_IN_USE");
      const again = await s.request("POST", REGISTER, {
        body: { username: "USER-UPPER", password: "x" },
      });
      assertEquals(again.body.errcode, "M_USER_IN_USE");
    });

    await t.step("registration is idempotent within its session", async () => {
      for (const username of [undefined, "idem"]) {
        const body = { password: "s3kr1t", ...(username ? { username } : {}) };
        const first = await s.request("POST", REGISTER, { body });
        assertEquals(first.status, 401);
        const auth = { type: "m.login.dummy", session: first.body.session };
        const one = await s.request("POST", REGISTER, { body: { ...body, auth } });
        assertEquals(one.status, 200);
        const two = await s.request("POST", REGISTER, { body: { ...body, auth } });
        assertEquals(two.status, 200, JSON.stringify(two.body));
        assertEquals(two.body.user_id, one.body.user_id);
        assertNotEquals(two.body.access_token, one.body.access_token);
        const who = await s.request("GET", WHOAMI, { token: two.body.access_token });
        assertEquals(who.body.user_id, one.body.user_id);
      }
    });

    await t.step("a burst of one session's requests registers one account", async () => {
      const body = { username: "burst", password: "s3kr1t" };
      const first = await s.request("POST", REGISTER, { body });
      const auth = { type: "m.login.dummy", session: first.body.session };
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => s.request("POST", REGISTER, { body: { ...body, auth } })),
      );
      assertEquals(answers.map((a) => a.status), answers.map(() => 200));
      assertEquals(new Set(answers.map((a) => a.body.user_id)).size, 1);
      assertEquals(new Set(answers.map((a) => a.body.device_id)).size, 12, "a device each");
    });

    const kim = await s.register("kim", { password: "pw-kim" });
    await s.register("lee", { password: "pw-lee" });

    await t.step("every 401 lists the completed stages", async () => {
      const path = "/_matrix/client/v3/account/password";
      const first = await s.request("POST", path, {
        token: kim.accessToken,
        body: { new_password: "next" },
      });
      assertEquals(first.status, 401);
      assertEquals(first.body.completed, []);
      assertEquals(first.body.flows, [{ stages: ["m.login.password"] }]);
      const wrong = await s.request("POST", path, {
        token: kim.accessToken,
        body: { new_password: "next", auth: passwordAuth("kim", "nope", first.body.session) },
      });
      assertEquals([wrong.status, wrong.body.errcode], [401, "M_FORBIDDEN"]);
      assertEquals(wrong.body.completed, []);
      assertEquals(wrong.body.session, first.body.session);
    });

    await t.step("authenticating as another user is 403", async () => {
      const path = "/_matrix/client/v3/delete_devices";
      const body = { devices: [kim.deviceId] };
      const first = await s.request("POST", path, { token: kim.accessToken, body });
      assertEquals(first.status, 401);
      const asLee = await s.request("POST", path, {
        token: kim.accessToken,
        body: { ...body, auth: passwordAuth("lee", "pw-lee", first.body.session) },
      });
      assertEquals([asLee.status, asLee.body.errcode], [403, "M_FORBIDDEN"]);
      // Nothing was deleted.
      assertEquals((await s.request("GET", WHOAMI, { token: kim.accessToken })).status, 200);
    });

    await t.step("a session cannot change operation midway", async () => {
      const other = await s.login("kim", "pw-kim");
      const first = await s.request("POST", "/_matrix/client/v3/account/password", {
        token: kim.accessToken,
        body: { new_password: "next" },
      });
      const moved = await s.request("POST", "/_matrix/client/v3/delete_devices", {
        token: kim.accessToken,
        body: {
          devices: [other.deviceId],
          auth: passwordAuth("kim", "pw-kim", first.body.session),
        },
      });
      assertEquals([moved.status, moved.body.errcode], [403, "M_FORBIDDEN"]);
      assertEquals((await s.request("GET", WHOAMI, { token: other.accessToken })).status, 200);
      // The registration session of one account cannot register another.
      const reg = await s.request("POST", REGISTER, { body: { username: "mo", password: "p" } });
      const auth = { type: "m.login.dummy", session: reg.body.session };
      assertEquals((await s.request("POST", REGISTER, { body: { auth } })).status, 200);
      const second = await s.request("POST", REGISTER, {
        body: { username: "mo2", password: "p", auth },
      });
      assertEquals([second.status, second.body.errcode], [403, "M_FORBIDDEN"]);
      const free = await s.request("GET", `${REGISTER}/available?username=mo2`);
      assert(free.body.available);
    });

    await t.step("a session started for one device cannot delete another", async () => {
      const a = await s.login("kim", "pw-kim");
      const b = await s.login("kim", "pw-kim");
      const started = await s.request("DELETE", `/_matrix/client/v3/devices/${a.deviceId}`, {
        token: kim.accessToken,
        body: {},
      });
      assertEquals(started.status, 401);
      const other = await s.request("DELETE", `/_matrix/client/v3/devices/${b.deviceId}`, {
        token: kim.accessToken,
        body: { auth: passwordAuth("kim", "pw-kim", started.body.session) },
      });
      assertEquals([other.status, other.body.errcode], [403, "M_FORBIDDEN"]);
      assertEquals((await s.request("GET", WHOAMI, { token: b.accessToken })).status, 200);
      // The same for a list: the session is for that set of devices.
      const listed = await s.request("POST", "/_matrix/client/v3/delete_devices", {
        token: kim.accessToken,
        body: { devices: [a.deviceId] },
      });
      const widened = await s.request("POST", "/_matrix/client/v3/delete_devices", {
        token: kim.accessToken,
        body: {
          devices: [a.deviceId, b.deviceId],
          auth: passwordAuth("kim", "pw-kim", listed.body.session),
        },
      });
      assertEquals([widened.status, widened.body.errcode], [403, "M_FORBIDDEN"]);
      const same = await s.request("DELETE", `/_matrix/client/v3/devices/${a.deviceId}`, {
        token: kim.accessToken,
        body: { auth: passwordAuth("kim", "pw-kim", started.body.session) },
      });
      assertEquals(same.status, 200, JSON.stringify(same.body));
      assertEquals((await s.request("GET", WHOAMI, { token: a.accessToken })).status, 401);
    });
  } finally {
    await s.close();
  }
});
