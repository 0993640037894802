/**
 * Requests whose size reaches Deno KV's per-call limits (10 keys per `getMany`; per commit 100
 * checks, 1,000 mutations, 80 KiB of keys, 800 KiB of payload; 64 KiB per serialized value)
 * must work or be refused with a Matrix error, never end in a 500.
 */

import { assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { CrossSigning, type Json, TestDevice } from "./e2ee_support.ts";

const CLAIM = "/_matrix/client/v3/keys/claim";
const UPLOAD = "/_matrix/client/v3/keys/upload";
const QUERY = "/_matrix/client/v3/keys/query";
const SIGNATURES = "/_matrix/client/v3/keys/signatures/upload";
const SYNC = "/_matrix/client/v3/sync";
const BACKUP = "/_matrix/client/v3/room_keys";

/** `n` extra devices of a registered user (each logged in with its own device ID). */
async function moreDevices(
  t: TestServer,
  user: TestUser,
  n: number,
  options: { localpart?: string; idOf?: (i: number) => string } = {},
): Promise<TestUser[]> {
  const localpart = options.localpart ?? user.userId.slice(1).split(":")[0];
  const out: TestUser[] = [];
  for (let i = 0; i < n; i++) {
    const extra = options.idOf ? { device_id: options.idOf(i) } : {};
    out.push(await t.login(localpart, user.password, extra));
  }
  return out;
}

/** A string whose JSON is `bytes` long but which V8 (so KV) stores at two bytes a character. */
function twoByteString(bytes: number): string {
  return "x".repeat(bytes - 3) + "\u4e00";
}

Deno.test("claiming keys for 25 devices without one-time keys answers 200", async () => {
  const t = await startTestServer();
  try {
    const users = await Promise.all(["ann", "bob", "cy"].map((name) => t.register(name)));
    const devices: TestUser[] = [];
    for (const [i, user] of users.entries()) {
      devices.push(user, ...await moreDevices(t, user, [8, 8, 6][i]));
    }
    assertEquals(devices.length, 25);
    // Two devices have a fallback key; nobody has one-time keys.
    const withFallback = await Promise.all(devices.slice(0, 2).map((d) => TestDevice.create(d)));
    for (const device of withFallback) {
      const res = await t.request("POST", UPLOAD, {
        token: device.user.accessToken,
        body: {
          device_keys: await device.deviceKeys(),
          fallback_keys: await device.oneTimeKeys(1, { fallback: true }),
        },
      });
      assertEquals(res.status, 200);
    }
    const wanted: Record<string, Record<string, string>> = {};
    for (const device of devices) {
      (wanted[device.userId] ??= {})[device.deviceId] = "signed_curve25519";
    }
    // Devices that do not exist are looked up the same way.
    for (let i = 0; i < 20; i++) wanted[users[2].userId][`GONE${i}`] = "signed_curve25519";
    const res = await t.request("POST", CLAIM, {
      token: users[0].accessToken,
      body: { one_time_keys: wanted },
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body.failures, {});
    const answered = Object.values(res.body.one_time_keys as Record<string, Json>)
      .flatMap((byDevice) => Object.keys(byDevice));
    assertEquals(answered.sort(), devices.slice(0, 2).map((d) => d.deviceId).sort());
    const key = res.body.one_time_keys[devices[0].userId][devices[0].deviceId];
    assertEquals(Object.values(key as Json)[0].fallback, true);
  } finally {
    await t.close();
  }
});

Deno.test("a claim naming a device ID longer than 255 bytes is 400", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("dee");
    const res = await t.request("POST", CLAIM, {
      token: user.accessToken,
      body: { one_time_keys: { [user.userId]: { ["D".repeat(3000)]: "signed_curve25519" } } },
    });
    assertEquals([res.status, res.body.errcode], [400, "M_INVALID_PARAM"]);
  } finally {
    await t.close();
  }
});

Deno.test("logging out 15 devices at once deletes their keys", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("eve");
    const others = await moreDevices(t, user, 14);
    const device = await TestDevice.create(others[0]);
    const upload = await t.request("POST", UPLOAD, {
      token: others[0].accessToken,
      body: { device_keys: await device.deviceKeys(), one_time_keys: await device.oneTimeKeys(3) },
    });
    assertEquals(upload.status, 200);
    const res = await t.request("POST", "/_matrix/client/v3/logout/all", {
      token: user.accessToken,
      body: {},
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    const again = await t.register("eve2");
    const query = await t.request("POST", QUERY, {
      token: again.accessToken,
      body: { device_keys: { [user.userId]: [] } },
    });
    assertEquals(query.body.device_keys[user.userId], {});
    // The keys themselves are gone, not only hidden behind the deleted devices.
    for (const prefix of ["e2ee_device", "e2ee_otk", "e2ee_otk_count"]) {
      const left = await Array.fromAsync(t.hs.kv.list({ prefix: [prefix, user.userId] }));
      assertEquals(left.length, 0, prefix);
    }
  } finally {
    await t.close();
  }
});

Deno.test("a key upload too large for one commit is 413, nothing stored", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("fay");
    // 200 keys with 128-byte algorithm names and key IDs: some 87 KB of keys in one commit.
    const algorithm = "a".repeat(128);
    const keys: Json = {};
    for (let i = 0; i < 200; i++) keys[`${algorithm}:${String(i).padStart(128, "k")}`] = "key";
    const res = await t.request("POST", UPLOAD, {
      token: user.accessToken,
      body: { one_time_keys: keys },
    });
    assertEquals([res.status, res.body.errcode], [413, "M_TOO_LARGE"], JSON.stringify(res.body));
    const counts = await t.request("POST", UPLOAD, { token: user.accessToken, body: {} });
    assertEquals(counts.body.one_time_key_counts, {});
    // Half of them fit.
    const half = Object.fromEntries(Object.entries(keys).slice(0, 100));
    const ok = await t.request("POST", UPLOAD, {
      token: user.accessToken,
      body: { one_time_keys: half },
    });
    assertEquals(ok.status, 200, JSON.stringify(ok.body));
    assertEquals(ok.body.one_time_key_counts, { [algorithm]: 100 });
  } finally {
    await t.close();
  }
});

Deno.test("to-device: content that KV stores above 64 KiB is 413", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("gus");
    const res = await t.request("PUT", "/_matrix/client/v3/sendToDevice/m.test/t1", {
      token: user.accessToken,
      body: { messages: { [user.userId]: { [user.deviceId]: { body: twoByteString(40_000) } } } },
    });
    assertEquals([res.status, res.body.errcode], [413, "M_TOO_LARGE"], JSON.stringify(res.body));
  } finally {
    await t.close();
  }
});

Deno.test("to-device: 160 devices with 255-byte IDs get their messages and sync", async () => {
  const t = await startTestServer();
  try {
    const localpart = "h".repeat(240); // a 252-byte user ID
    const user = await t.register(localpart, { deviceId: "0".repeat(255) });
    const devices = await moreDevices(t, user, 159, {
      localpart,
      idOf: (i) => String(i + 1).padStart(255, "0"),
    });
    const res = await t.request("PUT", "/_matrix/client/v3/sendToDevice/m.test/t1", {
      token: user.accessToken,
      body: { messages: { [user.userId]: { "*": { hello: "world" } } } },
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    const last = devices[devices.length - 1];
    const first = await t.request("GET", `${SYNC}?timeout=0`, { token: last.accessToken });
    assertEquals(first.status, 200);
    assertEquals(first.body.to_device.events.length, 1);
    // Acknowledging (deleting) the inbox and syncing again works too.
    const next = await t.request("GET", `${SYNC}?timeout=0&since=${first.body.next_batch}`, {
      token: last.accessToken,
    });
    assertEquals(next.status, 200);
    assertEquals(next.body.to_device?.events ?? [], []);
  } finally {
    await t.close();
  }
});

async function newBackup(t: TestServer, user: TestUser): Promise<string> {
  const res = await t.request("POST", `${BACKUP}/version`, {
    token: user.accessToken,
    body: { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "x" } },
  });
  assertEquals(res.status, 200);
  return res.body.version;
}

function session(data: string, index = 0): Json {
  return {
    first_message_index: index,
    forwarded_count: 0,
    is_verified: false,
    session_data: { ciphertext: data },
  };
}

Deno.test("room keys: 30 sessions of 30 KB are stored in several commits", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("ivy");
    const version = await newBackup(t, user);
    const sessions: Json = {};
    for (let i = 0; i < 30; i++) sessions[`s${i}`] = session("c".repeat(30_000));
    const res = await t.request("PUT", `${BACKUP}/keys?version=${version}`, {
      token: user.accessToken,
      body: { rooms: { "!r:localhost": { sessions } } },
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body.count, 30);
    const read = await t.request("GET", `${BACKUP}/keys/!r:localhost?version=${version}`, {
      token: user.accessToken,
    });
    assertEquals(Object.keys(read.body.sessions).length, 30);
  } finally {
    await t.close();
  }
});

Deno.test("room keys: session data that KV stores above 64 KiB is 413", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("jo");
    const version = await newBackup(t, user);
    const res = await t.request("PUT", `${BACKUP}/keys/!r:localhost/s1?version=${version}`, {
      token: user.accessToken,
      body: session(twoByteString(32_740)),
    });
    assertEquals([res.status, res.body.errcode], [413, "M_TOO_LARGE"], JSON.stringify(res.body));
  } finally {
    await t.close();
  }
});

Deno.test("keys/query for 3000 users with several devices each answers 200", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("kim");
    const wanted: Record<string, string[]> = { [user.userId]: [user.deviceId, "X", "Y"] };
    for (let i = 0; i < 3000; i++) wanted[`@u${i}:localhost`] = ["A", "B", "C", "D"];
    const res = await t.request("POST", QUERY, {
      token: user.accessToken,
      body: { device_keys: wanted },
    });
    assertEquals(res.status, 200);
    assertEquals(Object.keys(res.body.device_keys).length, 3001);
  } finally {
    await t.close();
  }
});

Deno.test("signature uploads with over-long key or user IDs are failures, not 500s", async () => {
  const t = await startTestServer();
  try {
    const user = await t.register("lee");
    const long = "K".repeat(3000);
    const signed = { keys: {}, signatures: { [user.userId]: { [`ed25519:${long}`]: "sig" } } };
    const res = await t.request("POST", SIGNATURES, {
      token: user.accessToken,
      body: { [user.userId]: { [long]: signed } },
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(res.body.failures[user.userId][long].errcode, "M_INVALID_PARAM");
    const badUser = await t.request("POST", SIGNATURES, {
      token: user.accessToken,
      body: { [`@${"u".repeat(3000)}:localhost`]: { KEY: signed } },
    });
    assertEquals([badUser.status, badUser.body.errcode], [400, "M_INVALID_PARAM"]);
    // A master key carrying a signature by an over-long "device" key ID.
    const cross = await CrossSigning.create(user.userId);
    const body = await cross.uploadBody();
    body.master_key.signatures = { [user.userId]: { [`ed25519:${long}`]: "c2ln" } };
    const master = await t.request("POST", "/_matrix/client/v3/keys/device_signing/upload", {
      token: user.accessToken,
      body,
    });
    assertEquals(master.status, 200, JSON.stringify(master.body));
  } finally {
    await t.close();
  }
});
