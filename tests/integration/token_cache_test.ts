/**
 * Access tokens are cached in memory after their first use (server/store/devices.ts): every
 * way a token stops being valid must still refuse it on the very next request. Each token here
 * is used (and so cached) before it is revoked.
 */
import { assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";

const V3 = "/_matrix/client/v3";
const WHOAMI = `${V3}/account/whoami`;

function passwordAuth(user: string, password: string, session: string) {
  return { type: "m.login.password", identifier: { type: "m.id.user", user }, password, session };
}

async function status(t: TestServer, token: string): Promise<number> {
  return (await t.request("GET", WHOAMI, { token })).status;
}

/** Uses the tokens twice each, so they are in the cache. */
async function warm(t: TestServer, ...users: TestUser[]): Promise<void> {
  for (const user of users) {
    assertEquals(await status(t, user.accessToken), 200);
    assertEquals(await status(t, user.accessToken), 200);
  }
}

/** Runs a UIA request with the password stage. */
async function withPassword(
  t: TestServer,
  user: TestUser,
  localpart: string,
  path: string,
  body: Record<string, unknown>,
  method = "POST",
) {
  const first = await t.request(method, path, { token: user.accessToken, body });
  assertEquals(first.status, 401);
  const done = await t.request(method, path, {
    token: user.accessToken,
    body: { ...body, auth: passwordAuth(localpart, user.password, first.body.session) },
  });
  assertEquals(done.status, 200, JSON.stringify(done.body));
}

Deno.test("token cache: every way of revoking a cached token refuses it at once", async () => {
  const t = await startTestServer();
  try {
    // logout
    const a = await t.register("amy");
    await warm(t, a);
    assertEquals((await t.request("POST", `${V3}/logout`, { token: a.accessToken })).status, 200);
    assertEquals(await status(t, a.accessToken), 401);

    // logout/all
    const b1 = await t.login("amy", a.password);
    const b2 = await t.login("amy", a.password);
    await warm(t, b1, b2);
    assertEquals(
      (await t.request("POST", `${V3}/logout/all`, { token: b1.accessToken })).status,
      200,
    );
    assertEquals(await status(t, b1.accessToken), 401);
    assertEquals(await status(t, b2.accessToken), 401);

    // DELETE /devices/{id} and POST /delete_devices
    const c1 = await t.login("amy", a.password);
    const c2 = await t.login("amy", a.password);
    const c3 = await t.login("amy", a.password);
    await warm(t, c1, c2, c3);
    await withPassword(t, c1, "amy", `${V3}/devices/${c2.deviceId}`, {}, "DELETE");
    assertEquals(await status(t, c2.accessToken), 401);
    await withPassword(t, c1, "amy", `${V3}/delete_devices`, { devices: [c3.deviceId] });
    assertEquals(await status(t, c3.accessToken), 401);
    assertEquals(await status(t, c1.accessToken), 200);

    // A login that reuses a device ID replaces that device's token.
    const d1 = await t.login("amy", a.password, { device_id: "SAME" });
    await warm(t, d1);
    const d2 = await t.login("amy", a.password, { device_id: "SAME" });
    assertEquals(await status(t, d1.accessToken), 401);
    assertEquals(await status(t, d2.accessToken), 200);

    // A password change logs out the other devices.
    await warm(t, c1, d2);
    await withPassword(t, c1, "amy", `${V3}/account/password`, { new_password: "changed-pw" });
    assertEquals(await status(t, d2.accessToken), 401);
    assertEquals(await status(t, c1.accessToken), 200);

    // /refresh replaces the access token.
    const r = await t.request("POST", `${V3}/login`, {
      body: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "amy" },
        password: "changed-pw",
        refresh_token: true,
      },
    });
    assertEquals(r.status, 200);
    assertEquals(await status(t, r.body.access_token), 200);
    assertEquals(await status(t, r.body.access_token), 200);
    const refreshed = await t.request("POST", `${V3}/refresh`, {
      body: { refresh_token: r.body.refresh_token },
    });
    assertEquals(refreshed.status, 200);
    assertEquals(await status(t, r.body.access_token), 401);
    assertEquals(await status(t, refreshed.body.access_token), 200);

    // Deactivation logs out everywhere.
    const e1 = await t.register("eve");
    const e2 = await t.login("eve", e1.password);
    await warm(t, e1, e2);
    await withPassword(t, e1, "eve", `${V3}/account/deactivate`, {});
    assertEquals(await status(t, e1.accessToken), 401);
    assertEquals(await status(t, e2.accessToken), 401);
  } finally {
    await t.close();
  }
});
