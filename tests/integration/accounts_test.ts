import { assert, assertEquals, assertNotEquals } from "../unit/assert.ts";
import { startTestServer, withTestServer } from "../support/test_server.ts";
import { createRegistrationToken } from "../../server/store/accounts.ts";

const LOGIN = "/_matrix/client/v3/login";
const REGISTER = "/_matrix/client/v3/register";
const WHOAMI = "/_matrix/client/v3/account/whoami";

function passwordAuth(user: string, password: string, session: string) {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password, session };
}

Deno.test("discovery: versions, well-known, capabilities", () =>
  withTestServer(async (t) => {
    const versions = await t.request("GET", "/_matrix/client/versions");
    assertEquals(versions.status, 200);
    assert(versions.body.versions.includes("v1.1"));
    const wk = await t.request("GET", "/.well-known/matrix/client");
    assertEquals(wk.body["m.homeserver"].base_url, "http://localhost:8008");
    const unauth = await t.request("GET", "/_matrix/client/v3/capabilities");
    assertEquals(unauth.status, 401);
    const alice = await t.register("alice");
    const caps = await t.request("GET", "/_matrix/client/v3/capabilities", {
      token: alice.accessToken,
    });
    assertEquals(caps.status, 200);
    const rv = caps.body.capabilities["m.room_versions"];
    assertEquals(rv.default, "12");
    assertEquals(rv.available["1"], "stable");
    assertEquals(caps.body.capabilities["m.change_password"].enabled, true);
    assertEquals(caps.body.capabilities["m.3pid_changes"].enabled, false);
  }));

Deno.test("register with the dummy flow, then whoami", () =>
  withTestServer(async (t) => {
    const first = await t.request("POST", REGISTER, { body: { username: "bob", password: "pw1" } });
    assertEquals(first.status, 401);
    assertEquals(first.body.flows, [{ stages: ["m.login.dummy"] }]);
    assert(typeof first.body.session === "string");
    const done = await t.request("POST", REGISTER, {
      body: {
        username: "bob",
        password: "pw1",
        device_id: "MYDEVICE",
        initial_device_display_name: "Laptop",
        auth: { type: "m.login.dummy", session: first.body.session },
      },
    });
    assertEquals(done.status, 200);
    assertEquals(done.body.user_id, "@bob:localhost");
    assertEquals(done.body.device_id, "MYDEVICE");
    const who = await t.request("GET", WHOAMI, { token: done.body.access_token });
    assertEquals(who.body, { user_id: "@bob:localhost", device_id: "MYDEVICE", is_guest: false });
    // The session has registered bob: it cannot register another name.
    const again = await t.request("POST", REGISTER, {
      body: {
        username: "bob2",
        password: "pw1",
        auth: { type: "m.login.dummy", session: first.body.session },
      },
    });
    assertEquals([again.status, again.body.errcode], [403, "M_FORBIDDEN"]);
    // Taken and invalid names are refused before authentication.
    const taken = await t.request("POST", REGISTER, { body: { username: "bob", password: "x" } });
    assertEquals(taken.body.errcode, "M_USER_IN_USE");
    const bad = await t.request("POST", REGISTER, { body: { username: "Bob!", password: "x" } });
    assertEquals(bad.body.errcode, "M_INVALID_USERNAME");
    const long = await t.request("POST", REGISTER, {
      body: { username: "a".repeat(250), password: "x" },
    });
    assertEquals(long.body.errcode, "M_INVALID_USERNAME");
    // inhibit_login
    const s = (await t.request("POST", REGISTER, { body: {} })).body.session;
    const quiet = await t.request("POST", REGISTER, {
      body: {
        username: "carol",
        password: "pw",
        inhibit_login: true,
        auth: { type: "m.login.dummy", session: s },
      },
    });
    assertEquals(quiet.status, 200);
    assertEquals(quiet.body.user_id, "@carol:localhost");
    assertEquals(quiet.body.access_token, undefined);
    // Guests are not supported.
    const guest = await t.request("POST", `${REGISTER}?kind=guest`, { body: {} });
    assertEquals(guest.status, 403);
  }));

Deno.test("registration disabled", () =>
  withTestServer(async (t) => {
    const res = await t.request("POST", REGISTER, { body: { username: "x", password: "y" } });
    assertEquals(res.status, 403);
    assertEquals(res.body.errcode, "M_FORBIDDEN");
  }, { registration: { enabled: false } }));

Deno.test("register with a registration token; uses are counted atomically", () =>
  withTestServer(async (t) => {
    const token = await createRegistrationToken(t.hs.kv, { usesAllowed: 2 });
    const validity = "/_matrix/client/v1/register/m.login.registration_token/validity";
    assertEquals((await t.request("GET", `${validity}?token=${token}`)).body, { valid: true });
    assertEquals((await t.request("GET", `${validity}?token=nope`)).body, { valid: false });

    const first = await t.request("POST", REGISTER, { body: {} });
    assertEquals(first.body.flows, [{ stages: ["m.login.registration_token"] }]);
    const wrong = await t.request("POST", REGISTER, {
      body: {
        username: "u0",
        password: "p",
        auth: { type: "m.login.registration_token", token: "bad", session: first.body.session },
      },
    });
    assertEquals(wrong.status, 401);
    assertEquals(wrong.body.errcode, "M_UNAUTHORIZED");

    // Three concurrent registrations with a two-use token: exactly two succeed.
    const sessions = await Promise.all(
      [1, 2, 3].map(async () => (await t.request("POST", REGISTER, { body: {} })).body.session),
    );
    const results = await Promise.all(sessions.map((session, i) =>
      t.request("POST", REGISTER, {
        body: {
          username: `tok${i}`,
          password: "p",
          auth: { type: "m.login.registration_token", token, session },
        },
      })
    ));
    assertEquals(results.filter((r) => r.status === 200).length, 2);
    assertEquals((await t.request("GET", `${validity}?token=${token}`)).body, { valid: false });
  }, { registration: { require_token: true } }));

Deno.test("concurrent registration of one name: exactly one wins", () =>
  withTestServer(async (t) => {
    const sessions = await Promise.all(
      [1, 2, 3, 4].map(async () => (await t.request("POST", REGISTER, { body: {} })).body.session),
    );
    const results = await Promise.all(sessions.map((session) =>
      t.request("POST", REGISTER, {
        body: { username: "race", password: "p", auth: { type: "m.login.dummy", session } },
      })
    ));
    assertEquals(results.filter((r) => r.status === 200).length, 1);
    for (const r of results.filter((r) => r.status !== 200)) {
      assertEquals(r.body.errcode, "M_USER_IN_USE");
    }
  }));

Deno.test("username availability", () =>
  withTestServer(async (t) => {
    await t.register("dora");
    const path = "/_matrix/client/v3/register/available?username=";
    assertEquals((await t.request("GET", `${path}free`)).body, { available: true });
    const taken = await t.request("GET", `${path}dora`);
    assertEquals([taken.status, taken.body.errcode], [400, "M_USER_IN_USE"]);
    const bad = await t.request("GET", `${path}${encodeURIComponent("D ra")}`);
    assertEquals(bad.body.errcode, "M_INVALID_USERNAME");
  }));

Deno.test("login, logout and logout/all", () =>
  withTestServer(async (t) => {
    const flows = await t.request("GET", LOGIN);
    assertEquals(flows.body.flows, [{ type: "m.login.password" }]);
    const erin = await t.register("erin", { password: "secret" });
    const byId = await t.login("@erin:localhost", "secret");
    const legacy = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "ERIN", password: "secret" },
    });
    assertEquals(legacy.status, 200);
    assertEquals(legacy.body.well_known["m.homeserver"].base_url, "http://localhost:8008");
    const wrong = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "erin", password: "nope" },
    });
    assertEquals([wrong.status, wrong.body.errcode], [403, "M_FORBIDDEN"]);
    const nobody = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "nobody", password: "nope" },
    });
    assertEquals(nobody.status, 403);

    assertEquals(
      (await t.request("POST", "/_matrix/client/v3/logout", { token: byId.accessToken }))
        .status,
      200,
    );
    const gone = await t.request("GET", WHOAMI, { token: byId.accessToken });
    assertEquals([gone.status, gone.body.errcode, gone.body.soft_logout], [
      401,
      "M_UNKNOWN_TOKEN",
      false,
    ]);
    assertEquals((await t.request("GET", WHOAMI, { token: erin.accessToken })).status, 200);

    const all = await t.request("POST", "/_matrix/client/v3/logout/all", {
      token: erin.accessToken,
    });
    assertEquals(all.status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: erin.accessToken })).status, 401);
    assertEquals((await t.request("GET", WHOAMI, { token: legacy.body.access_token })).status, 401);
    const devices = await t.login("erin", "secret");
    const list = await t.request("GET", "/_matrix/client/v3/devices", {
      token: devices.accessToken,
    });
    assertEquals(list.body.devices.length, 1);
  }));

Deno.test("login with a known device_id replaces its token", () =>
  withTestServer(async (t) => {
    const u = await t.register("fay", { deviceId: "PHONE" });
    const again = await t.login("fay", u.password, { device_id: "PHONE" });
    assertEquals(again.deviceId, "PHONE");
    assertEquals((await t.request("GET", WHOAMI, { token: u.accessToken })).status, 401);
    assertEquals((await t.request("GET", WHOAMI, { token: again.accessToken })).status, 200);
  }));

Deno.test("access token in the query string", () =>
  withTestServer(async (t) => {
    const u = await t.register("gus");
    const res = await t.request("GET", `${WHOAMI}?access_token=${u.accessToken}`);
    assertEquals(res.body.user_id, "@gus:localhost");
  }));

Deno.test("refresh tokens rotate and expire access tokens", () =>
  withTestServer(async (t) => {
    await t.register("hal", { password: "pw" });
    const res = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "hal", password: "pw", refresh_token: true },
    });
    assertEquals(res.status, 200);
    assert(typeof res.body.refresh_token === "string");
    assert(res.body.expires_in_ms > 0);
    const r1 = res.body.refresh_token;
    const a1 = res.body.access_token;

    const first = await t.request("POST", "/_matrix/client/v3/refresh", {
      body: { refresh_token: r1 },
    });
    assertEquals(first.status, 200);
    assertNotEquals(first.body.access_token, a1);
    assertEquals((await t.request("GET", WHOAMI, { token: a1 })).status, 401);
    // The old refresh token works again until the new tokens are used (lost response).
    const repeat = await t.request("POST", "/_matrix/client/v3/refresh", {
      body: { refresh_token: r1 },
    });
    assertEquals(repeat.status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: first.body.access_token })).status, 401);
    const who = await t.request("GET", WHOAMI, { token: repeat.body.access_token });
    assertEquals(who.body.user_id, "@hal:localhost");
    // Now r1 is revoked.
    const stale = await t.request("POST", "/_matrix/client/v3/refresh", {
      body: { refresh_token: r1 },
    });
    assertEquals([stale.status, stale.body.errcode, stale.body.soft_logout], [
      401,
      "M_UNKNOWN_TOKEN",
      false,
    ]);
    const next = await t.request("POST", "/_matrix/client/v3/refresh", {
      body: { refresh_token: repeat.body.refresh_token },
    });
    assertEquals(next.status, 200);
  }));

Deno.test("expired access token is a soft logout", () =>
  withTestServer(async (t) => {
    await t.register("ida", { password: "pw" });
    const res = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "ida", password: "pw", refresh_token: true },
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const who = await t.request("GET", WHOAMI, { token: res.body.access_token });
    assertEquals([who.status, who.body.errcode, who.body.soft_logout], [
      401,
      "M_UNKNOWN_TOKEN",
      true,
    ]);
    const refreshed = await t.request("POST", "/_matrix/client/v3/refresh", {
      body: { refresh_token: res.body.refresh_token },
    });
    assertEquals(refreshed.status, 200);
  }, { limits: { access_token_lifetime_ms: 1000 } }));

Deno.test("password change with UIA logs out the other devices", () =>
  withTestServer(async (t) => {
    const a = await t.register("jo", { password: "old-pw" });
    const b = await t.login("jo", "old-pw");
    const path = "/_matrix/client/v3/account/password";
    const first = await t.request("POST", path, {
      token: a.accessToken,
      body: { new_password: "new-pw" },
    });
    assertEquals(first.status, 401);
    assertEquals(first.body.flows, [{ stages: ["m.login.password"] }]);
    const session = first.body.session;
    const bad = await t.request("POST", path, {
      token: a.accessToken,
      body: { new_password: "new-pw", auth: passwordAuth("jo", "wrong", session) },
    });
    assertEquals([bad.status, bad.body.errcode], [401, "M_FORBIDDEN"]);
    assertEquals(bad.body.session, session);
    const ok = await t.request("POST", path, {
      token: a.accessToken,
      body: { new_password: "new-pw", auth: passwordAuth("@jo:localhost", "old-pw", session) },
    });
    assertEquals(ok.status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: b.accessToken })).status, 401);
    assertEquals((await t.request("GET", WHOAMI, { token: a.accessToken })).status, 200);
    const old = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "jo", password: "old-pw" },
    });
    assertEquals(old.status, 403);
    await t.login("jo", "new-pw");
  }));

Deno.test("UIA: a session cannot be used by another user or endpoint", () =>
  withTestServer(async (t) => {
    const a = await t.register("kim", { password: "pw" });
    const b = await t.register("lee", { password: "pw" });
    const path = "/_matrix/client/v3/account/password";
    const s = (await t.request("POST", path, { token: a.accessToken, body: { new_password: "x" } }))
      .body.session;
    const other = await t.request("POST", path, {
      token: b.accessToken,
      body: { new_password: "x", auth: passwordAuth("lee", "pw", s) },
    });
    assertEquals([other.status, other.body.errcode], [403, "M_FORBIDDEN"]);
    const asOther = await t.request("POST", path, {
      token: a.accessToken,
      body: { new_password: "x", auth: passwordAuth("lee", "pw", s) },
    });
    assertEquals([asOther.status, asOther.body.errcode], [403, "M_FORBIDDEN"]);
    const deactivate = await t.request("POST", "/_matrix/client/v3/account/deactivate", {
      token: a.accessToken,
      body: { auth: passwordAuth("kim", "pw", s) },
    });
    assertEquals([deactivate.status, deactivate.body.errcode], [403, "M_FORBIDDEN"]);
  }));

Deno.test("deactivation logs out everywhere and refuses login", () =>
  withTestServer(async (t) => {
    const a = await t.register("max", { password: "pw" });
    const b = await t.login("max", "pw");
    const path = "/_matrix/client/v3/account/deactivate";
    const s = (await t.request("POST", path, { token: a.accessToken, body: {} })).body.session;
    const res = await t.request("POST", path, {
      token: a.accessToken,
      body: { auth: passwordAuth("max", "pw", s) },
    });
    assertEquals(res.status, 200);
    assertEquals(res.body.id_server_unbind_result, "no-support");
    for (const token of [a.accessToken, b.accessToken]) {
      assertEquals((await t.request("GET", WHOAMI, { token })).status, 401);
    }
    const login = await t.request("POST", LOGIN, {
      body: { type: "m.login.password", user: "max", password: "pw" },
    });
    assertEquals(login.status, 403);
    assert(["M_USER_DEACTIVATED", "M_FORBIDDEN"].includes(login.body.errcode));
    const avail = await t.request("GET", "/_matrix/client/v3/register/available?username=max");
    assertEquals(avail.body.errcode, "M_USER_IN_USE");
  }));

Deno.test("devices: list, get, rename, delete with UIA", () =>
  withTestServer(async (t) => {
    const a = await t.register("ned", { password: "pw", deviceId: "AAA" });
    const b = await t.login("ned", "pw", {
      device_id: "BBB",
      initial_device_display_name: "Phone",
    });
    const c = await t.login("ned", "pw", { device_id: "CCC" });
    const token = a.accessToken;
    const list = await t.request("GET", "/_matrix/client/v3/devices", { token });
    assertEquals(
      list.body.devices.map((d: { device_id: string }) => d.device_id).sort(),
      ["AAA", "BBB", "CCC"],
    );
    const one = await t.request("GET", "/_matrix/client/v3/devices/BBB", { token });
    assertEquals(one.body.display_name, "Phone");
    assert(typeof one.body.last_seen_ts === "number");
    const missing = await t.request("GET", "/_matrix/client/v3/devices/ZZZ", { token });
    assertEquals([missing.status, missing.body.errcode], [404, "M_NOT_FOUND"]);

    const rename = await t.request("PUT", "/_matrix/client/v3/devices/BBB", {
      token,
      body: { display_name: "Old phone" },
    });
    assertEquals(rename.status, 200);
    assertEquals(
      (await t.request("GET", "/_matrix/client/v3/devices/BBB", { token })).body.display_name,
      "Old phone",
    );
    const tooLong = await t.request("PUT", "/_matrix/client/v3/devices/BBB", {
      token,
      body: { display_name: "x".repeat(300) },
    });
    assertEquals(tooLong.body.errcode, "M_BAD_JSON");

    const del = await t.request("DELETE", "/_matrix/client/v3/devices/BBB", { token });
    assertEquals(del.status, 401);
    const done = await t.request("DELETE", "/_matrix/client/v3/devices/BBB", {
      token,
      body: { auth: passwordAuth("ned", "pw", del.body.session) },
    });
    assertEquals(done.status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: b.accessToken })).status, 401);

    const bulk = await t.request("POST", "/_matrix/client/v3/delete_devices", {
      token,
      body: { devices: ["CCC", "NOPE"] },
    });
    assertEquals(bulk.status, 401);
    const bulkDone = await t.request("POST", "/_matrix/client/v3/delete_devices", {
      token,
      body: { devices: ["CCC", "NOPE"], auth: passwordAuth("ned", "pw", bulk.body.session) },
    });
    assertEquals(bulkDone.status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: c.accessToken })).status, 401);
    const left = await t.request("GET", "/_matrix/client/v3/devices", { token });
    assertEquals(left.body.devices.map((d: { device_id: string }) => d.device_id), ["AAA"]);
  }));

Deno.test("restart: accounts survive closing and reopening the KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-restart-" });
  try {
    const first = await startTestServer({ dataDir: dir });
    const u = await first.register("olga", { password: "pw" });
    await first.close();
    const second = await startTestServer({ dataDir: dir });
    try {
      assertEquals((await second.request("GET", WHOAMI, { token: u.accessToken })).status, 200);
      const again = await second.login("olga", "pw");
      assertEquals(again.userId, "@olga:localhost");
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
