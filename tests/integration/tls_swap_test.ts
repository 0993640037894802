/**
 * The certificate swap of `serveTls` on real sockets: a request open across swaps finishes, a
 * key that does not fit is refused with the old certificate still served, and fresh connections
 * keep being accepted while the certificate changes again and again.
 */

import { assert, assertEquals, assertRejects } from "../unit/assert.ts";
import { CA_MISSING, PEERS_DIR, skipUnless } from "../federation/support/peers.ts";
import { RETIRE_GRACE_MS, serveTls } from "../../server/tls/tls_server.ts";
import { serialOf, servedSerial } from "../support/https_support.ts";

interface Pem {
  ca: string;
  cert: string;
  key: string;
}

async function makeCa(dir: string): Promise<Pem> {
  const out = await new Deno.Command(`${PEERS_DIR}/make_ca.sh`, {
    args: [dir, "127.0.0.1", "localhost"],
    stdout: "null",
    stderr: "null",
  }).output();
  assert(out.success, "make_ca.sh failed");
  return {
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    cert: await Deno.readTextFile(`${dir}/server.pem`),
    key: await Deno.readTextFile(`${dir}/server.key`),
  };
}

/** Whether the kernel hands a closing listener's queued connections to its successor. */
function migratesQueuedConnections(): boolean {
  try {
    return Deno.readTextFileSync("/proc/sys/net/ipv4/tcp_migrate_req").trim() === "1";
  } catch {
    return false;
  }
}

Deno.test({
  name: "serveTls: swaps keep open requests and go on accepting new connections",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-tls-swap-" });
    const [one, two] = await Promise.all([makeCa(`${dir}/one`), makeCa(`${dir}/two`)]);
    const server = serveTls({ hostname: "127.0.0.1", port: 0, ...one }, async (request) => {
      if (new URL(request.url).pathname === "/slow") {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      return new Response("ok");
    });
    const url = `https://localhost:${server.addr.port}`;
    const trustsOne = Deno.createHttpClient({ caCerts: [one.ca] });
    const trustsTwo = Deno.createHttpClient({ caCerts: [two.ca] });
    try {
      const slow = fetch(`${url}/slow`, { client: trustsOne }).then((res) => res.text());
      await new Promise((resolve) => setTimeout(resolve, 200));
      await assertRejects(() => server.setCertificate({ cert: two.cert, key: one.key }));
      assertEquals(await servedSerial(server.addr.port, "localhost"), serialOf(one.cert));
      await server.setCertificate(two);
      assertEquals(await slow, "ok");
      await new Promise((resolve) => setTimeout(resolve, RETIRE_GRACE_MS + 200));
      assertEquals(await servedSerial(server.addr.port, "localhost"), serialOf(two.cert));
      assertEquals(await (await fetch(`${url}/`, { client: trustsTwo })).text(), "ok");

      // Fresh connections, four at a time, through ten swaps.
      let ok = 0;
      const failures: string[] = [];
      let stop = false;
      const workers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const client = Deno.createHttpClient({ caCerts: [one.ca, two.ca] });
          try {
            await (await fetch(`${url}/`, { client })).text();
            ok++;
          } catch (err) {
            failures.push(String((err as Error).cause ?? err));
          } finally {
            client.close();
          }
        }
      });
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await server.setCertificate(i % 2 ? two : one);
      }
      stop = true;
      await Promise.all(workers);
      assert(ok > 50, `only ${ok} connections went through`);
      if (migratesQueuedConnections()) {
        assertEquals(failures, []);
      } else {
        // Without tcp_migrate_req, a connection queued at a retiring listener's close is reset
        // (rare; docs/appliance.md); nothing else may fail.
        assert(
          failures.every((text) => text.includes("reset")),
          `failures other than resets: ${failures.join("\n")}`,
        );
        assert(failures.length <= ok / 20, `${failures.length} failures for ${ok} connections`);
      }
    } finally {
      trustsOne.close();
      trustsTwo.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
