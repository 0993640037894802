/**
 * E2EE section: the key server's hot paths for a 500-member room, over HTTP (in process) on an
 * on-disk KV, each beside a raw-KV ceiling measured in the same run.
 *
 * - `/keys/query` for all 500 users, against raw `getMany` reads of the same stored records.
 * - `/keys/claim` of one one-time key for each of the 500 devices, against the time the raw
 *   KV needs for as many batched writes (each claim deletes one key).
 * - `/sendToDevice` of a room key to 500 devices (one olm-sized message each), against the
 *   same batched-write ceiling.
 *
 * Ratios are ceiling time / measured time: 1.0 would be as fast as the raw KV.
 */

import { encodeBase64 } from "../crypto/base64.ts";
import { canonicalJsonBytes } from "../crypto/canonical_json.ts";
import { SigningKey } from "../crypto/signing.ts";
import { resolveConfig } from "../server/config.ts";
import { Homeserver } from "../server/homeserver.ts";
import { createUser } from "../server/store/accounts.ts";
import type { KvCeilings } from "./ceilings.ts";
import type { BenchRow } from "./report.ts";

const SECTION = "e2ee";
const ROOM_SIZE = 500;

interface BenchUser {
  userId: string;
  deviceId: string;
  accessToken: string;
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

async function signed(object: Json, userId: string, keyId: string, key: SigningKey) {
  const sig = encodeBase64(await key.sign(canonicalJsonBytes(object)));
  return { ...object, signatures: { [userId]: { [keyId]: sig } } };
}

function randomKey(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
}

async function call(hs: Homeserver, method: string, path: string, user: BenchUser, body: Json) {
  const res = await hs.fetch(
    new Request(`http://bench${path}`, {
      method,
      headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Creates the room's users, each with one device, device keys and `otks` one-time keys. */
async function populate(hs: Homeserver, otks: number): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < ROOM_SIZE; i += 50) {
    users.push(
      ...await Promise.all(Array.from({ length: Math.min(50, ROOM_SIZE - i) }, async (_, j) => {
        const userId = `@member${i + j}:bench.gemeng`;
        const deviceId = `DEV${i + j}`;
        const tokens = await createUser(hs.kv, { userId, passwordHash: null }, {
          login: { deviceId, accessTokenLifetimeMs: 3600_000 },
        });
        const user = { userId, deviceId, accessToken: tokens!.accessToken };
        const key = await SigningKey.generate("b");
        const keyId = `ed25519:${deviceId}`;
        const deviceKeys = await signed(
          {
            user_id: userId,
            device_id: deviceId,
            algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            keys: { [`curve25519:${deviceId}`]: randomKey(), [keyId]: key.publicKeyBase64 },
          },
          userId,
          keyId,
          key,
        );
        const oneTimeKeys: Json = {};
        for (let k = 0; k < otks; k++) {
          oneTimeKeys[`signed_curve25519:AAAA${k}`] = await signed(
            { key: randomKey() },
            userId,
            keyId,
            key,
          );
        }
        await call(hs, "POST", "/_matrix/client/v3/keys/upload", user, {
          device_keys: deviceKeys,
          one_time_keys: oneTimeKeys,
        });
        return user;
      })),
    );
  }
  return users;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Median of `runs` timings of `fn`, in milliseconds. */
async function median(runs: number, fn: (run: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(() => fn(i)));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Runs the E2EE section. */
export async function runE2eeBench(
  options: { quick: boolean; kv: KvCeilings },
): Promise<BenchRow[]> {
  const runs = options.quick ? 3 : 7;
  const dir = await Deno.makeTempDir({ prefix: "gemeng-bench-e2ee-" });
  const config = resolveConfig({
    server_name: "bench.gemeng",
    data_dir: dir,
    rate_limits: { send: { per_second: 1e6, burst: 1e6 } },
  });
  const hs = await Homeserver.open(config);
  try {
    const users = await populate(hs, runs + 1);
    const sender = users[0];
    const rows: BenchRow[] = [];
    const batchedWriteMs = (writes: number) => writes / options.kv.batchedWritesPerSec * 1000;

    // /keys/query for the whole room.
    const queryBody = { device_keys: Object.fromEntries(users.map((u) => [u.userId, []])) };
    const queryMs = await median(runs, async () => {
      const res = await call(hs, "POST", "/_matrix/client/v3/keys/query", sender, queryBody);
      if (Object.keys(res.device_keys).length !== ROOM_SIZE) throw new Error("query incomplete");
    });
    // Ceiling: raw reads of the records the query needs (E2EE device, account device, three
    // cross-signing keys per user), ten keys per getMany, 64 users at a time.
    const rawReadMs = await median(runs, async () => {
      for (let i = 0; i < users.length; i += 64) {
        await Promise.all(
          users.slice(i, i + 64).map(async (u) => {
            await hs.kv.getMany([
              ["e2ee_device", u.userId, u.deviceId],
              ["device", u.userId, u.deviceId],
              ["e2ee_cross_signing", u.userId, "master"],
              ["e2ee_cross_signing", u.userId, "self_signing"],
              ["e2ee_cross_signing", u.userId, "user_signing"],
            ]);
          }),
        );
      }
    });
    rows.push({
      section: SECTION,
      name: `/keys/query, ${ROOM_SIZE} users (1 device each)`,
      value: queryMs,
      unit: "ms",
      ceilingName: "raw KV reads of the same records (ms)",
      ceiling: rawReadMs,
      ratio: rawReadMs / queryMs,
    });

    // /keys/claim of one key per device.
    const claimBody = {
      one_time_keys: Object.fromEntries(
        users.map((u) => [u.userId, { [u.deviceId]: "signed_curve25519" }]),
      ),
    };
    const claimMs = await median(runs, async () => {
      const res = await call(hs, "POST", "/_matrix/client/v3/keys/claim", sender, claimBody);
      if (Object.keys(res.one_time_keys).length !== ROOM_SIZE) throw new Error("claim short");
    });
    rows.push({
      section: SECTION,
      name: `/keys/claim, ${ROOM_SIZE} devices`,
      value: claimMs,
      unit: "ms",
      ceilingName: `raw KV: ${ROOM_SIZE} batched writes (ms)`,
      ceiling: batchedWriteMs(ROOM_SIZE),
      ratio: batchedWriteMs(ROOM_SIZE) / claimMs,
    });

    // To-device fan-out of a room key: one olm ciphertext (~1.5 KB) per device.
    const ciphertext = encodeBase64(crypto.getRandomValues(new Uint8Array(1100)));
    const messages = Object.fromEntries(users.map((u) => [u.userId, {
      [u.deviceId]: {
        algorithm: "m.olm.v1.curve25519-aes-sha2",
        sender_key: randomKey(),
        ciphertext: { [randomKey()]: { type: 0, body: ciphertext } },
      },
    }]));
    const fanOutBytes = JSON.stringify(messages).length;
    const fanOutCeiling = Math.max(
      batchedWriteMs(ROOM_SIZE),
      fanOutBytes / 1e6 / options.kv.writeMBps * 1000,
    );
    const fanOutMs = await median(runs, async (run) => {
      await call(
        hs,
        "PUT",
        `/_matrix/client/v3/sendToDevice/m.room.encrypted/bench${run}`,
        sender,
        {
          messages,
        },
      );
    });
    rows.push({
      section: SECTION,
      name: `to-device fan-out of a room key to ${ROOM_SIZE} devices`,
      value: fanOutMs,
      unit: "ms",
      ceilingName: `raw KV: ${ROOM_SIZE} batched writes of the same bytes (ms)`,
      ceiling: fanOutCeiling,
      ratio: fanOutCeiling / fanOutMs,
      note: `${(fanOutBytes / ROOM_SIZE / 1024).toFixed(1)} KiB per message`,
    });
    return rows;
  } finally {
    await hs.close();
    await Deno.remove(dir, { recursive: true });
  }
}
