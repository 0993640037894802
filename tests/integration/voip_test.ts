/**
 * `GET /voip/turnServer`: TURN REST API credentials from a shared secret (checked with an
 * independent HMAC), static credentials, `{}` without TURN, authentication, rate limiting,
 * and the `[turn]` config's validation.
 */

import { createHmac } from "node:crypto";
import { ConfigError, parseConfig } from "../../server/config.ts";
import { startTestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";

const PATH = "/_matrix/client/v3/voip/turnServer";
const URIS = [
  "turn:turn.example.org:3478?transport=udp",
  "turn:10.20.30.40:3478?transport=tcp",
  "turns:[2001:db8::1]:5349?transport=tcp",
];

Deno.test("turnServer: shared-secret credentials a TURN server accepts", async () => {
  const secret = "n0t-so-s3cret";
  const server = await startTestServer({
    config: { turn: { uris: URIS, shared_secret: secret, ttl: 3600 } },
  });
  try {
    const alice = await server.register("alice");
    const before = Math.floor(Date.now() / 1000);
    const res = await server.request("GET", PATH, { token: alice.accessToken });
    const after = Math.floor(Date.now() / 1000);
    assertEquals(res.status, 200);
    assertEquals(res.body.uris, URIS);
    assertEquals(res.body.ttl, 3600);
    const [expiry, ...rest] = String(res.body.username).split(":");
    assertEquals(rest.join(":"), "@alice:localhost", "the username names the user");
    const expires = Number(expiry);
    assert(
      expires >= before + 3600 && expires <= after + 3600,
      `expiry ${expires} is now + ttl (${before + 3600}..${after + 3600})`,
    );
    // What coturn computes for use-auth-secret: base64(HMAC-SHA1(secret, username)).
    const expected = createHmac("sha1", secret).update(res.body.username).digest("base64");
    assertEquals(res.body.password, expected);

    // Another user gets their own credentials.
    const bob = await server.register("bob");
    const bobs = await server.request("GET", PATH, { token: bob.accessToken });
    assert(String(bobs.body.username).endsWith(":@bob:localhost"));
    assert(bobs.body.password !== res.body.password);
  } finally {
    await server.close();
  }
});

Deno.test("turnServer: static credentials and the default ttl", async () => {
  const server = await startTestServer({
    config: { turn: { uris: [URIS[0]], username: "gemeng", password: "relay-pass" } },
  });
  try {
    const user = await server.register("carol");
    const res = await server.request("GET", PATH, { token: user.accessToken });
    assertEquals(res.status, 200);
    assertEquals(res.body, {
      username: "gemeng",
      password: "relay-pass",
      uris: [URIS[0]],
      ttl: 86400,
    });
  } finally {
    await server.close();
  }
});

Deno.test("turnServer: {} without TURN; 401 without a valid token; rate limited", async () => {
  const server = await startTestServer({
    config: { rate_limits: { send: { per_second: 0.001, burst: 3 } } },
  });
  try {
    const missing = await server.request("GET", PATH);
    assertEquals(missing.status, 401);
    assertEquals(missing.body.errcode, "M_MISSING_TOKEN");
    const unknown = await server.request("GET", PATH, { token: "not-a-token" });
    assertEquals(unknown.status, 401);
    assertEquals(unknown.body.errcode, "M_UNKNOWN_TOKEN");

    const user = await server.register("dave");
    const res = await server.request("GET", PATH, { token: user.accessToken });
    assertEquals(res.status, 200);
    assertEquals(res.body, {});

    let limited = null;
    for (let i = 0; i < 5 && !limited; i++) {
      const next = await server.request("GET", PATH, { token: user.accessToken });
      if (next.status === 429) limited = next;
    }
    assert(limited !== null, "the endpoint is rate limited");
    assertEquals(limited.body.errcode, "M_LIMIT_EXCEEDED");
    assert(typeof limited.body.retry_after_ms === "number");
  } finally {
    await server.close();
  }
});

function configError(text: string): ConfigError {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

Deno.test("[turn] config: defaults and validation", () => {
  const defaults = parseConfig("");
  assertEquals(defaults.turn, {
    uris: [],
    sharedSecret: "",
    username: "",
    password: "",
    ttl: 86400,
  });
  const good = parseConfig(`[turn]
uris = ["turns:turn.example.org:443?transport=tcp", "turn:192.0.2.7"]
shared_secret = "s"
ttl = 600
`);
  assertEquals(good.turn.uris.length, 2);
  assertEquals(good.turn.ttl, 600);

  const cases: [string, string, RegExp][] = [
    ['[turn]\nuris = ["stun:stun.example.org"]\nshared_secret = "s"', "turn.uris", /TURN URI/],
    ['[turn]\nuris = ["turn:"]\nshared_secret = "s"', "turn.uris", /TURN URI/],
    ['[turn]\nuris = ["turn:host:99999"]\nshared_secret = "s"', "turn.uris", /TURN URI/],
    ['[turn]\nuris = ["turn:h?transport=sctp"]\nshared_secret = "s"', "turn.uris", /TURN URI/],
    ['[turn]\nuris = "turn:h"\nshared_secret = "s"', "turn.uris", /list of strings/],
    ['[turn]\nuris = ["turn:h"]', "turn.uris", /need credentials/],
    ['[turn]\nshared_secret = "s"', "turn.uris", /no TURN server URI/],
    [
      '[turn]\nuris = ["turn:h"]\nshared_secret = "s"\nusername = "u"\npassword = "p"',
      "turn.shared_secret",
      /not both/,
    ],
    ['[turn]\nuris = ["turn:h"]\nusername = "u"', "turn.password", /go together/],
    ['[turn]\nuris = ["turn:h"]\npassword = "p"', "turn.username", /go together/],
    ['[turn]\nuris = ["turn:h"]\nshared_secret = "s"\nttl = 5', "turn.ttl", /from 60/],
    ['[turn]\nuris = ["turn:h"]\nshared_secret = "s"\nttl = 1.5', "turn.ttl", /integer/],
    ['[turn]\nuri = ["turn:h"]', "turn.uri", /unknown key/],
  ];
  for (const [text, key, message] of cases) {
    const err = configError(text);
    assertEquals(err.key, key, text);
    assert(message.test(err.message), `${text}\n-> ${err.message}`);
    assertEquals(err.code, "CONFIG_INVALID");
  }
});
