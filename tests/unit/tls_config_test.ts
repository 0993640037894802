import { assert, assertEquals, assertThrows } from "./assert.ts";
import { ConfigError, resolveConfig } from "../../server/config.ts";
import { renewalTime, retryDelayMs } from "../../server/tls/acme.ts";
import { certificateCovers } from "../../server/tls/certificates.ts";

function errorKey(raw: Record<string, unknown>): string {
  const err = assertThrows(() => resolveConfig(raw), ConfigError);
  return (err as ConfigError).key;
}

Deno.test("[http] tls: defaults of the appliance, and federation on the same port", () => {
  const plain = resolveConfig({});
  assertEquals([plain.http.tls, plain.http.listen, plain.http.httpListen], [
    "off",
    "127.0.0.1:8008",
    "",
  ]);
  assertEquals(plain.federation.enabled, false);
  const acme = resolveConfig({
    server_name: "commune.lu",
    http: { tls: "acme", public_base_url: "https://matrix.commune.lu" },
  });
  assertEquals(acme.http.listen, "0.0.0.0:443");
  assertEquals(acme.http.httpListen, "0.0.0.0:80");
  assertEquals(acme.http.acmeDomains, ["matrix.commune.lu"]);
  assertEquals(acme.http.acmeDirectory, "https://acme-v02.api.letsencrypt.org/directory");
  assertEquals(acme.federation.enabled, true);
  assertEquals(acme.federation.tlsCert, "");
  const files = resolveConfig({
    http: {
      tls: "files",
      tls_cert: "/c.pem",
      tls_key: "/k.pem",
      public_base_url: "https://m.example.org",
    },
  });
  assertEquals([files.http.httpListen, files.federation.enabled], ["", true]);
});

Deno.test("[http] tls: bad combinations name their key", () => {
  const https = "https://matrix.commune.lu";
  assertEquals(errorKey({ http: { tls: "on" } }), "http.tls");
  assertEquals(errorKey({ http: { tls: "files", public_base_url: https } }), "http.tls_cert");
  assertEquals(
    errorKey({ http: { tls: "files", tls_cert: "/c.pem", public_base_url: https } }),
    "http.tls_key",
  );
  assertEquals(errorKey({ http: { tls: "acme" } }), "http.public_base_url");
  assertEquals(
    errorKey({ http: { tls: "acme", public_base_url: "https://192.0.2.1" } }),
    "http.acme_domains",
  );
  assertEquals(
    errorKey({ http: { tls: "acme", public_base_url: "http://matrix.commune.lu" } }),
    "http.public_base_url",
  );
  assertEquals(
    errorKey({ http: { tls: "acme", public_base_url: https, http_listen: "" } }),
    "http.http_listen",
  );
  assertEquals(
    errorKey({ http: { tls: "acme", public_base_url: https, acme_directory: "http://ca" } }),
    "http.acme_directory",
  );
  assertEquals(
    errorKey({ http: { tls: "acme", public_base_url: https, acme_email: "nobody" } }),
    "http.acme_email",
  );
  assertEquals(
    errorKey({ http: { tls: "acme", public_base_url: https, acme_domains: ["*.commune.lu"] } }),
    "http.acme_domains",
  );
});

Deno.test("acme: renewal at two thirds of the lifetime; retries grow to an hour", () => {
  const day = 86_400_000;
  assertEquals(renewalTime(0, 90 * day), 60 * day);
  assertEquals(retryDelayMs(1, 90 * day), 60_000);
  assertEquals(retryDelayMs(2, 90 * day), 120_000);
  assertEquals(retryDelayMs(20, 90 * day), 3_600_000);
  // A short-lived certificate (tests, or a CA that issues for days) is retried sooner.
  assertEquals(retryDelayMs(1, 15_000), 1000);
  assert(retryDelayMs(1, 0) > 0);
});

Deno.test("certificate names cover a host exactly or through a one-label wildcard", () => {
  assertEquals(certificateCovers(["matrix.commune.lu"], "MATRIX.commune.lu."), true);
  assertEquals(certificateCovers(["*.commune.lu"], "matrix.commune.lu"), true);
  assertEquals(certificateCovers(["*.commune.lu"], "commune.lu"), false);
  assertEquals(certificateCovers(["*.commune.lu"], "a.b.commune.lu"), false);
  assertEquals(certificateCovers(["::1"], "[::1]"), true);
});
