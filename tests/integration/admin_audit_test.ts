/**
 * The admin audit log over real HTTP: only server admins read it, pages go both ways with
 * `next_token`, filters and bad parameters, the export is a JSON array that records itself
 * (with the caller's address), and `main.ts audit-log export FILE` writes what the command
 * line did.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { appendAuditEntry } from "../../server/admin/audit.ts";
import { runCli } from "../../server/cli.ts";

const BASE = "/_synapse/admin/v1/gemeng/audit_log";

Deno.test("admin audit log: access, pages, filters, bad input, export", async () => {
  const server = await startTestServer();
  try {
    const admin = await server.register("root");
    await updateUser(server.hs.kv, admin.userId, (user) => ({ ...user, admin: true }));
    const mallory = await server.register("mallory");
    const token = admin.accessToken;

    const refused = await server.request("GET", BASE, { token: mallory.accessToken });
    assertEquals(refused.status, 403);
    assertEquals(refused.body.errcode, "M_FORBIDDEN");
    const exportRefused = await server.request("GET", `${BASE}/export`, {
      token: mallory.accessToken,
    });
    assertEquals(exportRefused.status, 403);
    assertEquals((await server.request("GET", BASE)).status, 401);

    const empty = await server.request("GET", BASE, { token });
    assertEquals(empty.status, 200);
    assertEquals(empty.body, { entries: [] });

    // Entries one millisecond apart, as admin modules write them.
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 7; i++) {
      await appendAuditEntry(server.hs.kv, {
        actor: i % 2 === 0 ? admin.userId : "@other:localhost",
        action: i < 4 ? "user.deactivate" : "registration_token.create",
        target: `@u${i}:localhost`,
        ip: "192.0.2.1",
        userAgent: "test",
        via: "api",
        ts: t0 + i,
        details: { i },
      });
    }
    const seen: number[] = [];
    let from: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const query = `?limit=3${from ? `&from=${from}` : ""}`;
      const page = await server.request("GET", `${BASE}${query}`, { token });
      assertEquals(page.status, 200, JSON.stringify(page.body));
      seen.push(...page.body.entries.map((e: { details: { i: number } }) => e.details.i));
      from = page.body.next_token;
      if (!from) break;
    }
    assertEquals(seen, [6, 5, 4, 3, 2, 1, 0], "newest first by default");

    const forwards = await server.request("GET", `${BASE}?dir=f&limit=4`, { token });
    assertEquals(forwards.body.entries.map((e: { details: { i: number } }) => e.details.i), [
      0,
      1,
      2,
      3,
    ]);
    const rest = await server.request(
      "GET",
      `${BASE}?dir=f&limit=4&from=${forwards.body.next_token}`,
      { token },
    );
    assertEquals(rest.body.entries.map((e: { details: { i: number } }) => e.details.i), [4, 5, 6]);
    assertEquals(rest.body.next_token, undefined);

    const first = forwards.body.entries[0];
    assertEquals(first.actor, admin.userId);
    assertEquals(first.action, "user.deactivate");
    assertEquals(first.target, "@u0:localhost");
    assertEquals(first.ip, "192.0.2.1");
    assertEquals(first.ts, t0);
    assertEquals(first.via, "api");

    const byActor = await server.request(
      "GET",
      `${BASE}?user_id=${encodeURIComponent("@other:localhost")}`,
      { token },
    );
    assertEquals(byActor.body.entries.map((e: { details: { i: number } }) => e.details.i), [
      5,
      3,
      1,
    ]);
    const byArea = await server.request("GET", `${BASE}?action=registration_token`, { token });
    assertEquals(byArea.body.entries.length, 3);
    const byTarget = await server.request(
      "GET",
      `${BASE}?target=${encodeURIComponent("@u2:localhost")}`,
      { token },
    );
    assertEquals(byTarget.body.entries.length, 1);
    const window = await server.request(
      "GET",
      `${BASE}?since_ts=${t0 + 2}&until_ts=${t0 + 4}`,
      { token },
    );
    assertEquals(window.body.entries.map((e: { details: { i: number } }) => e.details.i), [3, 2]);
    const inverted = await server.request(
      "GET",
      `${BASE}?since_ts=${t0 + 4}&until_ts=${t0 + 2}`,
      { token },
    );
    assertEquals(inverted.status, 200);
    assertEquals(inverted.body.entries, []);

    for (
      const bad of [
        "?limit=0",
        "?limit=abc",
        "?limit=100000",
        "?dir=x",
        "?from=nonsense",
        "?since_ts=-1",
        `?target=${"x".repeat(300)}`,
        "?action=%00",
      ]
    ) {
      const res = await server.request("GET", `${BASE}${bad}`, { token });
      assertEquals(res.status, 400, bad);
      assertEquals(res.body.errcode, "M_INVALID_PARAM", bad);
    }

    const exported = await fetch(`${server.baseUrl}${BASE}/export`, {
      headers: { Authorization: `Bearer ${token}`, "User-Agent": "audit-test/1" },
    });
    assertEquals(exported.status, 200);
    assert(exported.headers.get("content-disposition")?.startsWith("attachment"));
    const all = await exported.json();
    assert(Array.isArray(all));
    assertEquals(all.length, 8, "seven entries and the export itself");
    assertEquals(all.slice(0, 7).map((e: { details: { i: number } }) => e.details.i), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
    ]);
    const self = all[7];
    assertEquals(self.action, "audit_log.export");
    assertEquals(self.actor, admin.userId);
    assertEquals(self.ip, "127.0.0.1");
    assertEquals(self.user_agent, "audit-test/1");

    const since = await server.request("GET", `${BASE}/export?since_ts=${t0 + 5}`, { token });
    assertEquals(since.body.map((e: { details: { i?: number } }) => e.details.i), [
      5,
      6,
      undefined, // the first export
      undefined, // this one, recorded before it streams
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("admin audit log: the command line records its actions and exports them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-audit-" });
  const lines: string[] = [];
  const io = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
  try {
    const config = `${dir}/gemeng.toml`;
    await Deno.writeTextFile(config, `server_name = "localhost"\ndata_dir = "${dir}/data"\n`);
    const created = await runCli(
      ["user", "create", "ops", "--password", "pw-ops-1", "--config", config],
      io,
    );
    assertEquals(created, 0, lines.join("\n"));
    const token = await runCli(["token", "create", "--uses", "2", "--config", config], io);
    assertEquals(token, 0, lines.join("\n"));
    const purge = await runCli(
      ["media", "purge-remote", "--before-days", "30", "--config", config],
      io,
    );
    assertEquals(purge, 0, lines.join("\n"));
    assertEquals(await runCli(["media", "largest", "--config", config], io), 0);
    const file = `${dir}/audit.json`;
    assertEquals(await runCli(["audit-log", "export", file, "--config", config], io), 0);
    const entries = JSON.parse(await Deno.readTextFile(file));
    assertEquals(entries.map((e: { action: string }) => e.action), [
      "user.create",
      "registration_token.create",
      "media.purge_remote",
    ]);
    assertEquals(entries[2].details["before-days"], "30");
    assertEquals(entries[0].target, "@ops:localhost");
    assertEquals(entries[0].actor, "cli");
    assertEquals(entries[0].via, "cli");
    assertEquals(entries[1].details.uses_allowed, 2);
    assert(!JSON.stringify(entries).includes("pw-ops-1"), "no password in the log");

    assertEquals(await runCli(["audit-log", "export", "--config", config], io), 2);
    assertEquals(
      await runCli(["audit-log", "export", file, "--since", "x", "--config", config], io),
      2,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
