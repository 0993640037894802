/**
 * `[http] tls = "files"`: HTTPS with the operator's certificate and key, reloaded when the files
 * change (a long-polling `/sync` open across the reload ends normally); a half-written pair (a
 * new certificate with the old key) is refused and the old one stays in use.
 */

import { assertEquals, assertRejects } from "../unit/assert.ts";
import { CA_MISSING, freePort, PEERS_DIR, skipUnless } from "../federation/support/peers.ts";
import {
  assertSyncSurvivesSwap,
  httpsJson,
  serialOf,
  servedSerial,
  startHttpsServer,
} from "../support/https_support.ts";

async function makeCa(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const out = await new Deno.Command(`${PEERS_DIR}/make_ca.sh`, {
    args: [dir, "127.0.0.1", "localhost"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return {
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}

Deno.test({
  name: "tls = files: served, reloaded when the files change, an open sync survives the swap",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-tls-files-" });
    const [one, two] = await Promise.all([makeCa(`${dir}/one`), makeCa(`${dir}/two`)]);
    const certFile = `${dir}/fullchain.pem`;
    const keyFile = `${dir}/privkey.pem`;
    await Deno.writeTextFile(certFile, one.cert);
    await Deno.writeTextFile(keyFile, one.key);
    const port = freePort();
    const logs: string[] = [];
    const server = await startHttpsServer({
      server_name: "localhost",
      http: {
        listen: `127.0.0.1:${port}`,
        public_base_url: `https://localhost:${port}`,
        tls: "files",
        tls_cert: certFile,
        tls_key: keyFile,
      },
    }, { front: { pollMs: 100, log: (line) => logs.push(line) } });
    const trustsOne = Deno.createHttpClient({ caCerts: [one.ca] });
    const trustsTwo = Deno.createHttpClient({ caCerts: [two.ca] });
    const baseUrl = `https://localhost:${port}`;
    try {
      assertEquals(await servedSerial(port, "localhost"), serialOf(one.cert));
      const keys = await httpsJson(trustsOne, `${baseUrl}/_matrix/key/v2/server`);
      assertEquals(keys.status, 200);

      // A renewal tool that wrote the certificate but not yet the key: the old pair stays.
      await Deno.writeTextFile(certFile, two.cert);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assertEquals(await servedSerial(port, "localhost"), serialOf(one.cert));
      assertEquals(logs.some((line) => line.includes("keeping the certificate in use")), true);

      await assertSyncSurvivesSwap({
        baseUrl,
        oldClient: trustsOne,
        newClient: trustsTwo,
        localpart: "fina",
        timeoutMs: 20_000,
        swap: async () => {
          await Deno.writeTextFile(keyFile, two.key);
          while (server.hs.https!.certificates.current()?.key !== two.key) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        },
      });
      assertEquals(await servedSerial(port, "localhost"), serialOf(two.cert));
      // A new connection that trusts only the old CA is refused now.
      const fresh = Deno.createHttpClient({ caCerts: [one.ca] });
      try {
        await assertRejects(() => fetch(`${baseUrl}/_matrix/client/versions`, { client: fresh }));
      } finally {
        fresh.close();
      }
    } finally {
      trustsOne.close();
      trustsTwo.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tls = files: a key that does not belong to the certificate stops the start",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-tls-bad-" });
    const [one, two] = await Promise.all([makeCa(`${dir}/one`), makeCa(`${dir}/two`)]);
    await Deno.writeTextFile(`${dir}/cert.pem`, one.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, two.key);
    try {
      const err = await assertRejects(() =>
        startHttpsServer({
          http: {
            listen: "127.0.0.1:0",
            public_base_url: "https://localhost",
            tls: "files",
            tls_cert: `${dir}/cert.pem`,
            tls_key: `${dir}/key.pem`,
          },
        })
      );
      assertEquals((err as { key?: string }).key, "http.tls_cert");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
