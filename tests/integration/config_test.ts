import { assert, assertEquals } from "../unit/assert.ts";
import {
  ConfigError,
  DEFAULT_CONFIG_TOML,
  kvPath,
  listenAddress,
  loadConfig,
  parseConfig,
} from "../../server/config.ts";

function configError(text: string): ConfigError {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("embedded defaults", async () => {
  const config = await loadConfig();
  assertEquals(config.serverName, "localhost");
  assertEquals(config.dataDir, "./data");
  assertEquals(config.http.listen, "127.0.0.1:8008");
  assertEquals(config.http.publicBaseUrl, "http://localhost:8008");
  assertEquals(config.registration, {
    enabled: false,
    requireToken: true,
    sharedSecret: "",
    allowGuests: false,
  });
  assertEquals(kvPath(config), "./data/gemeng.kv");
  assertEquals(listenAddress(config), { hostname: "127.0.0.1", port: 8008 });
  assertEquals(parseConfig(DEFAULT_CONFIG_TOML), config);
  assertEquals(parseConfig(""), config);
});

Deno.test("a full file is read", () => {
  const config = parseConfig(`
server_name = "example.org:8448"
data_dir = "/var/lib/gemeng"
[http]
listen = "[::1]:9000"
public_base_url = "https://matrix.example.org/"
[registration]
enabled = true
require_token = false
shared_secret = "s3cret"
[limits]
max_request_body = 65536
[rate_limits.login]
per_second = 2
burst = 4
`);
  assertEquals(config.serverName, "example.org:8448");
  assertEquals(config.http.publicBaseUrl, "https://matrix.example.org");
  assertEquals(listenAddress(config), { hostname: "::1", port: 9000 });
  assertEquals(config.registration.sharedSecret, "s3cret");
  assertEquals(config.limits.maxRequestBody, 65536);
  assertEquals(config.rateLimits.login, { perSecond: 2, burst: 4 });
  assertEquals(config.rateLimits.register.burst, 5);
});

Deno.test("errors name the key", () => {
  const cases: [string, string][] = [
    [`server_nam = "x"`, "server_nam"],
    [`server_name = 5`, "server_name"],
    [`server_name = "bad name!"`, "server_name"],
    [`[http]\nlisten = "nohost"`, "http.listen"],
    [`[http]\nlisten = "1.2.3.4:99999"`, "http.listen"],
    [`[http]\npublic_base_url = "ftp://x"`, "http.public_base_url"],
    [`[http]\nextra = 1`, "http.extra"],
    [`[registration]\nenabled = "yes"`, "registration.enabled"],
    [`[registration]\nrequire_tokens = true`, "registration.require_tokens"],
    [`[limits]\nmax_request_body = -1`, "limits.max_request_body"],
    [`[rate_limits.login]\nburst = 0.5`, "rate_limits.login.burst"],
    [`[rate_limits.nope]\nburst = 1`, "rate_limits.nope"],
    [`[unknown]`, "unknown"],
    [`http = 3`, "http"],
    [`this is not toml`, "(file)"],
  ];
  for (const [text, key] of cases) {
    const err = configError(text);
    assertEquals(err.key, key, text);
    assertEquals(err.code, "CONFIG_INVALID");
    assert(err.message.includes(key), err.message);
  }
});

Deno.test("unreadable file", async () => {
  try {
    await loadConfig("/nonexistent/gemeng.toml");
    throw new Error("expected failure");
  } catch (err) {
    assert(err instanceof ConfigError);
    assertEquals(err.key, "(file)");
  }
});
