/**
 * Server discovery's caching and backoff, with injected DNS answers and clock (the spec's
 * steps themselves are tested in server_resolution_test.ts).
 */

import { assertEquals } from "./assert.ts";
import {
  ServerDiscovery,
  wellKnownFailureMs,
  wellKnownLifetimeMs,
} from "../../server/federation/discovery.ts";
import { HttpsTransport } from "../../server/federation/transport.ts";
import type { SrvRecord } from "../../federation/server_resolution.ts";

const HOUR = 3600_000;

Deno.test("discovery: .well-known cache lifetimes follow Cache-Control within 1 h and 48 h", () => {
  assertEquals(wellKnownLifetimeMs(null), 24 * HOUR);
  assertEquals(wellKnownLifetimeMs("public"), 24 * HOUR);
  assertEquals(wellKnownLifetimeMs("max-age=7200"), 2 * HOUR);
  assertEquals(wellKnownLifetimeMs("public, max-age=60"), HOUR);
  assertEquals(wellKnownLifetimeMs("max-age=999999999"), 48 * HOUR);
  assertEquals(wellKnownLifetimeMs("no-store"), HOUR);
  assertEquals(wellKnownLifetimeMs("max-age=-5"), 24 * HOUR);
});

Deno.test("discovery: failures back off from 5 minutes, doubling, up to an hour", () => {
  assertEquals(wellKnownFailureMs(1), 5 * 60_000);
  assertEquals(wellKnownFailureMs(2), 10 * 60_000);
  assertEquals(wellKnownFailureMs(3), 20 * 60_000);
  assertEquals(wellKnownFailureMs(10), HOUR);
});

Deno.test("discovery: lookups are cached, failed .well-known retried after the backoff", async () => {
  let now = 1_000_000;
  const asked: string[] = [];
  const transport = new HttpsTransport();
  const discovery = new ServerDiscovery({
    transport,
    caCerts: [],
    allowPrivate: true,
    now: () => now,
    // Nothing listens on 127.0.0.2:443, so the .well-known request fails.
    resolveDns: (name, type) => {
      asked.push(`${type} ${name}`);
      return Promise.resolve(type === "A" ? ["127.0.0.2"] : []);
    },
    resolveSrv: (name): Promise<SrvRecord[]> => {
      asked.push(`SRV ${name}`);
      return Promise.resolve(
        name === "_matrix-fed._tcp.wk.test"
          ? [{ target: "fed.wk.test.", port: 1234, priority: 1, weight: 1 }]
          : [],
      );
    },
  });
  try {
    // IP literals and explicit ports need no lookups.
    assertEquals((await discovery.resolve("127.0.0.1:8448")).step, "1");
    assertEquals((await discovery.resolve("example.org:443")).step, "2");
    assertEquals(asked, []);

    const first = await discovery.resolve("wk.test");
    assertEquals(first.step, "4");
    assertEquals(first.targets, [{ host: "fed.wk.test", port: 1234 }]);
    assertEquals([first.hostHeader, first.tlsName], ["wk.test", "wk.test"]);
    const lookups = asked.length;
    await discovery.resolve("wk.test");
    assertEquals(asked.length, lookups, "everything answered from the cache");

    now += 6 * 60_000; // past the first failure's 5 minutes, within the SRV hour
    await discovery.resolve("wk.test");
    const retried = asked.slice(lookups);
    assertEquals(retried, ["AAAA wk.test", "A wk.test"]);

    now += 6 * 60_000; // the second failure is remembered for 10 minutes
    await discovery.resolve("wk.test");
    assertEquals(asked.length, lookups + 2);
  } finally {
    transport.close();
  }
});

Deno.test("discovery: a private .well-known host is not asked when private addresses are refused", async () => {
  const asked: string[] = [];
  const transport = new HttpsTransport();
  const discovery = new ServerDiscovery({
    transport,
    caCerts: [],
    allowPrivate: false,
    resolveDns: (_name, type) => Promise.resolve(type === "A" ? ["10.0.0.1"] : []),
    resolveSrv: (name) => {
      asked.push(name);
      return Promise.resolve([]);
    },
  });
  try {
    const resolved = await discovery.resolve("inside.test");
    assertEquals(resolved.step, "6");
    assertEquals(resolved.targets, [{ host: "inside.test", port: 8448 }]);
    assertEquals(asked, ["_matrix-fed._tcp.inside.test", "_matrix._tcp.inside.test"]);
  } finally {
    transport.close();
  }
});
