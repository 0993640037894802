/**
 * `[auth]` in the config file: the defaults (everything off), the JWT contract of issue 17, an
 * `[[auth.oidc]]` provider, and the mistakes that must stop the server at start-up.
 */

import { assert, assertEquals } from "./assert.ts";
import { ConfigError, DEFAULT_CONFIG_TOML, parseConfig } from "../../server/config.ts";

function keyOfError(text: string): string {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.key;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("auth config: off by default, the embedded text parses", () => {
  const { auth } = parseConfig(DEFAULT_CONFIG_TOML);
  assertEquals(auth.jwt.enabled, false);
  assertEquals(auth.ldap.enabled, false);
  assertEquals(auth.oidc, []);
  assertEquals(auth.loginTokenLifetimeMs, 120_000);
  assertEquals(auth.loginViaExistingSession, {
    enabled: false,
    requireUia: true,
    tokenLifetimeMs: 300_000,
  });
  assertEquals(parseConfig("").auth, auth);
  assertEquals(parseConfig("").rateLimits.loginToken, { perSecond: 0.0166667, burst: 1 });
});

Deno.test("auth config: [auth.login_via_existing_session] and its rate limit", () => {
  const config = parseConfig(`
[auth.login_via_existing_session]
enabled = true
require_uia = false
token_lifetime_ms = 60000

[rate_limits.login_token]
per_second = 0.1
burst = 3
`);
  assertEquals(config.auth.loginViaExistingSession, {
    enabled: true,
    requireUia: false,
    tokenLifetimeMs: 60_000,
  });
  assertEquals(config.rateLimits.loginToken, { perSecond: 0.1, burst: 3 });
  const table = "[auth.login_via_existing_session]";
  const key = "auth.login_via_existing_session";
  assertEquals(keyOfError(`${table}\nenabled = "yes"`), `${key}.enabled`);
  assertEquals(keyOfError(`${table}\nrequire_uia = 1`), `${key}.require_uia`);
  assertEquals(keyOfError(`${table}\ntoken_lifetime_ms = 10`), `${key}.token_lifetime_ms`);
  assertEquals(keyOfError(`${table}\ntoken_lifetime_ms = 1500.5`), `${key}.token_lifetime_ms`);
  assertEquals(keyOfError(`${table}\ntoken_lifetime_ms = 7200000`), `${key}.token_lifetime_ms`);
  assertEquals(keyOfError(`${table}\nlifetime = 1000`), `${key}.lifetime`);
  assertEquals(keyOfError("[rate_limits.login_token]\nburst = 0"), "rate_limits.login_token.burst");
});

Deno.test("auth config: the [auth.jwt] contract and an OIDC provider", () => {
  const { auth } = parseConfig(`
[auth.jwt]
enabled = true
algorithm = "RS256"
secret = ""
public_key = "/etc/gemeng/jwt.pem"
issuer = "https://id.example.lu"
audiences = ["gemeng"]
subject_claim = "uid"

[[auth.oidc]]
id = "commune"
name = "Commune account"
issuer = "https://id.example.lu/realms/commune"
client_id = "gemeng"
scopes = ["profile"]
`);
  assertEquals(auth.jwt, {
    enabled: true,
    algorithm: "RS256",
    secret: "",
    publicKey: "/etc/gemeng/jwt.pem",
    issuer: "https://id.example.lu",
    audiences: ["gemeng"],
    subjectClaim: "uid",
  });
  assertEquals(auth.oidc.length, 1);
  assertEquals(auth.oidc[0].scopes, ["openid", "profile"], "openid is always asked for");
  assertEquals(auth.oidc[0].localpartClaim, "preferred_username");
});

Deno.test("auth config: mistakes name their key", () => {
  assertEquals(keyOfError('[auth.jwt]\nalgorithm = "none"'), "auth.jwt.algorithm");
  assertEquals(keyOfError('[auth.jwt]\nenabled = true\nsecret = "short"'), "auth.jwt.secret");
  assertEquals(
    keyOfError('[auth.jwt]\nenabled = true\nalgorithm = "ES256"'),
    "auth.jwt.public_key",
  );
  assertEquals(keyOfError('[auth.ldap]\nurl = "http://dc"'), "auth.ldap.url");
  assertEquals(keyOfError('[auth.ldap]\nfilter = "(uid=x)"'), "auth.ldap.filter");
  assertEquals(keyOfError("[auth.ldap]\nenabled = true"), "auth.ldap.search_base");
  assertEquals(
    keyOfError('[auth.ldap]\nurl = "ldaps://dc:636"\nstarttls = true'),
    "auth.ldap.starttls",
  );
  const idp = 'name = "A"\nissuer = "https://id.example"\nclient_id = "c"';
  assertEquals(keyOfError(`[[auth.oidc]]\nid = "a b"\n${idp}`), "auth.oidc[0].id");
  assertEquals(
    keyOfError(
      `[[auth.oidc]]\nid = "a"\nname = "A"\nissuer = "http://id.example"\nclient_id = "c"`,
    ),
    "auth.oidc[0].issuer",
  );
  assertEquals(
    keyOfError(`[[auth.oidc]]\nid = "a"\n${idp}\n[[auth.oidc]]\nid = "a"\n${idp}`),
    "auth.oidc",
  );
  assertEquals(
    keyOfError(`[[auth.oidc]]\nid = "a"\n${idp}\nsurprise = 1`),
    "auth.oidc[0].surprise",
  );
  assertEquals(
    keyOfError('[auth]\nsso_client_allowlist = ["app.example"]'),
    "auth.sso_client_allowlist",
  );
  assert(keyOfError("[auth]\noidc = 3").startsWith("auth.oidc"));
});
