/**
 * `POST /_matrix/client/v1/login/get_token` (v1.7) over real HTTP: off by default (404
 * M_UNRECOGNIZED, capability false, no `m.login.token` flow); when
 * `[auth.login_via_existing_session]` is on, the UIA round with a password, a token that signs
 * in a new device of the same user exactly once, a fresh UIA for every token, the per-user rate
 * limit, guests refused, malformed bodies answered with the spec's errors, and an expired token
 * refused.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";

const GET_TOKEN = "/_matrix/client/v1/login/get_token";
const V3 = "/_matrix/client/v3";

function getToken(server: TestServer, token: string, body: unknown = {}) {
  return server.request("POST", GET_TOKEN, { token, body });
}

function tokenLogin(server: TestServer, loginToken: string) {
  return server.request("POST", `${V3}/login`, {
    body: { type: "m.login.token", token: loginToken },
  });
}

async function capability(server: TestServer, token: string): Promise<unknown> {
  const res = await server.request("GET", `${V3}/capabilities`, { token });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.capabilities["m.get_login_token"];
}

async function loginFlows(server: TestServer): Promise<Record<string, unknown>[]> {
  const res = await server.request("GET", `${V3}/login`);
  assertEquals(res.status, 200);
  return res.body.flows;
}

Deno.test("get_token is off by default: 404 M_UNRECOGNIZED, capability false", async () => {
  const server = await startTestServer();
  try {
    const alice = await server.register("alice");
    const res = await getToken(server, alice.accessToken);
    assertEquals([res.status, res.body.errcode], [404, "M_UNRECOGNIZED"]);
    assertEquals(await capability(server, alice.accessToken), { enabled: false });
    const flows = await loginFlows(server);
    assertEquals(flows.map((flow) => flow.type), ["m.login.password"]);
  } finally {
    await server.close();
  }
});

Deno.test("get_token with user-interactive auth signs in another device once", async (t) => {
  const server = await startTestServer({
    config: {
      auth: { login_via_existing_session: { enabled: true } },
      registration: { allow_guests: true },
    },
  });
  try {
    const alice = await server.register("alice");
    let loginToken = "";

    await t.step("capability and GET /login advertise it", async () => {
      assertEquals(await capability(server, alice.accessToken), { enabled: true });
      const flows = await loginFlows(server);
      assertEquals(flows.find((flow) => flow.type === "m.login.token"), {
        type: "m.login.token",
        get_login_token: true,
      });
    });

    await t.step("an access token is required", async () => {
      const res = await server.request("POST", GET_TOKEN, { body: {} });
      assertEquals([res.status, res.body.errcode], [401, "M_MISSING_TOKEN"]);
    });

    await t.step("malformed bodies get the spec's errors", async () => {
      const cases: [unknown, string][] = [
        ["not json", "M_NOT_JSON"],
        ["[]", "M_NOT_JSON"],
        [{ auth: "password" }, "M_BAD_JSON"],
        [{ auth: { type: 5 } }, "M_BAD_JSON"],
        [{ auth: { type: "m.login.password", identifier: "alice" } }, "M_BAD_JSON"],
      ];
      for (const [body, errcode] of cases) {
        const res = await getToken(server, alice.accessToken, body);
        assertEquals([res.status, res.body?.errcode], [400, errcode], JSON.stringify(body));
      }
    });

    await t.step("the first round is a 401 with the password flow", async () => {
      const first = await getToken(server, alice.accessToken);
      assertEquals(first.status, 401, JSON.stringify(first.body));
      assertEquals(first.body.flows, [{ stages: ["m.login.password"] }]);
      assertEquals(first.body.completed, []);
      assert(typeof first.body.session === "string" && first.body.session.length > 0);
      assertEquals(first.body.login_token, undefined);

      const wrong = await getToken(server, alice.accessToken, {
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: "not-the-password",
          session: first.body.session,
        },
      });
      assertEquals([wrong.status, wrong.body.errcode], [401, "M_FORBIDDEN"]);

      const auth = {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "alice" },
        password: alice.password,
        session: first.body.session,
      };
      const done = await getToken(server, alice.accessToken, { auth });
      assertEquals(done.status, 200, JSON.stringify(done.body));
      assertEquals(done.body.expires_in_ms, 300_000);
      assert(typeof done.body.login_token === "string" && done.body.login_token.length >= 32);
      loginToken = done.body.login_token;

      // The session ended with the token: the next token needs a new confirmation.
      const again = await getToken(server, alice.accessToken, { auth });
      assertEquals([again.status, again.body.errcode], [400, "M_UNKNOWN"]);
      assertEquals(again.body.login_token, undefined);
    });

    await t.step("the token signs in a new device of the same user, once", async () => {
      const login = await tokenLogin(server, loginToken);
      assertEquals(login.status, 200, JSON.stringify(login.body));
      assertEquals(login.body.user_id, alice.userId);
      assert(login.body.device_id !== alice.deviceId);
      const whoami = await server.request("GET", `${V3}/account/whoami`, {
        token: login.body.access_token,
      });
      assertEquals([whoami.body.user_id, whoami.body.device_id], [
        alice.userId,
        login.body.device_id,
      ]);
      const devices = await server.request("GET", `${V3}/devices`, { token: alice.accessToken });
      assertEquals(devices.body.devices.length, 2);

      const replay = await tokenLogin(server, loginToken);
      assertEquals([replay.status, replay.body.errcode], [403, "M_FORBIDDEN"]);
    });

    await t.step("a second token within the minute is rate-limited", async () => {
      const first = await getToken(server, alice.accessToken);
      assertEquals(first.status, 401);
      const res = await getToken(server, alice.accessToken, {
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: alice.password,
          session: first.body.session,
        },
      });
      assertEquals([res.status, res.body.errcode], [429, "M_LIMIT_EXCEEDED"]);
      assert(res.body.retry_after_ms > 0 && res.body.retry_after_ms <= 60_000);
    });

    await t.step("another user has a bucket of their own", async () => {
      const bob = await server.register("bob");
      const first = await getToken(server, bob.accessToken);
      const res = await getToken(server, bob.accessToken, {
        auth: {
          type: "m.login.password",
          user: "bob",
          password: bob.password,
          session: first.body.session,
        },
      });
      assertEquals(res.status, 200, JSON.stringify(res.body));
    });

    await t.step("guests may not ask for tokens", async () => {
      const guest = await server.request("POST", `${V3}/register?kind=guest`, { body: {} });
      assertEquals(guest.status, 200, JSON.stringify(guest.body));
      const res = await getToken(server, guest.body.access_token);
      assertEquals([res.status, res.body.errcode], [403, "M_GUEST_ACCESS_FORBIDDEN"]);
      assertEquals(await capability(server, guest.body.access_token), { enabled: false });
    });
  } finally {
    await server.close();
  }
});

Deno.test("get_token without UIA (require_uia = false); an expired token is refused", async () => {
  const server = await startTestServer({
    config: {
      auth: {
        login_via_existing_session: { enabled: true, require_uia: false, token_lifetime_ms: 1000 },
      },
    },
  });
  try {
    const alice = await server.register("alice");
    const res = await getToken(server, alice.accessToken);
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body.expires_in_ms, 1000);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const login = await tokenLogin(server, res.body.login_token);
    assertEquals([login.status, login.body.errcode], [403, "M_FORBIDDEN"]);
  } finally {
    await server.close();
  }
});
