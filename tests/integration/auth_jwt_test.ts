/**
 * JWT login (`org.matrix.login.jwt`, `[auth.jwt]`) over real HTTP: good tokens log in and create
 * the account once; badly signed, expired, early, foreign-issuer, foreign-audience tokens and
 * algorithm swaps are refused with 403 M_FORBIDDEN and create nothing.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { startTestServer, type TestServer } from "../support/test_server.ts";

const SECRET = "a-shared-secret-of-the-issuer-0123456789";
const secretKey = new TextEncoder().encode(SECRET);

function hsToken(
  claims: Record<string, unknown>,
  options: { key?: Uint8Array; alg?: string } = {},
) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? "HS256" });
  if (!("exp" in claims)) jwt.setExpirationTime("5m");
  return jwt.sign(options.key ?? secretKey);
}

function jwtLogin(server: TestServer, token: string, extra: Record<string, unknown> = {}) {
  return server.request("POST", "/_matrix/client/v3/login", {
    body: { type: "org.matrix.login.jwt", token, ...extra },
  });
}

async function userExists(server: TestServer, localpart: string): Promise<boolean> {
  return (await server.hs.kv.get(["user", `@${localpart}:localhost`])).value !== null;
}

Deno.test("JWT login with a shared secret, issuer and audience", async (t) => {
  const server = await startTestServer({
    config: {
      auth: {
        jwt: {
          enabled: true,
          algorithm: "HS256",
          secret: SECRET,
          issuer: "https://id.commune.lu",
          audiences: ["gemeng", "other"],
        },
      },
    },
  });
  const good = { sub: "Alice", iss: "https://id.commune.lu", aud: "gemeng" };
  try {
    await t.step("GET /login offers the JWT type next to passwords", async () => {
      const res = await server.request("GET", "/_matrix/client/v3/login");
      const types = res.body.flows.map((flow: { type: string }) => flow.type);
      assert(types.includes("m.login.password"));
      assert(types.includes("org.matrix.login.jwt"));
    });

    await t.step("a good token creates the account and logs in; the next reuses it", async () => {
      const first = await jwtLogin(server, await hsToken(good), { device_id: "PHONE" });
      assertEquals(first.status, 200, JSON.stringify(first.body));
      assertEquals(first.body.user_id, "@alice:localhost");
      assertEquals(first.body.device_id, "PHONE");
      const whoami = await server.request("GET", "/_matrix/client/v3/account/whoami", {
        token: first.body.access_token,
      });
      assertEquals(whoami.body.user_id, "@alice:localhost");
      const profile = await server.request("GET", "/_matrix/client/v3/profile/@alice:localhost");
      assertEquals(profile.status, 200);
      const second = await jwtLogin(server, await hsToken({ ...good, aud: ["x", "other"] }));
      assertEquals(second.status, 200, JSON.stringify(second.body));
      assertEquals(second.body.user_id, "@alice:localhost");
      assert(second.body.device_id !== "PHONE");
    });

    const now = Math.floor(Date.now() / 1000);
    const refused: [string, () => Promise<string>][] = [
      ["another secret", () => hsToken(good, { key: new TextEncoder().encode("x".repeat(40)) })],
      ["expired", () => hsToken({ ...good, sub: "bob", exp: now - 3600 })],
      ["not valid yet", () => hsToken({ ...good, sub: "bob", nbf: now + 3600 })],
      ["another issuer", () => hsToken({ ...good, sub: "bob", iss: "https://evil.example" })],
      ["no issuer", () => hsToken({ sub: "bob", aud: "gemeng" })],
      ["another audience", () => hsToken({ ...good, sub: "bob", aud: "elsewhere" })],
      ["no audience", () => hsToken({ sub: "bob", iss: good.iss })],
      ["HS512 instead of HS256", () => hsToken({ ...good, sub: "bob" }, { alg: "HS512" })],
      ["no subject", () => hsToken({ iss: good.iss, aud: "gemeng" })],
      ["a subject that is no user name", () => hsToken({ ...good, sub: "b ob!" })],
      ["unsigned (alg none)", async () => {
        const [head, body] = (await hsToken({ ...good, sub: "bob" })).split(".");
        const none = btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "");
        return `${none}.${body}.`.replace(head, none);
      }],
      ["garbage", () => Promise.resolve("not.a.jwt")],
    ];
    for (const [name, make] of refused) {
      await t.step(`refused: ${name}`, async () => {
        const res = await jwtLogin(server, await make());
        assertEquals(res.status, 403, JSON.stringify(res.body));
        assertEquals(res.body.errcode, "M_FORBIDDEN");
      });
    }
    await t.step("nothing was created by the refused tokens", async () => {
      assertEquals(await userExists(server, "bob"), false);
    });

    await t.step("a missing or oversized token is a bad request", async () => {
      const missing = await server.request("POST", "/_matrix/client/v3/login", {
        body: { type: "org.matrix.login.jwt" },
      });
      assertEquals(missing.status, 400);
      const huge = await jwtLogin(server, "a".repeat(9000));
      assertEquals(huge.status, 400);
    });

    await t.step("a deactivated account cannot come back through JWT", async () => {
      await server.hs.kv.set(["user", "@carol:localhost"], {
        userId: "@carol:localhost",
        passwordHash: null,
        admin: false,
        deactivated: true,
        createdTs: Date.now(),
      });
      const res = await jwtLogin(server, await hsToken({ ...good, sub: "carol" }));
      assertEquals(res.status, 403);
      assertEquals(res.body.errcode, "M_USER_DEACTIVATED");
    });
  } finally {
    await server.close();
  }
});

Deno.test("JWT login with an ES256 public key file", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const pem = await exportSPKI(publicKey);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/jwt.pem`;
  await Deno.writeTextFile(path, pem);
  const server = await startTestServer({
    config: { auth: { jwt: { enabled: true, algorithm: "ES256", public_key: path } } },
  });
  try {
    const token = await new SignJWT({ sub: "dora" }).setProtectedHeader({ alg: "ES256" })
      .setExpirationTime("1m").sign(privateKey);
    const ok = await jwtLogin(server, token);
    assertEquals(ok.status, 200, JSON.stringify(ok.body));
    assertEquals(ok.body.user_id, "@dora:localhost");

    const other = await generateKeyPair("ES256");
    const forged = await new SignJWT({ sub: "eve" }).setProtectedHeader({ alg: "ES256" })
      .setExpirationTime("1m").sign(other.privateKey);
    assertEquals((await jwtLogin(server, forged)).status, 403);
    // The public key used as an HMAC secret must not pass (algorithm confusion).
    const confused = await hsToken({ sub: "eve" }, { key: new TextEncoder().encode(pem) });
    const res = await jwtLogin(server, confused);
    assertEquals(res.status, 403);
    assertEquals(res.body.errcode, "M_FORBIDDEN");
    assertEquals(await userExists(server, "eve"), false);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JWT login is refused when [auth.jwt] is off", async () => {
  const server = await startTestServer();
  try {
    const res = await jwtLogin(server, await hsToken({ sub: "frank" }));
    assertEquals(res.status, 400);
    const flows = await server.request("GET", "/_matrix/client/v3/login");
    assertEquals(flows.body.flows.some((f: { type: string }) => f.type.includes("jwt")), false);
  } finally {
    await server.close();
  }
});
