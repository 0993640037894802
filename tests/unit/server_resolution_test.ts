import { assertEquals } from "./assert.ts";
import {
  orderSrv,
  parseWellKnownServer,
  type ResolutionLookups,
  resolveServerName,
  ServerResolutionError,
  type SrvRecord,
} from "../../federation/server_resolution.ts";

/** Lookups from tables; records which were asked for. */
function lookups(
  wellKnown: Record<string, string>,
  srv: Record<string, SrvRecord[]>,
): ResolutionLookups & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    wellKnown: (host) => {
      asked.push(`wk ${host}`);
      return Promise.resolve(wellKnown[host] ?? null);
    },
    srv: (name) => {
      asked.push(`srv ${name}`);
      return Promise.resolve(srv[name] ?? []);
    },
  };
}

const record = (target: string, port: number, priority = 10, weight = 0) => ({
  target,
  port,
  priority,
  weight,
});

Deno.test("resolution: IP literals and explicit ports need no lookup (steps 1 and 2)", async () => {
  const none = lookups({}, {});
  assertEquals(await resolveServerName("1.2.3.4", none), {
    targets: [{ host: "1.2.3.4", port: 8448 }],
    hostHeader: "1.2.3.4",
    tlsName: "1.2.3.4",
    step: "1",
  });
  assertEquals(await resolveServerName("[::1]:8449", none), {
    targets: [{ host: "::1", port: 8449 }],
    hostHeader: "[::1]:8449",
    tlsName: "::1",
    step: "1",
  });
  assertEquals(await resolveServerName("matrix.example.org:443", none), {
    targets: [{ host: "matrix.example.org", port: 443 }],
    hostHeader: "matrix.example.org:443",
    tlsName: "matrix.example.org",
    step: "2",
  });
  assertEquals(none.asked, []);
});

Deno.test("resolution: delegation through .well-known (steps 3.1 to 3.5)", async () => {
  const ip = await resolveServerName("a.lu", lookups({ "a.lu": "10.0.0.1:8500" }, {}));
  assertEquals([ip.step, ip.targets, ip.hostHeader, ip.tlsName], [
    "3.1",
    [{ host: "10.0.0.1", port: 8500 }],
    "10.0.0.1:8500",
    "10.0.0.1",
  ]);
  const port = await resolveServerName("a.lu", lookups({ "a.lu": "chat.a.lu:443" }, {}));
  assertEquals([port.step, port.targets, port.hostHeader, port.tlsName], [
    "3.2",
    [{ host: "chat.a.lu", port: 443 }],
    "chat.a.lu:443",
    "chat.a.lu",
  ]);
  const srv = lookups({ "a.lu": "chat.a.lu" }, {
    "_matrix-fed._tcp.chat.a.lu": [record("b.host.", 8000, 20), record("a.host.", 9000, 10)],
  });
  const bySrv = await resolveServerName("a.lu", srv);
  assertEquals([bySrv.step, bySrv.targets, bySrv.hostHeader, bySrv.tlsName], [
    "3.3",
    [{ host: "a.host", port: 9000 }, { host: "b.host", port: 8000 }],
    "chat.a.lu",
    "chat.a.lu",
  ]);
  // The SRV names are those of the delegated host, never of the original name.
  assertEquals(srv.asked, ["wk a.lu", "srv _matrix-fed._tcp.chat.a.lu"]);
  const old = await resolveServerName(
    "a.lu",
    lookups({ "a.lu": "chat.a.lu" }, { "_matrix._tcp.chat.a.lu": [record("old.host", 8001)] }),
  );
  assertEquals([old.step, old.targets], ["3.4", [{ host: "old.host", port: 8001 }]]);
  const plain = await resolveServerName("a.lu", lookups({ "a.lu": "chat.a.lu" }, {}));
  assertEquals([plain.step, plain.targets, plain.hostHeader], [
    "3.5",
    [{ host: "chat.a.lu", port: 8448 }],
    "chat.a.lu",
  ]);
});

Deno.test("resolution: without delegation, SRV of the name, then the name on 8448 (4-6)", async () => {
  const fed = await resolveServerName(
    "b.lu",
    lookups({}, { "_matrix-fed._tcp.b.lu": [record("fed.b.lu", 8443)] }),
  );
  assertEquals([fed.step, fed.targets, fed.hostHeader, fed.tlsName], [
    "4",
    [{ host: "fed.b.lu", port: 8443 }],
    "b.lu",
    "b.lu",
  ]);
  const old = await resolveServerName(
    "b.lu",
    lookups({}, { "_matrix._tcp.b.lu": [record("old.b.lu", 8444)] }),
  );
  assertEquals([old.step, old.targets], ["5", [{ host: "old.b.lu", port: 8444 }]]);
  const none = lookups({}, {});
  const plain = await resolveServerName("b.lu", none);
  assertEquals([plain.step, plain.targets, plain.hostHeader, plain.tlsName], [
    "6",
    [{ host: "b.lu", port: 8448 }],
    "b.lu",
    "b.lu",
  ]);
  assertEquals(none.asked, ["wk b.lu", "srv _matrix-fed._tcp.b.lu", "srv _matrix._tcp.b.lu"]);
  // An invalid delegation counts as none.
  const bad = await resolveServerName("b.lu", lookups({ "b.lu": "not a name" }, {}));
  assertEquals(bad.step, "6");
});

Deno.test("resolution: SRV ordering, the 'no service' record, bad names", async () => {
  assertEquals(orderSrv([record(".", 0)]), []);
  assertEquals(
    orderSrv([record("c", 1, 5, 1), record("a", 2, 1, 0), record("b", 3, 5, 9), record("d", 0, 1)]),
    [{ host: "a", port: 2 }, { host: "b", port: 3 }, { host: "c", port: 1 }],
  );
  let error: unknown;
  try {
    await resolveServerName("bad name", lookups({}, {}));
  } catch (err) {
    error = err;
  }
  assertEquals(error instanceof ServerResolutionError, true);
});

Deno.test("well-known: m.server must be a server name in a JSON object", () => {
  assertEquals(parseWellKnownServer({ "m.server": "chat.a.lu:443" }), "chat.a.lu:443");
  assertEquals(parseWellKnownServer({ "m.server": "[::1]" }), "[::1]");
  assertEquals(parseWellKnownServer({ "m.server": 5 }), null);
  assertEquals(parseWellKnownServer({ "m.server": "a b" }), null);
  assertEquals(parseWellKnownServer({}), null);
  assertEquals(parseWellKnownServer(["m.server"]), null);
  assertEquals(parseWellKnownServer(null), null);
});
