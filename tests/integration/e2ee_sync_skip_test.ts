/**
 * The E2EE sync fields answered from memory (server/e2ee/sync_memory.ts) equal what KV holds
 * after random sequences of uploads, claims, to-device sends and deliveries, device deletions
 * and restarts; and an incremental sync with nothing new for the device reads nothing.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { TestDevice, uploadKeys } from "./e2ee_support.ts";
import { oneTimeKeyCounts, unusedFallbackKeyTypes } from "../../server/e2ee/device_keys.ts";
import { hasPendingToDevice, toDeviceForSync } from "../../server/e2ee/to_device.ts";
import { deviceListsBetween, e2eeSyncFields, NO_ROOMS } from "../../server/e2ee/sync_fields.ts";
import { visiblePosition } from "../../server/e2ee/positions.ts";
import { e2eeKeys, type FallbackKeyRecord } from "../../server/e2ee/schema.ts";

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Device = { userId: string; deviceId: string };

async function kvCounts(kv: Deno.Kv, d: Device): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (
    const entry of kv.list<Deno.KvU64>({
      prefix: e2eeKeys.oneTimeKeyCountsOf(d.userId, d.deviceId),
    })
  ) {
    const n = Number(entry.value.value);
    if (n > 0) counts[entry.key[3] as string] = n;
  }
  return counts;
}

async function kvFallback(kv: Deno.Kv, d: Device): Promise<string[]> {
  const types: string[] = [];
  for await (
    const entry of kv.list<FallbackKeyRecord>({
      prefix: e2eeKeys.fallbackKeysOf(d.userId, d.deviceId),
    })
  ) {
    if (!entry.value.used) types.push(entry.key[3] as string);
  }
  return types;
}

async function kvInbox(kv: Deno.Kv, d: Device): Promise<{ pos: number; content: unknown }[]> {
  const out = [];
  for await (
    const entry of kv.list<{ content: unknown }>({
      prefix: e2eeKeys.toDeviceInbox(d.userId, d.deviceId),
    })
  ) {
    out.push({ pos: entry.key[3] as number, content: entry.value.content });
  }
  return out;
}

async function kvDeviceListUsers(kv: Deno.Kv, since: number, upto: number): Promise<Set<string>> {
  const users = new Set<string>();
  for await (const entry of kv.list({ prefix: e2eeKeys.deviceListLog() })) {
    const pos = entry.key[1] as number;
    if (pos > since && pos <= upto) users.add(entry.key[2] as string);
  }
  return users;
}

/** Counts the KV operations made through `kv` while `fn` runs. */
async function countOps<T>(kv: Deno.Kv, fn: () => Promise<T>): Promise<{ ops: number; value: T }> {
  const target = kv as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ["get", "getMany", "list", "atomic", "set", "delete", "enqueue"];
  const saved = names.map((name) => target[name]);
  let ops = 0;
  names.forEach((name, i) => {
    target[name] = (...args: unknown[]) => {
      ops++;
      if (Deno.env.get("DBG")) console.log("op", name, JSON.stringify(args[0]));
      return saved[i].apply(kv, args);
    };
  });
  try {
    const value = await fn();
    return { ops, value };
  } finally {
    names.forEach((name) => delete target[name]);
  }
}

async function sendToDevice(t: TestServer, from: TestUser, txn: string, messages: unknown) {
  const res = await t.request("PUT", `/_matrix/client/v3/sendToDevice/m.test/${txn}`, {
    token: from.accessToken,
    body: { messages },
  });
  assertEquals(res.status, 200);
}

async function deleteDevice(t: TestServer, owner: TestUser, deviceId: string) {
  const first = await t.request("DELETE", `/_matrix/client/v3/devices/${deviceId}`, {
    token: owner.accessToken,
    body: {},
  });
  const done = await t.request("DELETE", `/_matrix/client/v3/devices/${deviceId}`, {
    token: owner.accessToken,
    body: {
      auth: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: owner.userId.slice(1).split(":")[0] },
        password: owner.password,
        session: first.body.session,
      },
    },
  });
  assertEquals(done.status, 200);
}

for (const seed of [1, 2, 3]) {
  Deno.test(`e2ee sync memory equals KV over a random sequence (seed ${seed})`, async () => {
    const dataDir = await Deno.makeTempDir();
    let t = await startTestServer({ dataDir });
    try {
      const rand = random(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)];
      const alice = await t.register("alice", { deviceId: "A1" });
      let alice2 = await t.login("alice", alice.password, { device_id: "A2" });
      const bob = await t.register("bob", { deviceId: "B1" });
      const users = () => [alice, alice2, bob];
      const clients = new Map<string, TestDevice>();
      const client = async (user: TestUser) => {
        let c = clients.get(user.deviceId);
        if (!c) {
          clients.set(user.deviceId, c = await TestDevice.create(user));
          const up = await uploadKeys(t, user, { device_keys: await c.deviceKeys() });
          assertEquals(up.status, 200, JSON.stringify(up.body));
        }
        return c;
      };
      // Each device's acknowledged to-device position, as its sync token would carry it.
      const since = new Map<string, number | null>(users().map((u) => [u.deviceId, null]));
      let txn = 0;
      let listSince = await visiblePosition(t.hs);

      for (let step = 0; step < 40; step++) {
        const action = rand();
        const user = pick(users());
        if (action < 0.2) {
          const c = await client(user);
          const body: Record<string, unknown> = {
            one_time_keys: await c.oneTimeKeys(1 + step % 3),
          };
          if (rand() < 0.4) body.fallback_keys = await c.oneTimeKeys(1, { fallback: true });
          const up = await uploadKeys(t, user, body);
          assertEquals(up.status, 200, JSON.stringify(up.body));
        } else if (action < 0.35) {
          const res = await t.request("POST", "/_matrix/client/v3/keys/claim", {
            token: bob.accessToken,
            body: { one_time_keys: { [user.userId]: { [user.deviceId]: "signed_curve25519" } } },
          });
          assertEquals(res.status, 200);
        } else if (action < 0.55) {
          const target = rand() < 0.3 ? { [alice.userId]: { "*": { step } } } : {
            [user.userId]: { [user.deviceId]: { step } },
          };
          await sendToDevice(t, pick(users()), `t${++txn}`, target);
        } else if (action < 0.85) {
          // A sync of `user`: what it hands out is exactly the inbox in (since, upto], and it
          // leaves nothing at or below its acknowledged position.
          const upto = await visiblePosition(t.hs);
          const from = since.get(user.deviceId) ?? null;
          const before = await kvInbox(t.hs.kv, user);
          const batch = await toDeviceForSync(t.hs.kv, user, { since: from, upto, limit: 3 });
          const expected = before.filter((m) => m.pos > (from ?? 0) && m.pos <= upto).slice(0, 3);
          assertEquals(batch.events.map((e) => e.content), expected.map((m) => m.content));
          if (from !== null && from > 0) {
            assert((await kvInbox(t.hs.kv, user)).every((m) => m.pos > from));
          }
          since.set(user.deviceId, batch.reached);
        } else if (action < 0.93) {
          await deleteDevice(t, alice, "A2");
          alice2 = await t.login("alice", alice.password, { device_id: "A2" });
          clients.delete("A2");
          since.set("A2", null);
        } else {
          await t.close();
          t = await startTestServer({ dataDir });
        }

        const upto = await visiblePosition(t.hs);
        for (const u of users()) {
          assertEquals(await oneTimeKeyCounts(t.hs.kv, u), await kvCounts(t.hs.kv, u));
          assertEquals(
            (await unusedFallbackKeyTypes(t.hs.kv, u)).sort(),
            (await kvFallback(t.hs.kv, u)).sort(),
          );
          const from = since.get(u.deviceId) ?? 0;
          const pending = (await kvInbox(t.hs.kv, u)).some((m) => m.pos > from && m.pos <= upto);
          assertEquals(await hasPendingToDevice(t.hs.kv, u, { since: from, upto }), pending);
        }
        for (const u of [alice, bob]) {
          const lists = await deviceListsBetween(t.hs, u.userId, {
            since: listSince,
            upto,
            rooms: NO_ROOMS,
          });
          const changed = await kvDeviceListUsers(t.hs.kv, listSince, upto);
          assertEquals(lists.changed.includes(u.userId), changed.has(u.userId));
        }
        if (rand() < 0.5) listSince = upto;
      }
    } finally {
      await t.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}

Deno.test("e2ee sync fields: an incremental sync with nothing new for the device reads nothing", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.register("alice", { deviceId: "A1" });
    const bob = await t.register("bob", { deviceId: "B1" });
    const device = await TestDevice.create(alice);
    await uploadKeys(t, alice, {
      device_keys: await device.deviceKeys(),
      one_time_keys: await device.oneTimeKeys(2),
      fallback_keys: await device.oneTimeKeys(1, { fallback: true }),
    });
    const fields = async (since: number) => {
      const upto = await visiblePosition(t.hs);
      return await countOps(
        t.hs.kv,
        () => e2eeSyncFields(t.hs, alice, { since, upto, rooms: NO_ROOMS }),
      );
    };
    let pos = await visiblePosition(t.hs);
    const warm = await fields(pos);
    assert(warm.ops > 0);
    assertEquals(warm.value.device_one_time_keys_count, { signed_curve25519: 2 });
    const idle = await fields(pos);
    assertEquals(idle.ops, 0);
    assertEquals(idle.value.device_one_time_keys_count, { signed_curve25519: 2 });
    assertEquals(idle.value.device_unused_fallback_key_types, ["signed_curve25519"]);

    // A to-device message: read once, deleted once acknowledged, then nothing again.
    await sendToDevice(t, bob, "m1", { [alice.userId]: { A1: { hello: 1 } } });
    const delivered = await fields(pos);
    assertEquals(delivered.value.to_device.events.map((e) => e.content), [{ hello: 1 }]);
    pos = delivered.value.toDeviceReached;
    const acknowledged = await fields(pos);
    assert(acknowledged.ops > 0);
    assertEquals((await kvInbox(t.hs.kv, alice)).length, 0);
    assertEquals((await fields(pos)).ops, 0);

    // A claim changes the counts: read again, then remembered.
    const claim = await t.request("POST", "/_matrix/client/v3/keys/claim", {
      token: bob.accessToken,
      body: { one_time_keys: { [alice.userId]: { A1: "signed_curve25519" } } },
    });
    assertEquals(claim.status, 200);
    const afterClaim = await fields(pos);
    assert(afterClaim.ops > 0);
    assertEquals(afterClaim.value.device_one_time_keys_count, { signed_curve25519: 1 });
    assertEquals((await fields(pos)).ops, 0);

    // A device-list change above `since` is read from the log.
    await uploadKeys(t, alice, { device_keys: await device.deviceKeys({ extra: 1 }) });
    const changed = await fields(pos);
    assertEquals(changed.value.device_lists?.changed, [alice.userId]);
    pos = await visiblePosition(t.hs);
    assertEquals((await fields(pos)).ops, 0);
  } finally {
    await t.close();
  }
});
