/** The `[federation]` section of the config: defaults and strict validation. */

import { assertEquals, assertThrows } from "./assert.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";

const KEY = "A".repeat(43);

function errorOf(toml: string): string {
  const err = assertThrows(() => parseConfig(toml), ConfigError) as ConfigError;
  return `${err.key}: ${err.message}`;
}

Deno.test("federation config: defaults (off without TLS) and TLS turning it on", () => {
  const off = parseConfig("").federation;
  // pinned_keys is a prototype-less map (server names are data, `__proto__` included).
  assertEquals({ ...off, pinnedKeys: { ...off.pinnedKeys } }, {
    enabled: false,
    listen: "0.0.0.0:8448",
    tlsCert: "",
    tlsKey: "",
    trustedCa: [],
    allowPrivateAddresses: false,
    allow: [],
    pinnedKeys: {},
  });
  const on = parseConfig(`
[federation]
tls_cert = "/c.pem"
tls_key = "/k.pem"
listen = "[::]:8449"
trusted_ca = ["/ca.pem"]
allow = ["example.org", "127.0.0.1:8448", "[::1]:8448"]
pinned_keys = { "example.org" = ["ed25519:a_1 ${KEY}", "ed25519:old ${KEY}"] }
`).federation;
  assertEquals(on.enabled, true);
  assertEquals(on.allow.length, 3);
  assertEquals(on.pinnedKeys["example.org"], [
    { keyId: "ed25519:a_1", key: KEY },
    { keyId: "ed25519:old", key: KEY },
  ]);
  const explicitOff = parseConfig(`[federation]\nenabled = false\ntls_cert = "a"\ntls_key = "b"`);
  assertEquals(explicitOff.federation.enabled, false);
});

Deno.test("federation config: bad values are refused with the key named", () => {
  const cases: [string, string][] = [
    ["enabled = true", "federation.enabled"],
    ['tls_cert = "/c.pem"', "federation.tls_key"],
    ['tls_key = "/k.pem"', "federation.tls_cert"],
    ['listen = "8448"', "federation.listen"],
    ['allow = ["not a name"]', "federation.allow"],
    ["allow = [1]", "federation.allow"],
    ['trusted_ca = [""]', "federation.trusted_ca"],
    ['pinned_keys = { "bad name" = ["ed25519:a ' + KEY + '"] }', "federation.pinned_keys.bad name"],
    ['pinned_keys = { "x.org" = ["ed25519:a"] }', "federation.pinned_keys.x.org"],
    ['pinned_keys = { "x.org" = ["rsa:a ' + KEY + '"] }', "federation.pinned_keys.x.org"],
    ['pinned_keys = { "x.org" = ["ed25519:a AAAA"] }', "federation.pinned_keys.x.org"],
    ['pinned_keys = { "x.org" = [] }', "federation.pinned_keys.x.org"],
    ["allow_private_addresses = 1", "federation.allow_private_addresses"],
    ["unknown = 1", "federation.unknown"],
  ];
  for (const [line, key] of cases) {
    const message = errorOf(`[federation]\n${line}`);
    assertEquals(message.split(": ")[0], key, `${line} -> ${message}`);
  }
});
