import { assert, assertEquals, assertNotEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import type { Json } from "./e2ee_support.ts";

const VERSION = "/_matrix/client/v3/room_keys/version";
const KEYS = "/_matrix/client/v3/room_keys/keys";
const ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2";
const ROOM = "!room:localhost";
const ROOM_PATH = encodeURIComponent(ROOM);

async function withServer(fn: (t: TestServer) => Promise<void>): Promise<void> {
  const t = await startTestServer();
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

function session(over: Partial<Json> = {}): Json {
  return {
    first_message_index: 1,
    forwarded_count: 0,
    is_verified: false,
    session_data: { ephemeral: "e", ciphertext: "c", mac: "m" },
    ...over,
  };
}

Deno.test("room_keys/version: create, read, update, delete", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const token = alice.accessToken;
    const none = await t.request("GET", VERSION, { token });
    assertEquals([none.status, none.body.errcode], [404, "M_NOT_FOUND"]);
    const created = await t.request("POST", VERSION, {
      token,
      body: { algorithm: ALGORITHM, auth_data: { public_key: "abc" } },
    });
    assertEquals(created.body, { version: "1" });
    const second = await t.request("POST", VERSION, {
      token,
      body: { algorithm: ALGORITHM, auth_data: { public_key: "def" } },
    });
    assertEquals(second.body, { version: "2" });
    const latest = await t.request("GET", VERSION, { token });
    assertEquals(latest.body, {
      algorithm: ALGORITHM,
      auth_data: { public_key: "def" },
      count: 0,
      etag: "0",
      version: "2",
    });
    assertEquals((await t.request("GET", `${VERSION}/1`, { token })).body.auth_data, {
      public_key: "abc",
    });
    // Backups are per user.
    assertEquals((await t.request("GET", `${VERSION}/1`, { token: bob.accessToken })).status, 404);
    // Update: only auth_data, same algorithm, matching version.
    const update = await t.request("PUT", `${VERSION}/2`, {
      token,
      body: {
        algorithm: ALGORITHM,
        auth_data: { public_key: "def", signatures: {} },
        version: "2",
      },
    });
    assertEquals(update.status, 200);
    const otherAlg = await t.request("PUT", `${VERSION}/2`, {
      token,
      body: { algorithm: "m.other", auth_data: {} },
    });
    assertEquals(otherAlg.body.errcode, "M_INVALID_PARAM");
    const otherVersion = await t.request("PUT", `${VERSION}/2`, {
      token,
      body: { algorithm: ALGORITHM, auth_data: {}, version: "1" },
    });
    assertEquals(otherVersion.body.errcode, "M_INVALID_PARAM");
    const unknown = await t.request("PUT", `${VERSION}/9`, {
      token,
      body: { algorithm: ALGORITHM, auth_data: {} },
    });
    assertEquals(unknown.status, 404);
    const badBody = await t.request("POST", VERSION, { token, body: { algorithm: ALGORITHM } });
    assertEquals(badBody.body.errcode, "M_MISSING_PARAM");
    const badAuth = await t.request("POST", VERSION, {
      token,
      body: { algorithm: ALGORITHM, auth_data: "x" },
    });
    assertEquals(badAuth.body.errcode, "M_BAD_JSON");
    // Delete the latest: the previous one becomes current again; numbers are not reused.
    assertEquals((await t.request("DELETE", `${VERSION}/2`, { token })).status, 200);
    assertEquals((await t.request("DELETE", `${VERSION}/2`, { token })).status, 404);
    assertEquals((await t.request("GET", VERSION, { token })).body.version, "1");
    const third = await t.request("POST", VERSION, {
      token,
      body: { algorithm: ALGORITHM, auth_data: {} },
    });
    assertEquals(third.body.version, "3");
    assertEquals((await t.request("GET", `${VERSION}/abc`, { token })).status, 404);
  }));

Deno.test("room_keys/keys: store, replacement rules, etag and count, delete", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const token = alice.accessToken;
    const v1 = (await t.request("POST", VERSION, {
      token,
      body: { algorithm: ALGORITHM, auth_data: {} },
    })).body.version;
    const put = (path: string, body: Json, version = v1) =>
      t.request("PUT", `${KEYS}${path}?version=${version}`, { token, body });
    const get = (path: string, version = v1) =>
      t.request("GET", `${KEYS}${path}?version=${version}`, { token });

    const one = await put(`/${ROOM_PATH}/s1`, session());
    assertEquals(one.body.count, 1);
    const etag1 = one.body.etag;
    const room = await put(`/${ROOM_PATH}`, { sessions: { s2: session(), s3: session() } });
    assertEquals(room.body.count, 3);
    const all = await put("", {
      rooms: { "!other:localhost": { sessions: { s4: session() } } },
    });
    assertEquals(all.body.count, 4);
    assertNotEquals(all.body.etag, etag1);

    // Replacement: verified beats unverified, then lower first_message_index, then lower
    // forwarded_count; a worse key changes nothing (same etag).
    const steps: [Json, boolean][] = [
      [session({ first_message_index: 5 }), false],
      [session({ first_message_index: 0 }), true],
      [session({ first_message_index: 0, forwarded_count: 3 }), false],
      [session({ first_message_index: 9, is_verified: true }), true],
      [session({ first_message_index: 0, is_verified: false }), false],
      [session({ first_message_index: 9, is_verified: true, forwarded_count: 0 }), false],
    ];
    let etag = (await get("")).body && (await t.request("GET", VERSION, { token })).body.etag;
    for (const [candidate, replaces] of steps) {
      const before = (await get(`/${ROOM_PATH}/s1`)).body;
      const res = await put(`/${ROOM_PATH}/s1`, candidate);
      assertEquals(res.body.count, 4);
      const after = (await get(`/${ROOM_PATH}/s1`)).body;
      assertEquals(after, replaces ? candidate : before, JSON.stringify(candidate));
      assertEquals(res.body.etag !== etag, replaces);
      etag = res.body.etag;
    }
    const info = (await t.request("GET", VERSION, { token })).body;
    assertEquals([info.count, info.etag], [4, etag]);

    // Reads at every level.
    const everything = (await get("")).body;
    assertEquals(Object.keys(everything.rooms).sort(), ["!other:localhost", ROOM].sort());
    assertEquals(Object.keys(everything.rooms[ROOM].sessions).sort(), ["s1", "s2", "s3"]);
    assertEquals((await get(`/${encodeURIComponent("!empty:localhost")}`)).body, { sessions: {} });
    assertEquals((await get(`/${ROOM_PATH}/nope`)).status, 404);

    // Only the current version takes keys.
    const v2 = (await t.request("POST", VERSION, {
      token,
      body: { algorithm: ALGORITHM, auth_data: {} },
    })).body.version;
    const stale = await put(`/${ROOM_PATH}/s9`, session(), v1);
    assertEquals([stale.status, stale.body.errcode, stale.body.current_version], [
      403,
      "M_WRONG_ROOM_KEYS_VERSION",
      v2,
    ]);
    // Old versions can still be read.
    assertEquals(Object.keys((await get("", v1)).body.rooms).length, 2);
    assertEquals((await get("", "77")).status, 404);

    // Deletes at every level update count and etag.
    const delOne = await t.request("DELETE", `${KEYS}/${ROOM_PATH}/s1?version=${v1}`, { token });
    assertEquals(delOne.body.count, 3);
    const delRoom = await t.request("DELETE", `${KEYS}/${ROOM_PATH}?version=${v1}`, { token });
    assertEquals(delRoom.body.count, 1);
    const delAll = await t.request("DELETE", `${KEYS}?version=${v1}`, { token });
    assertEquals(delAll.body.count, 0);
    assert(delAll.body.etag !== delRoom.body.etag);
    // Deleting a version deletes its keys.
    await put(`/${ROOM_PATH}/s1`, session(), v2);
    assertEquals((await t.request("DELETE", `${VERSION}/${v2}`, { token })).status, 200);
    let left = 0;
    for await (const _ of t.hs.kv.list({ prefix: ["e2ee_backup_key", alice.userId, 2] })) left++;
    assertEquals(left, 0);
  }));

Deno.test("room_keys/keys: malformed input changes nothing", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const token = alice.accessToken;
    await t.request("POST", VERSION, { token, body: { algorithm: ALGORITHM, auth_data: {} } });
    const cases: [string, Json, string][] = [
      [`/${ROOM_PATH}/s1`, session({ first_message_index: -1 }), "M_BAD_JSON"],
      [`/${ROOM_PATH}/s1`, session({ is_verified: "yes" }), "M_BAD_JSON"],
      [`/${ROOM_PATH}/s1`, session({ session_data: "x" }), "M_BAD_JSON"],
      [`/${ROOM_PATH}/s1`, session({ forwarded_count: 1.5 }), "M_BAD_JSON"],
      [`/${ROOM_PATH}`, { sessions: { ok: session(), bad: { x: 1 } } }, "M_BAD_JSON"],
      ["", { rooms: { "not-a-room": { sessions: {} } } }, "M_INVALID_PARAM"],
      ["", { rooms: [] }, "M_BAD_JSON"],
      [`/not-a-room/s1`, session(), "M_INVALID_PARAM"],
    ];
    for (const [path, body, errcode] of cases) {
      const res = await t.request("PUT", `${KEYS}${path}?version=1`, { token, body });
      assertEquals(res.body.errcode, errcode, `${path} ${JSON.stringify(body)}`);
    }
    const noVersion = await t.request("PUT", `${KEYS}/${ROOM_PATH}/s1`, { token, body: session() });
    assertEquals(noVersion.body.errcode, "M_MISSING_PARAM");
    const info = (await t.request("GET", VERSION, { token })).body;
    assertEquals([info.count, info.etag], [0, "0"]);
  }));
