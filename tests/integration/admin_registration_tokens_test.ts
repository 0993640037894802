/**
 * The registration token admin API over real HTTP, against real registrations with
 * `m.login.registration_token`: create (given, generated, bad input), list with the `valid`
 * filter, `pending` and `completed` as registrations use a token, update, delete, a token made
 * before tokens were kept (by its hash), 403 for non-admins, and the audit log.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { createUser, updateUser } from "../../server/store/accounts.ts";
import { accountKeys, secretHash } from "../../server/store/kv_store.ts";
import { hashPassword } from "../../crypto/password.ts";

const BASE = "/_synapse/admin/v1/registration_tokens";
const REGISTER = "/_matrix/client/v3/register";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Starts a registration and returns its session (the token stage not done yet). */
async function startRegistration(server: TestServer, username: string): Promise<string> {
  const first = await server.request("POST", REGISTER, {
    body: { username, password: `pw-${username}` },
  });
  assertEquals(first.status, 401);
  return first.body.session;
}

async function registerWith(server: TestServer, username: string, token: string) {
  const session = await startRegistration(server, username);
  return await server.request("POST", REGISTER, {
    body: {
      username,
      password: `pw-${username}`,
      auth: { type: "m.login.registration_token", token, session },
    },
  });
}

Deno.test("admin registration tokens API", async (t) => {
  const server = await startTestServer({
    config: { registration: { enabled: true, require_token: true } },
  });
  try {
    const adminId = `@root:${server.serverName}`;
    await createUser(server.hs.kv, {
      userId: adminId,
      passwordHash: await hashPassword("root-pw", { cost: { ln: 4, r: 8, p: 1 } }),
      admin: true,
    });
    const root = await server.login("root", "root-pw");
    const token = root.accessToken;
    await createUser(server.hs.kv, {
      userId: `@mallory:${server.serverName}`,
      passwordHash: await hashPassword("m-pw", { cost: { ln: 4, r: 8, p: 1 } }),
    });
    const mallory = await server.login("mallory", "m-pw");

    await t.step("non-admins are refused", async () => {
      for (
        const [method, path] of [
          ["GET", BASE],
          ["POST", `${BASE}/new`],
          ["GET", `${BASE}/abc`],
          ["PUT", `${BASE}/abc`],
          ["DELETE", `${BASE}/abc`],
        ]
      ) {
        const res = await server.request(method, path, {
          token: mallory.accessToken,
          body: method === "GET" ? undefined : {},
        });
        assertEquals(res.status, 403, `${method} ${path}`);
        assertEquals(res.body.errcode, "M_FORBIDDEN");
      }
      assertEquals((await server.request("GET", BASE)).status, 401);
    });

    await t.step("create, use, count, filter, update, delete", async () => {
      const made = await server.request("POST", `${BASE}/new`, {
        token,
        body: { token: "commune-2026", uses_allowed: 1 },
      });
      assertEquals(made.status, 200, JSON.stringify(made.body));
      assertEquals(made.body, {
        token: "commune-2026",
        uses_allowed: 1,
        pending: 0,
        completed: 0,
        expiry_time: null,
      });
      const generated = await server.request("POST", `${BASE}/new`, {
        token,
        body: { length: 40 },
      });
      assertEquals(generated.status, 200);
      assert(/^[A-Za-z0-9]{40}$/.test(generated.body.token), generated.body.token);
      const defaults = await server.request("POST", `${BASE}/new`, { token, body: {} });
      assertEquals(defaults.body.token.length, 16);
      assertEquals(defaults.body.uses_allowed, null);

      // A registration that passed the token stage but lacks its password is pending.
      const session = await startRegistration(server, "pending-user");
      const half = await server.request("POST", REGISTER, {
        body: {
          username: "pending-user",
          auth: { type: "m.login.registration_token", token: "commune-2026", session },
        },
      });
      assertEquals(half.status, 400, JSON.stringify(half.body));
      const pending = await server.request("GET", `${BASE}/commune-2026`, { token });
      assertEquals(pending.body.pending, 1);
      assertEquals(pending.body.completed, 0);

      const ok = await registerWith(server, "anna", "commune-2026");
      assertEquals(ok.status, 200, JSON.stringify(ok.body));
      const used = await server.request("GET", `${BASE}/commune-2026`, { token });
      assertEquals(used.body.completed, 1);
      const refused = await registerWith(server, "bert", "commune-2026");
      assertEquals(refused.status, 401, "one use allowed");

      const invalid = await server.request("GET", `${BASE}?valid=false`, { token });
      assertEquals(invalid.body.registration_tokens.map((x: Json) => x.token), ["commune-2026"]);
      const valid = await server.request("GET", `${BASE}?valid=true`, { token });
      assertEquals(valid.body.registration_tokens.length, 2);
      const all = await server.request("GET", BASE, { token });
      assertEquals(all.body.registration_tokens.length, 3);

      const raised = await server.request("PUT", `${BASE}/commune-2026`, {
        token,
        body: { uses_allowed: 5, expiry_time: Date.now() + 3600_000 },
      });
      assertEquals(raised.status, 200);
      assertEquals(raised.body.uses_allowed, 5);
      assertEquals(raised.body.completed, 1);
      assert(raised.body.expiry_time > Date.now());
      assertEquals((await registerWith(server, "bert", "commune-2026")).status, 200);
      const unlimited = await server.request("PUT", `${BASE}/commune-2026`, {
        token,
        body: { uses_allowed: null },
      });
      assertEquals(unlimited.body.uses_allowed, null);
      assert(unlimited.body.expiry_time !== null, "a field left out stays");

      const gone = await server.request("DELETE", `${BASE}/commune-2026`, { token });
      assertEquals(gone.status, 200);
      assertEquals(gone.body, {});
      assertEquals((await registerWith(server, "carl", "commune-2026")).status, 401);
      assertEquals((await server.request("GET", `${BASE}/commune-2026`, { token })).status, 404);
      assertEquals((await server.request("DELETE", `${BASE}/commune-2026`, { token })).status, 404);
    });

    await t.step("bad input changes nothing", async () => {
      const before = (await server.request("GET", BASE, { token })).body.registration_tokens.length;
      const cases: unknown[] = [
        { token: "has space" },
        { token: "x".repeat(65) },
        { token: 5 },
        { length: 0 },
        { length: 65 },
        { length: "10" },
        { uses_allowed: -1 },
        { uses_allowed: 1.5 },
        { expiry_time: 1 },
        { expiry_time: "tomorrow" },
        { token: "abc", length: 3 },
      ];
      for (const body of cases) {
        const res = await server.request("POST", `${BASE}/new`, { token, body });
        assertEquals(res.status, 400, JSON.stringify(body));
        assertEquals(res.body.errcode, "M_INVALID_PARAM", JSON.stringify(body));
      }
      const notJson = await server.request("POST", `${BASE}/new`, { token, body: "{" });
      assertEquals(notJson.status, 400);
      await server.request("POST", `${BASE}/new`, { token, body: { token: "twice" } });
      const dup = await server.request("POST", `${BASE}/new`, { token, body: { token: "twice" } });
      assertEquals(dup.status, 400);
      assertEquals(dup.body.errcode, "M_INVALID_PARAM");
      const after = (await server.request("GET", BASE, { token })).body.registration_tokens.length;
      assertEquals(after, before + 1, "only the first 'twice' was made");
      const badUpdate = await server.request("PUT", `${BASE}/twice`, {
        token,
        body: { completed: 0 },
      });
      assertEquals(badUpdate.status, 400);
      const badValid = await server.request("GET", `${BASE}?valid=yes`, { token });
      assertEquals(badValid.status, 400);
      const badName = await server.request("GET", `${BASE}/${encodeURIComponent("a b")}`, {
        token,
      });
      assertEquals(badName.status, 400);
    });

    await t.step("a token made before tokens were kept is known by its hash", async () => {
      const hash = secretHash("old-secret-token");
      await server.hs.kv.set(accountKeys.registrationToken(hash), {
        usesAllowed: 3,
        completed: 1,
        expiryTs: null,
        createdTs: 1,
      });
      const all = await server.request("GET", BASE, { token });
      const old = all.body.registration_tokens[0];
      assertEquals(old.token, `sha256:${hash}`);
      assertEquals(old.completed, 1);
      assertEquals((await registerWith(server, "dora", "old-secret-token")).status, 200);
      const name = encodeURIComponent(`sha256:${hash}`);
      assertEquals((await server.request("GET", `${BASE}/${name}`, { token })).body.completed, 2);
      assertEquals((await server.request("DELETE", `${BASE}/${name}`, { token })).status, 200);
      assertEquals((await registerWith(server, "emil", "old-secret-token")).status, 401);
    });

    await t.step("audited", async () => {
      await updateUser(server.hs.kv, adminId, (user) => user); // the admin still exists
      const log = await server.request(
        "GET",
        "/_synapse/admin/v1/gemeng/audit_log?action=registration_token&dir=f",
        { token },
      );
      const actions = log.body.entries.map((e: Json) => `${e.action} ${e.target}`);
      assertEquals(actions.slice(0, 1), ["registration_token.create commune-2026"]);
      assert(actions.includes("registration_token.update commune-2026"));
      assert(actions.includes("registration_token.delete commune-2026"));
      assertEquals(log.body.entries[0].actor, adminId);
    });
  } finally {
    await server.close();
  }
});
