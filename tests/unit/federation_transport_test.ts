/**
 * The federation HTTPS transport against hand-written TLS servers on loopback: body framing
 * (Content-Length, chunked, until close), connection reuse, size and time limits, the
 * certificate name, and the private-address check.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { parseIp } from "../../server/media/ip_ranges.ts";
import {
  HttpsTransport,
  resolveAddresses,
  TransportError,
} from "../../server/federation/transport.ts";
import { CA_MISSING, skipUnless, testCa } from "../federation/support/peers.ts";

interface RawServer {
  port: number;
  /** Connections accepted so far. */
  connections: () => number;
  close(): Promise<void>;
}

/** A TLS server that answers every request with `answer(requestHead)` as raw bytes. */
async function rawServer(answer: (head: string) => string | null): Promise<RawServer> {
  const ca = await testCa();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(ca.certFile),
    key: await Deno.readTextFile(ca.keyFile),
  });
  let count = 0;
  const open = new Set<Deno.Conn>();
  const loop = (async () => {
    for await (const conn of listener) {
      count++;
      open.add(conn);
      (async () => {
        const buffer = new Uint8Array(65536);
        let pending = "";
        try {
          while (true) {
            const n = await conn.read(buffer);
            if (n === null) break;
            pending += new TextDecoder().decode(buffer.subarray(0, n));
            const end = pending.indexOf("\r\n\r\n");
            if (end < 0) continue;
            const head = pending.slice(0, end);
            const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
            pending = pending.slice(end + 4 + length);
            const reply = answer(head);
            if (reply === null) continue; // never answer: the client times out
            const bytes = new TextEncoder().encode(reply);
            for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
            if (/connection: close/i.test(reply)) break;
          }
        } catch { /* client went away */ }
        open.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      await loop.catch(() => {});
    },
  };
}

async function options(overrides: { maxBytes?: number; timeoutMs?: number } = {}) {
  const ca = await testCa();
  return {
    caCerts: [await Deno.readTextFile(ca.caFile)],
    maxBytes: overrides.maxBytes ?? 1024 * 1024,
    timeoutMs: overrides.timeoutMs ?? 5000,
  };
}

const loopback = parseIp("127.0.0.1")!;
const get = { method: "GET", path: "/x?y=1", host: "example.org:8448" };

Deno.test({
  name: "transport: Content-Length and chunked bodies, Host header, reuse of the connection",
  ...skipUnless(CA_MISSING),
  async fn() {
    let chunked = false;
    const heads: string[] = [];
    const server = await rawServer((head) => {
      heads.push(head);
      chunked = !chunked;
      return chunked
        ? 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4;x=1\r\n":1}\r\n0\r\n\r\n'
        : 'HTTP/1.1 201 Created\r\nContent-Length: 8\r\n\r\n{"b":22}';
    });
    const transport = new HttpsTransport();
    try {
      const target = { address: loopback, port: server.port, tlsName: "localhost" };
      const first = await transport.exchange(target, get, await options());
      assertEquals([first.status, new TextDecoder().decode(first.body)], [200, '{"a":1}']);
      const second = await transport.exchange(target, {
        ...get,
        method: "PUT",
        body: new TextEncoder().encode("{}"),
      }, await options());
      assertEquals([second.status, new TextDecoder().decode(second.body)], [201, '{"b":22}']);
      assertEquals(server.connections(), 1, "the second request reused the connection");
      assert(heads[0].startsWith("GET /x?y=1 HTTP/1.1\r\nHost: example.org:8448"), heads[0]);
      assert(/content-length: 2/i.test(heads[1]), heads[1]);
      assertEquals(transport.idleCount, 1);
    } finally {
      transport.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "transport: bodies of megabytes, by length and in chunks",
  ...skipUnless(CA_MISSING),
  async fn() {
    const big = "z".repeat(3 * 1024 * 1024);
    const chunk = "q".repeat(100_000);
    const server = await rawServer((head) =>
      head.startsWith("GET /chunked")
        ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
          `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(30) + "0\r\n\r\n"
        : `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n${big}`
    );
    const transport = new HttpsTransport();
    try {
      const target = { address: loopback, port: server.port, tlsName: "localhost" };
      const opts = await options({ maxBytes: 4 * 1024 * 1024 });
      const byLength = await transport.exchange(target, get, opts);
      assertEquals(byLength.body.length, big.length);
      const chunked = await transport.exchange(target, { ...get, path: "/chunked" }, opts);
      assertEquals(chunked.body.length, chunk.length * 30);
      assertEquals(new TextDecoder().decode(chunked.body.subarray(0, 3)), "qqq");
    } finally {
      transport.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "transport: a kept connection the server closed is replaced transparently",
  ...skipUnless(CA_MISSING),
  async fn() {
    const server = await rawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    const transport = new HttpsTransport();
    try {
      const target = { address: loopback, port: server.port, tlsName: "127.0.0.1" };
      await transport.exchange(target, get, await options());
      await server.close(); // drops the kept connection
      const again = await rawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]");
      try {
        const response = await transport.exchange(
          { ...target, port: again.port },
          get,
          await options(),
        );
        assertEquals(new TextDecoder().decode(response.body), "[]");
      } finally {
        await again.close();
      }
    } finally {
      transport.close();
    }
  },
});

Deno.test({
  name: "transport: size, time, framing and certificate-name failures are typed errors",
  ...skipUnless(CA_MISSING),
  async fn() {
    const server = await rawServer((head) => {
      if (head.startsWith("GET /big")) {
        return "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + "x".repeat(5000);
      }
      if (head.startsWith("GET /chunks")) {
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "800\r\n" + "y".repeat(2048) + "\r\n800\r\n" + "y".repeat(2048) +
          "\r\n0\r\n\r\n";
      }
      if (head.startsWith("GET /bad")) return "SMTP ready\r\n\r\n";
      if (head.startsWith("GET /slow")) return null;
      return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    });
    const transport = new HttpsTransport();
    const target = { address: loopback, port: server.port, tlsName: "localhost" };
    const failure = async (path: string, opts: { maxBytes?: number; timeoutMs?: number }) => {
      const err = await assertRejects(
        async () => await transport.exchange(target, { ...get, path }, await options(opts)),
        TransportError,
      );
      return (err as TransportError).code;
    };
    try {
      assertEquals(await failure("/big", { maxBytes: 4096 }), "TOO_LARGE");
      assertEquals(await failure("/chunks", { maxBytes: 3000 }), "TOO_LARGE");
      assertEquals(await failure("/bad", {}), "BAD_RESPONSE");
      assertEquals(await failure("/slow", { timeoutMs: 300 }), "TIMEOUT");
      const wrongName = await assertRejects(
        async () =>
          await transport.exchange({ ...target, tlsName: "example.org" }, get, await options()),
        TransportError,
      ) as TransportError;
      assertEquals(wrongName.code, "CONNECT");
      // Without the test CA the certificate is not trusted.
      const untrusted = await assertRejects(
        () => transport.exchange(target, get, { caCerts: [], maxBytes: 1024, timeoutMs: 5000 }),
        TransportError,
      ) as TransportError;
      assertEquals(untrusted.code, "CONNECT");
    } finally {
      transport.close();
      await server.close();
    }
  },
});

Deno.test("transport: private and special-purpose addresses are refused unless allowed", async () => {
  const dns = (table: Record<string, string[]>) => (name: string, type: "A" | "AAAA") =>
    Promise.resolve((table[`${type} ${name}`] ?? []).slice());
  const refused = async (host: string, table: Record<string, string[]> = {}) =>
    ((await assertRejects(
      () => resolveAddresses(host, { allowPrivate: false, resolveDns: dns(table) }),
      TransportError,
    )) as TransportError).code;
  assertEquals(await refused("127.0.0.1"), "PRIVATE_ADDRESS");
  assertEquals(await refused("::1"), "PRIVATE_ADDRESS");
  assertEquals(await refused("localhost"), "PRIVATE_ADDRESS");
  assertEquals(await refused("10.1.2.3"), "PRIVATE_ADDRESS");
  assertEquals(await refused("::ffff:192.168.0.1"), "PRIVATE_ADDRESS");
  // One inward address among public ones is enough to refuse the name.
  assertEquals(
    await refused("mixed.example", { "A mixed.example": ["93.184.216.34", "192.168.1.1"] }),
    "PRIVATE_ADDRESS",
  );
  assertEquals(await refused("nothing.example"), "UNRESOLVABLE");
  const publicOnes = await resolveAddresses("pub.example", {
    allowPrivate: false,
    resolveDns: dns({ "A pub.example": ["93.184.216.34"], "AAAA pub.example": ["2606:2800::1"] }),
  });
  assertEquals(publicOnes.length, 2);
  const allowed = await resolveAddresses("127.0.0.1", { allowPrivate: true });
  assertEquals(allowed.length, 1);
});
