/**
 * `[http] tls = "acme"` against Debian's pebble: a real certificate through HTTP-01 on the
 * plain listener, HTTPS with it for the client API, the web app and federation (one port),
 * renewal at two thirds of a short lifetime, and the swap to the renewed certificate while a
 * long-polling `/sync` is open. Skipped, saying why, when pebble is not installed.
 */

import { assert, assertEquals, assertNotEquals } from "../unit/assert.ts";
import { freePort } from "../federation/support/peers.ts";
import { skipWithoutPebble, startPebble } from "../support/pebble.ts";
import {
  assertSyncSurvivesSwap,
  httpsJson,
  serialOf,
  servedSerial,
  startHttpsServer,
} from "../support/https_support.ts";
import { plainHttpAnswer } from "../../server/tls/https_front.ts";
import { RETIRE_GRACE_MS } from "../../server/tls/tls_server.ts";
import { AcmeCertificates } from "../../server/tls/acme.ts";
import { resolveConfig } from "../../server/config.ts";

/** Seconds a pebble certificate lives: renewal comes after two thirds of it. */
const LIFETIME_S = 15;

Deno.test({
  name: "tls = acme: a certificate from pebble, served, renewed and swapped under an open sync",
  ...skipWithoutPebble(),
  async fn() {
    const httpPort = freePort();
    const pebble = await startPebble({ httpPort, validitySeconds: LIFETIME_S });
    const dataDir = await Deno.makeTempDir({ prefix: "gemeng-acme-" });
    const port = freePort();
    const config = {
      server_name: "localhost",
      data_dir: dataDir,
      http: {
        listen: `127.0.0.1:${port}`,
        public_base_url: `https://localhost:${port}`,
        tls: "acme",
        acme_directory: pebble.directoryUrl,
        acme_ca: pebble.caFile,
        acme_email: "it@example.org",
        http_listen: `127.0.0.1:${httpPort}`,
      },
    };
    const logs: string[] = [];
    let server = await startHttpsServer(config, { front: { log: (line) => logs.push(line) } });
    const root = await pebble.rootPem();
    const client = Deno.createHttpClient({ caCerts: [root] });
    const client2 = Deno.createHttpClient({ caCerts: [root] });
    const baseUrl = `https://localhost:${port}`;
    try {
      const acme = server.hs.https!.acme!;
      assertEquals(acme.issued, 1, logs.join("\n"));
      const first = acme.current()!;
      assertEquals(await servedSerial(port, "localhost"), serialOf(first.cert));
      const facts = acme.facts()!;
      assertEquals(facts.names, ["localhost"]);
      assert(facts.notAfter - facts.notBefore <= LIFETIME_S * 1000);

      // One port: the client API, the web app's config and federation, over HTTPS.
      const versions = await httpsJson(client, `${baseUrl}/_matrix/client/versions`);
      assertEquals(versions.status, 200);
      const keys = await httpsJson(client, `${baseUrl}/_matrix/key/v2/server`);
      assertEquals([keys.status, keys.body.server_name], [200, "localhost"]);
      const fedVersion = await httpsJson(client, `${baseUrl}/_matrix/federation/v1/version`);
      assertEquals(fedVersion.body.server.name, "gemeng");
      const wellKnown = await httpsJson(client, `${baseUrl}/.well-known/matrix/server`);
      assertEquals(wellKnown.body, { "m.server": `localhost:${port}` });
      const clientWellKnown = await httpsJson(client, `${baseUrl}/.well-known/matrix/client`);
      assertEquals(clientWellKnown.body["m.homeserver"].base_url, baseUrl);

      // The plain listener redirects to public_base_url and answers only known challenges.
      const redirect = await fetch(`http://127.0.0.1:${httpPort}/_matrix/client/versions?a=1`, {
        redirect: "manual",
      });
      await redirect.body?.cancel();
      assertEquals(redirect.status, 308);
      assertEquals(redirect.headers.get("location"), `${baseUrl}/_matrix/client/versions?a=1`);
      const unknown = await fetch(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/abc`);
      await unknown.body?.cancel();
      assertEquals(unknown.status, 404);

      // Renewal at two thirds of the lifetime, taken into use under an open long-poll.
      await assertSyncSurvivesSwap({
        baseUrl,
        oldClient: client,
        newClient: client2,
        localpart: "carla",
        timeoutMs: LIFETIME_S * 2000,
        swap: async () => {
          while (acme.issued < 2) await new Promise((resolve) => setTimeout(resolve, 100));
        },
      });
      const renewedAt = Date.now();
      assert(
        renewedAt - facts.notBefore >= (facts.notAfter - facts.notBefore) * 2 / 3 - 1000,
        "not renewed before two thirds of the lifetime",
      );
      const second = acme.current()!;
      assertNotEquals(serialOf(second.cert), serialOf(first.cert));
      assertEquals(await servedSerial(port, "localhost"), serialOf(second.cert));

      // Stored in the data directory: a restart uses the stored certificate, no new order.
      await server.close();
      const stored = await Deno.readTextFile(`${acme.directory}/cert.pem`);
      assertEquals(serialOf(stored), serialOf(second.cert));
      assertEquals((await Deno.stat(`${acme.directory}/key.pem`)).mode! & 0o777, 0o600);
      server = await startHttpsServer(config, { front: { log: (line) => logs.push(line) } });
      assertEquals(server.hs.https!.acme!.issued, 0);
      assertEquals(await servedSerial(port, "localhost"), serialOf(second.cert));
      // And a forced renewal (what the timer does) swaps at once.
      await server.hs.https!.acme!.renewNow();
      await new Promise((resolve) => setTimeout(resolve, RETIRE_GRACE_MS + 200));
      assertNotEquals(await servedSerial(port, "localhost"), serialOf(second.cert));
    } finally {
      client.close();
      client2.close();
      await server.close();
      await pebble.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("the plain listener: a challenge answer, and redirects only to public_base_url", () => {
  const redirect = plainHttpAnswer(
    new Request("http://evil.example/path?q=1", { headers: { Host: "evil.example" } }),
    { publicBaseUrl: "https://matrix.example.org", acme: null },
  );
  assertEquals(redirect.status, 308);
  assertEquals(redirect.headers.get("location"), "https://matrix.example.org/path?q=1");
});

Deno.test({
  name: "tls = acme: a request to a CA that accepts and never answers is given up",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dataDir = await Deno.makeTempDir({ prefix: "gemeng-acme-hang-" });
    const config = resolveConfig({
      server_name: "localhost",
      data_dir: dataDir,
      http: {
        tls: "acme",
        public_base_url: "https://localhost",
        acme_directory: `https://127.0.0.1:${listener.addr.port}/dir`,
      },
    });
    const acme = new AcmeCertificates(config, { log: () => {}, requestTimeoutMs: 300 });
    // The order retries after failures (acme-client waits seconds between tries): only the
    // first request is watched here.
    acme.start().catch(() => {});
    const conn = await listener.accept();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const drain = (async () => {
        const buffer = new Uint8Array(4096);
        try {
          while (await conn.read(buffer) !== null) { /* the ClientHello, never answered */ }
        } catch { /* reset by the client */ }
        return "given up";
      })();
      const outcome = await Promise.race([
        drain,
        new Promise<string>((resolve) => timer = setTimeout(() => resolve("still waiting"), 5000)),
      ]);
      assertEquals(outcome, "given up");
    } finally {
      clearTimeout(timer);
      await acme.close();
      listener.close();
      conn.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
