/**
 * `main.ts federation status` and `main.ts federation retry SERVER` as processes on a data
 * directory whose outbox a real {@link FederationSender} left behind: one destination backing
 * off after a failed transaction, one delivered.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { Mutations } from "../../server/rooms/mutations.ts";
import { type DestinationRecord, outboxKeys, queuePdu } from "../../server/federation/outbox.ts";
import { FederationSender } from "../../server/federation/sender.ts";
import type { TransactionTransport } from "../../server/federation/transaction_transport.ts";
import { CA_MISSING, freePort, skipUnless, testCa } from "../federation/support/peers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

const DOWN = "down.example";
const UP = "up.example:8448";

/** Leaves `down.example` failed and backing off, `up.example:8448` delivered. */
async function prepareOutbox(kvFile: string): Promise<void> {
  const kv = await Deno.openKv(kvFile);
  const transport: TransactionTransport = {
    sendTransaction: (destination) =>
      Promise.resolve(
        destination === DOWN
          ? { ok: false, retryable: true, error: "HTTP 503 M_UNKNOWN" }
          : { ok: true },
      ),
  };
  const sender = new FederationSender(kv, {
    origin: "localhost",
    transport,
    loadPdu: (eventId) => Promise.resolve({ event_id: eventId, type: "m.room.message" }),
    backoff: { baseMs: 3_600_000, maxMs: 3_600_000 },
    log: () => {},
  });
  try {
    const m = new Mutations();
    queuePdu(m, [DOWN, UP], { eventId: "$one", pos: 1, roomId: "!r:localhost" });
    const op = kv.atomic();
    m.apply(op);
    assert((await op.commit()).ok);
    sender.start();
    for (let i = 0; i < 100; i++) {
      const down = await kv.get<DestinationRecord>(outboxKeys.destination(DOWN));
      const up = await kv.get<DestinationRecord>(outboxKeys.destination(UP));
      if (down.value?.failures === 1 && up.value?.lastSuccessTs) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await sender.close();
    kv.close();
  }
}

Deno.test("cli: federation status lists destinations, federation retry clears a backoff", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-fed-cli-" });
  try {
    const configPath = `${dir}/gemeng.toml`;
    await Deno.writeTextFile(configPath, `server_name = "localhost"\ndata_dir = "${dir}/data"\n`);
    await Deno.mkdir(`${dir}/data`);

    const empty = await run(["federation", "status", "--config", configPath]);
    assertEquals(empty.code, 0, empty.stderr);
    assert(empty.stdout.includes("no destinations"), empty.stdout);

    await prepareOutbox(`${dir}/data/gemeng.kv`);
    const status = await run(["federation", "status", "--config", configPath]);
    assertEquals(status.code, 0, status.stderr);
    const lines = status.stdout.trim().split("\n");
    assert(lines[0].startsWith("DESTINATION"), status.stdout);
    const down = lines.find((line) => line.startsWith(DOWN));
    const up = lines.find((line) => line.startsWith(UP));
    assert(down && up, status.stdout);
    // Queued 1, 1 failure, backing off (about an hour), the error shown.
    assert(/^down\.example\s+1\s+1\s+\d+s\s+-\s+\S+\s+HTTP 503 M_UNKNOWN$/.test(down), down);
    // Delivered: nothing queued, no failures or backoff, a success time, nothing in flight.
    assert(/^up\.example:8448\s+0\s+0\s+-\s+\d{4}-\d\d-\d\dT\S+Z\s+-\s+-$/.test(up), up);

    const retry = await run(["federation", "retry", DOWN, "--config", configPath]);
    assertEquals(retry.code, 0, retry.stderr);
    assert(retry.stdout.includes("cleared"), retry.stdout);
    const kv = await Deno.openKv(`${dir}/data/gemeng.kv`);
    try {
      const record = await kv.get<DestinationRecord>(outboxKeys.destination(DOWN));
      assertEquals(record.value?.backoffUntil, 0);
      assertEquals(record.value?.failures, 1, "the failure count stays until a success");
      assert(record.value?.inFlight, "the transaction stays to be retried with its ID");
    } finally {
      kv.close();
    }
    const after = await run(["federation", "status", "--config", configPath]);
    const downAfter = after.stdout.split("\n").find((line) => line.startsWith(DOWN));
    assert(downAfter && /^down\.example\s+1\s+1\s+-\s/.test(downAfter), after.stdout);

    const unknown = await run(["federation", "retry", "nowhere.example", "--config", configPath]);
    assertEquals(unknown.code, 1);
    assert(unknown.stderr.includes("no delivery record"), unknown.stderr);
    const bad = await run(["federation", "retry", "not a name", "--config", configPath]);
    assertEquals(bad.code, 2);
    const missing = await run(["federation", "retry", "--config", configPath]);
    assertEquals(missing.code, 2);
    const other = await run(["federation", "purge", "--config", configPath]);
    assertEquals(other.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "cli: admin commands on a federating node start no second federation sender",
  ...skipUnless(CA_MISSING),
  async fn() {
    const ca = await testCa();
    const dir = await Deno.makeTempDir({ prefix: "gemeng-fed-cli-" });
    // A destination that only counts connections: a sender would connect to it at once.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let connections = 0;
    const accepting = (async () => {
      for await (const conn of listener) {
        connections++;
        conn.close();
      }
    })();
    try {
      const destination = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      const configPath = `${dir}/gemeng.toml`;
      await Deno.writeTextFile(
        configPath,
        [
          `server_name = "localhost"`,
          `data_dir = "${dir}/data"`,
          `[federation]`,
          `listen = "127.0.0.1:${freePort()}"`,
          `tls_cert = "${ca.certFile}"`,
          `tls_key = "${ca.keyFile}"`,
          `trusted_ca = ["${ca.caFile}"]`,
          `allow_private_addresses = true`,
        ].join("\n") + "\n",
      );
      await Deno.mkdir(`${dir}/data`);
      const kv = await Deno.openKv(`${dir}/data/gemeng.kv`);
      const m = new Mutations();
      queuePdu(m, [destination], { eventId: "$queued", pos: 1, roomId: "!r:localhost" });
      const op = kv.atomic();
      m.apply(op);
      assert((await op.commit()).ok);
      kv.close();

      const created = await run(["user", "create", "anna", "--config", configPath]);
      assertEquals(created.code, 0, created.stderr);
      const token = await run(["token", "create", "--config", configPath]);
      assertEquals(token.code, 0, token.stderr);
      await new Promise((r) => setTimeout(r, 200));
      assertEquals(connections, 0, "a command tried to deliver the outbox");
      const status = await run(["federation", "status", "--config", configPath]);
      assert(
        new RegExp(`^${destination.replaceAll(".", "\\.")}\\s+1\\s+0\\s`, "m").test(status.stdout),
        status.stdout,
      );
    } finally {
      listener.close();
      await accepting.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("cli: federation rotate-key retires the signing key, still published as an old key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-rotate-" });
  try {
    const configPath = `${dir}/gemeng.toml`;
    await Deno.writeTextFile(configPath, `server_name = "localhost"\ndata_dir = "${dir}/data"\n`);
    // No key yet: nothing to retire.
    const none = await run(["federation", "rotate-key", "--config", configPath]);
    assertEquals(none.code, 1, none.stderr);
    // A first start makes the key; then it is rotated.
    const { Homeserver } = await import("../../server/homeserver.ts");
    const { parseConfig } = await import("../../server/config.ts");
    const config = parseConfig(await Deno.readTextFile(configPath));
    const first = await Homeserver.open(config);
    const before = first.signingKey.keyId;
    await first.close();
    const rotated = await run(["federation", "rotate-key", "--config", configPath]);
    assertEquals(rotated.code, 0, rotated.stderr);
    assert(rotated.stdout.includes(`${before} retired`), rotated.stdout);
    const second = await Homeserver.open(config);
    try {
      assert(second.signingKey.keyId !== before);
      const published = await second.federation.keys.ownKeysJson();
      const old = published.old_verify_keys as Record<string, { expired_ts: number }>;
      assert(old[before] && old[before].expired_ts <= Date.now(), JSON.stringify(published));
      assert(second.signingKey.keyId in (published.verify_keys as Record<string, unknown>));
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
