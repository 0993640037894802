/**
 * Issue 11, authentication and the directory: a malformed `auth` of user-interactive
 * authentication or a malformed login body is a 400 (never a 500) and changes nothing; aliases
 * and directory visibility are guarded as Synapse guards them; a password reset by the CLI (a
 * separate process on the same data directory) refuses the old access tokens at once.
 */
import { assert, assertEquals } from "../unit/assert.ts";
import {
  startTestServer,
  type TestServer,
  type TestUser,
  withTestServer,
} from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { tokenCache } from "../../server/store/token_cache.ts";
import { accountKeys, secretHash } from "../../server/store/kv_store.ts";
import { CrossSigning } from "./e2ee_support.ts";
import { createRoom, enc, roomPost, V3 } from "./rooms_support.ts";

const WHOAMI = `${V3}/account/whoami`;

/** `auth` values of the wrong shape, each with what the answer's message must name. */
function malformedAuths(user: TestUser): [unknown, string][] {
  const password = (extra: Record<string, unknown>) => ({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: user.userId },
    password: user.password,
    ...extra,
  });
  return [
    ["not an object", "'auth'"],
    [42, "'auth'"],
    [["m.login.password"], "'auth'"],
    [{ type: {} }, "'auth.type'"],
    // An object whose conversion to a string throws: this was a 500.
    [{ type: { toString: 1 } }, "'auth.type'"],
    [{ type: 7 }, "'auth.type'"],
    [{ type: ["m.login.password"] }, "'auth.type'"],
    [{ type: "m.login.dummy", session: 5 }, "'auth.session'"],
    [{ session: { id: "x" } }, "'auth.session'"],
    [password({ identifier: "@someone:localhost" }), "'auth.identifier'"],
    [password({ identifier: [user.userId] }), "'auth.identifier'"],
    [password({ identifier: { user: user.userId } }), "'auth.identifier.type'"],
    [password({ identifier: { type: {}, user: user.userId } }), "'auth.identifier.type'"],
    [password({ identifier: { type: "m.id.user", user: { id: 1 } } }), "'auth.identifier.user'"],
    [password({ password: { secret: user.password } }), "'auth.password'"],
    [password({ password: 12345 }), "'auth.password'"],
    [{ type: "m.login.password", user: 5, password: user.password }, "'auth.user'"],
    [{ type: "m.login.registration_token", token: {} }, "'auth.token'"],
  ];
}

async function expectBadJson(
  t: TestServer,
  request: { method: string; path: string; token?: string; body: Record<string, unknown> },
  auth: unknown,
  names: string,
): Promise<void> {
  const res = await t.request(request.method, request.path, {
    token: request.token,
    body: { ...request.body, auth },
  });
  const what = `${request.method} ${request.path} auth=${JSON.stringify(auth)}`;
  assertEquals([res.status, res.body?.errcode], [400, "M_BAD_JSON"], what);
  assert(String(res.body.error).includes(names), `${what}: ${res.body.error}`);
}

Deno.test("UIA: a malformed auth is 400 M_BAD_JSON on every endpoint and changes nothing", () =>
  withTestServer(async (t) => {
    const pat = await t.register("pat");
    const other = await t.login("pat", pat.password);
    const keys = await CrossSigning.create(pat.userId);
    const first = await t.request("POST", `${V3}/keys/device_signing/upload`, {
      token: pat.accessToken,
      body: await keys.uploadBody(),
    });
    assertEquals(first.status, 200, JSON.stringify(first.body));
    const replacement = await (await CrossSigning.create(pat.userId)).uploadBody();
    const token = pat.accessToken;
    const requests = [
      {
        method: "POST",
        path: `${V3}/register`,
        body: { username: "newcomer", password: "a-password" },
      },
      { method: "DELETE", path: `${V3}/devices/${other.deviceId}`, token, body: {} },
      { method: "POST", path: `${V3}/delete_devices`, token, body: { devices: [other.deviceId] } },
      { method: "POST", path: `${V3}/account/password`, token, body: { new_password: "new-pw" } },
      { method: "POST", path: `${V3}/account/deactivate`, token, body: {} },
      { method: "POST", path: `${V3}/keys/device_signing/upload`, token, body: replacement },
    ];
    for (const request of requests) {
      for (const [auth, names] of malformedAuths(pat)) {
        await expectBadJson(t, request, auth, names);
      }
    }
    // Nothing happened: no account, both devices, the old password, the old master key.
    const available = await t.request("GET", `${V3}/register/available?username=newcomer`);
    assertEquals(available.status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: other.accessToken })).status, 200);
    await t.login("pat", pat.password);
    const query = await t.request("POST", `${V3}/keys/query`, {
      token,
      body: { device_keys: { [pat.userId]: [] } },
    });
    assertEquals(
      query.body.master_keys[pat.userId].keys,
      (await keys.uploadBody()).master_key.keys,
    );

    // Well-formed auth still runs the stages: an unknown type is the spec's 401 with flows.
    const unknown = await t.request("POST", `${V3}/account/deactivate`, {
      token,
      body: { auth: { type: "m.login.sso" } },
    });
    assertEquals([unknown.status, unknown.body.errcode], [401, "M_UNRECOGNIZED"]);
    assertEquals(unknown.body.flows, [{ stages: ["m.login.password"] }]);
    const missing = await t.request("POST", `${V3}/account/deactivate`, {
      token,
      body: { auth: { type: "m.login.password", session: unknown.body.session } },
    });
    assertEquals([missing.status, missing.body.errcode], [401, "M_MISSING_PARAM"]);
  }));

Deno.test("login: fields of the wrong type are 400 M_BAD_JSON", () =>
  withTestServer(async (t) => {
    const pat = await t.register("pat");
    const bodies: Record<string, unknown>[] = [
      { type: { t: 1 }, identifier: { type: "m.id.user", user: "pat" }, password: pat.password },
      { type: "m.login.password", identifier: "pat", password: pat.password },
      { type: "m.login.password", identifier: ["pat"], password: pat.password },
      { type: "m.login.password", identifier: { type: {}, user: "pat" }, password: pat.password },
      { type: "m.login.password", identifier: { type: 1, user: "pat" }, password: pat.password },
      { type: "m.login.password", identifier: { user: "pat" }, password: pat.password },
      { type: "m.login.password", identifier: { type: "m.id.user", user: 7 }, password: "x" },
      { type: "m.login.password", identifier: { type: "m.id.user" }, password: pat.password },
      { type: "m.login.password", identifier: { type: "m.id.user", user: "pat" }, password: {} },
      { type: "m.login.password", user: ["pat"], password: pat.password },
      {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "pat" },
        password: pat.password,
        refresh_token: "yes",
      },
    ];
    for (const body of bodies) {
      const res = await t.request("POST", `${V3}/login`, { body });
      assertEquals([res.status, res.body?.errcode], [400, "M_BAD_JSON"], JSON.stringify(body));
    }
    // A well-formed identifier of a kind this server does not hold is still refused as before.
    const phone = await t.request("POST", `${V3}/login`, {
      body: {
        type: "m.login.password",
        identifier: { type: "m.id.phone", country: "LU", phone: "123" },
        password: pat.password,
      },
    });
    assertEquals(phone.status, 403);
  }));

Deno.test("aliases: only room members (or server admins) may create one", () =>
  withTestServer(async (t) => {
    const owner = await t.register("owner");
    const squatter = await t.register("squatter");
    const invitee = await t.register("invitee");
    const admin = await t.register("admin");
    await updateUser(t.hs.kv, admin.userId, (user) => ({ ...user, admin: true }));
    const roomId = await createRoom(t, owner, { preset: "private_chat" });
    assertEquals(
      (await roomPost(t, owner, roomId, "invite", { user_id: invitee.userId })).status,
      200,
    );

    const put = (user: TestUser, alias: string) =>
      t.request("PUT", `${V3}/directory/room/${enc(alias)}`, {
        token: user.accessToken,
        body: { room_id: roomId },
      });
    const resolve = (alias: string) => t.request("GET", `${V3}/directory/room/${enc(alias)}`);

    const squat = await put(squatter, "#squatted:localhost");
    assertEquals([squat.status, squat.body.errcode], [403, "M_FORBIDDEN"]);
    assertEquals((await resolve("#squatted:localhost")).status, 404);
    const invited = await put(invitee, "#invited:localhost");
    assertEquals([invited.status, invited.body.errcode], [403, "M_FORBIDDEN"]);
    assertEquals((await resolve("#invited:localhost")).status, 404);
    const aliases = await t.request("GET", `${V3}/rooms/${enc(roomId)}/aliases`, {
      token: owner.accessToken,
    });
    assertEquals(aliases.body.aliases, []);

    // A member may; so may a server admin from outside (as in Synapse).
    assertEquals((await put(owner, "#ours:localhost")).status, 200);
    assertEquals((await resolve("#ours:localhost")).body.room_id, roomId);
    assertEquals((await put(admin, "#admins:localhost")).status, 200);
    assertEquals((await resolve("#admins:localhost")).body.room_id, roomId);
    // The squatter, once joined, may too.
    assertEquals(
      (await roomPost(t, owner, roomId, "invite", { user_id: squatter.userId })).status,
      200,
    );
    assertEquals((await roomPost(t, squatter, roomId, "join")).status, 200);
    assertEquals((await put(squatter, "#joined:localhost")).status, 200);
  }));

Deno.test("aliases and directory visibility: a moderator who left loses the power", () =>
  withTestServer(async (t) => {
    const owner = await t.register("owner");
    const mod = await t.register("mod");
    const roomId = await createRoom(t, owner, {
      preset: "public_chat",
      power_level_content_override: { users: { [mod.userId]: 50 } },
    });
    assertEquals((await roomPost(t, mod, roomId, "join")).status, 200);
    const aliasPath = `${V3}/directory/room/${enc("#lobby:localhost")}`;
    const created = await t.request("PUT", aliasPath, {
      token: owner.accessToken,
      body: { room_id: roomId },
    });
    assertEquals(created.status, 200);
    const listPath = `${V3}/directory/list/room/${enc(roomId)}`;
    const publish = (user: TestUser, visibility: string) =>
      t.request("PUT", listPath, { token: user.accessToken, body: { visibility } });

    // While joined, the moderator may publish (power to send m.room.canonical_alias).
    assertEquals((await publish(mod, "public")).status, 200);
    assertEquals((await roomPost(t, mod, roomId, "leave")).status, 200);
    // The power level stays in the room's state after leaving; it no longer counts.
    const unpublish = await publish(mod, "private");
    assertEquals([unpublish.status, unpublish.body.errcode], [403, "M_FORBIDDEN"]);
    assertEquals((await t.request("GET", listPath)).body.visibility, "public");
    const deleted = await t.request("DELETE", aliasPath, { token: mod.accessToken });
    assertEquals([deleted.status, deleted.body.errcode], [403, "M_FORBIDDEN"]);
    assertEquals((await t.request("GET", aliasPath)).body.room_id, roomId);

    // A joined member without the power may neither publish nor delete others' aliases.
    const member = await t.register("member");
    assertEquals((await roomPost(t, member, roomId, "join")).status, 200);
    assertEquals((await publish(member, "private")).status, 403);
    assertEquals((await t.request("DELETE", aliasPath, { token: member.accessToken })).status, 403);
    // Joined again, the moderator may.
    assertEquals((await roomPost(t, mod, roomId, "join")).status, 200);
    assertEquals((await publish(mod, "private")).status, 200);
    assertEquals((await t.request("DELETE", aliasPath, { token: mod.accessToken })).status, 200);
  }));

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("token cache: a password reset by the CLI refuses old tokens on the next request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-reset-" });
  const dataDir = `${dir}/data`;
  const t = await startTestServer({ dataDir });
  try {
    const bob = await t.register("bob");
    const other = await t.login("bob", bob.password);
    const amy = await t.register("amy");
    // Used twice each, so they are in the running server's token cache.
    for (const user of [bob, other, amy, bob, other, amy]) {
      assertEquals((await t.request("GET", WHOAMI, { token: user.accessToken })).status, 200);
    }
    for (const user of [bob, other, amy]) {
      const cached = tokenCache(t.hs.kv).get(secretHash(user.accessToken));
      assert(cached !== null, "the token is served from the cache before the reset");
    }
    // A server killed a minute ago left its acknowledgement behind (KV returns expired entries
    // until its sweep): the CLI must not wait for it.
    await t.hs.kv.set(accountKeys.tokenEpochSeen("gone.1"), { marks: "", at: Date.now() - 60_000 });
    const configPath = `${dir}/gemeng.toml`;
    await Deno.writeTextFile(configPath, `server_name = "localhost"\ndata_dir = "${dataDir}"\n`);
    const reset = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "user", "reset-password", "bob", "--password", "pw-new"]
        .concat(["--config", configPath]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(reset.stderr);
    assertEquals(reset.code, 0, stderr);
    assert(!stderr.includes("did not confirm"), stderr);

    for (const user of [bob, other]) {
      const res = await t.request("GET", WHOAMI, { token: user.accessToken });
      assertEquals([res.status, res.body.errcode], [401, "M_UNKNOWN_TOKEN"]);
    }
    // Other users' cached tokens keep working (read again once), and the new password works.
    assertEquals((await t.request("GET", WHOAMI, { token: amy.accessToken })).status, 200);
    const fresh = await t.login("bob", "pw-new");
    assertEquals((await t.request("GET", WHOAMI, { token: fresh.accessToken })).status, 200);
    assertEquals((await t.request("GET", WHOAMI, { token: fresh.accessToken })).status, 200);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});
