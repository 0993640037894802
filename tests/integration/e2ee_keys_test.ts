import { assert, assertEquals } from "../unit/assert.ts";
import { withTestServer } from "../support/test_server.ts";
import { type Json, TestDevice, uploadKeys } from "./e2ee_support.ts";

const QUERY = "/_matrix/client/v3/keys/query";
const CLAIM = "/_matrix/client/v3/keys/claim";

async function snapshot(kv: Deno.Kv, prefix: string): Promise<string> {
  const rows: string[] = [];
  for await (const entry of kv.list({ prefix: [] })) {
    if (String(entry.key[0]).startsWith(prefix)) {
      rows.push(JSON.stringify([entry.key, String(entry.value)]));
    }
  }
  return rows.join("\n");
}

Deno.test("keys/upload: device keys, one-time and fallback keys, counts", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const device = await TestDevice.create(alice);
    const first = await uploadKeys(t, alice, {
      device_keys: await device.deviceKeys(),
      one_time_keys: await device.oneTimeKeys(5),
      fallback_keys: await device.oneTimeKeys(1, { fallback: true }),
    });
    assertEquals(first.status, 200, JSON.stringify(first.body));
    assertEquals(first.body.one_time_key_counts, { signed_curve25519: 5 });
    // More keys without device keys: signatures checked against the stored key.
    const second = await uploadKeys(t, alice, { one_time_keys: await device.oneTimeKeys(3) });
    assertEquals(second.body.one_time_key_counts, { signed_curve25519: 8 });
    // An empty upload just reports counts.
    const empty = await uploadKeys(t, alice, {});
    assertEquals(empty.body.one_time_key_counts, { signed_curve25519: 8 });
    // Unsigned curve25519 keys are accepted as strings.
    const plain = await uploadKeys(t, alice, { one_time_keys: { "curve25519:AAAB": "abcd" } });
    assertEquals(plain.body.one_time_key_counts, { signed_curve25519: 8, curve25519: 1 });
  }));

Deno.test("keys/upload: bad uploads get spec errors and change nothing", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const bob = await t.register("bob", { deviceId: "BOBDEV" });
    const device = await TestDevice.create(alice);
    const otks = await device.oneTimeKeys(2);
    assertEquals(
      (await uploadKeys(t, alice, { device_keys: await device.deviceKeys(), one_time_keys: otks }))
        .status,
      200,
    );
    const before = await snapshot(t.hs.kv, "e2ee_");

    const cases: [string, Json, string][] = [];
    // Signature by another key.
    const stranger = await TestDevice.create(alice);
    const forged = await stranger.deviceKeys();
    forged.keys[`ed25519:${alice.deviceId}`] = device.key.publicKeyBase64;
    cases.push(["forged signature", { device_keys: forged }, "M_INVALID_SIGNATURE"]);
    // Tampered after signing.
    const tampered = await device.deviceKeys();
    tampered.algorithms = ["m.olm.v1.curve25519-aes-sha2"];
    cases.push(["tampered", { device_keys: tampered }, "M_INVALID_SIGNATURE"]);
    // Someone else's user ID or another device ID.
    cases.push([
      "user mismatch",
      { device_keys: await device.deviceKeys({ user_id: bob.userId }) },
      "M_INVALID_PARAM",
    ]);
    cases.push([
      "device mismatch",
      { device_keys: await device.deviceKeys({ device_id: "OTHER" }) },
      "M_INVALID_PARAM",
    ]);
    // Malformed keys.
    cases.push(["not an object", { device_keys: "x" }, "M_BAD_JSON"]);
    cases.push([
      "algorithms not a list",
      { device_keys: await device.deviceKeys({ algorithms: "m.megolm.v1.aes-sha2" }) },
      "M_BAD_JSON",
    ]);
    cases.push(["otk key id", { one_time_keys: { "nocolon": "abc" } }, "M_BAD_JSON"]);
    cases.push(["otk type", { one_time_keys: { "curve25519:A": 5 } }, "M_BAD_JSON"]);
    const badOtk = await device.oneTimeKeys(1);
    const [id] = Object.keys(badOtk);
    badOtk[id].key = "changed";
    cases.push(["otk bad signature", {
      one_time_keys: { ...await device.oneTimeKeys(1), ...badOtk },
    }, "M_INVALID_SIGNATURE"]);
    // Re-using a one-time key ID for another key.
    const [otkId] = Object.keys(otks);
    cases.push([
      "otk id reuse",
      { one_time_keys: { [otkId]: await device.sign({ key: "different" }) } },
      "M_INVALID_PARAM",
    ]);
    cases.push([
      "two fallback keys",
      { fallback_keys: await device.oneTimeKeys(2, { fallback: true }) },
      "M_INVALID_PARAM",
    ]);
    for (const [name, body, errcode] of cases) {
      const res = await uploadKeys(t, alice, body);
      assertEquals(res.status, 400, name);
      assertEquals(res.body.errcode, errcode, `${name}: ${JSON.stringify(res.body)}`);
    }
    const notJson = await t.request("POST", "/_matrix/client/v3/keys/upload", {
      token: alice.accessToken,
      body: "{",
    });
    assertEquals(notJson.body.errcode, "M_NOT_JSON");
    const tooLarge = await uploadKeys(t, alice, { padding: "x".repeat(2 * 1024 * 1024) });
    assertEquals(tooLarge.status, 413);
    assertEquals(await snapshot(t.hs.kv, "e2ee_"), before);
    // Re-uploading the same one-time key is harmless.
    const again = await uploadKeys(t, alice, { one_time_keys: otks });
    assertEquals(again.body.one_time_key_counts, { signed_curve25519: 2 });
    const unauth = await t.request("POST", "/_matrix/client/v3/keys/upload", { body: {} });
    assertEquals(unauth.status, 401);
  }));

Deno.test("keys/upload: accepts what the spec allows (opaque keys, any key IDs)", () =>
  withTestServer(async (t) => {
    const bob = await t.register("bob", { deviceId: "BOBDEV" });
    // Key strings are opaque to the server: a client may publish keys it cannot read, under
    // any `<algorithm>:<key_id>` name, with signatures it cannot check.
    const deviceKeys = {
      user_id: bob.userId,
      device_id: "BOBDEV",
      algorithms: ["m.olm.v1.curve25519-aes-sha2"],
      keys: {
        "curve25519:BOBDEV": "curve25519+key",
        "ed25519:BOBDEV": "ed25519+key",
        "org.example.other:key1": "other",
      },
      signatures: { [bob.userId]: { "ed25519:BOBDEV": "self_signature" } },
    };
    const up = await uploadKeys(t, bob, {
      device_keys: deviceKeys,
      one_time_keys: {
        "signed_curve25519:AAAAHQ": {
          key: "opaque",
          signatures: { [bob.userId]: { "ed25519:BOBDEV": "unverifiable" } },
        },
        "my_algorithm:my_id_1": "my+key",
      },
    });
    assertEquals(up.status, 200, JSON.stringify(up.body));
    assertEquals(up.body.one_time_key_counts, { signed_curve25519: 1, my_algorithm: 1 });
    const query = await t.request("POST", QUERY, {
      token: bob.accessToken,
      body: { device_keys: { [bob.userId]: [] } },
    });
    assertEquals(query.status, 200);
    const stored = query.body.device_keys[bob.userId].BOBDEV;
    assertEquals(stored.keys, deviceKeys.keys);
    assertEquals(stored.signatures, deviceKeys.signatures);
    const claim = await t.request("POST", CLAIM, {
      token: bob.accessToken,
      body: { one_time_keys: { [bob.userId]: { BOBDEV: "my_algorithm" } } },
    });
    assertEquals(claim.body.one_time_keys[bob.userId].BOBDEV, { "my_algorithm:my_id_1": "my+key" });
    // The checks the spec does ask for still hold.
    const wrongDevice = await uploadKeys(t, bob, {
      device_keys: { ...deviceKeys, device_id: "OTHER" },
    });
    assertEquals(wrongDevice.body.errcode, "M_INVALID_PARAM");
    const badName = await uploadKeys(t, bob, {
      device_keys: { ...deviceKeys, keys: { "no-colon": "x" } },
    });
    assertEquals(badName.body.errcode, "M_BAD_JSON");
  }));

Deno.test("keys/query: devices with display names, unknown users, remote failures", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICE1" });
    const alice2 = await t.login("alice", alice.password, {
      device_id: "ALICE2",
      initial_device_display_name: "Phone",
    });
    const bob = await t.register("bob");
    const d1 = await TestDevice.create(alice);
    const d2 = await TestDevice.create(alice2);
    await uploadKeys(t, alice, { device_keys: await d1.deviceKeys() });
    await uploadKeys(t, alice2, { device_keys: await d2.deviceKeys() });
    const all = await t.request("POST", QUERY, {
      token: bob.accessToken,
      body: {
        device_keys: { [alice.userId]: [], "@nobody:localhost": [], "@x:remote.example": [] },
      },
    });
    assertEquals(all.status, 200);
    assertEquals(Object.keys(all.body.device_keys[alice.userId]).sort(), ["ALICE1", "ALICE2"]);
    const phone = all.body.device_keys[alice.userId].ALICE2;
    assertEquals(phone.unsigned, { device_display_name: "Phone" });
    assertEquals(phone.keys["ed25519:ALICE2"], d2.key.publicKeyBase64);
    assert(phone.signatures[alice.userId]["ed25519:ALICE2"]);
    assertEquals(all.body.device_keys["@nobody:localhost"], {});
    assertEquals(all.body.failures, { "remote.example": {} });
    const one = await t.request("POST", QUERY, {
      token: bob.accessToken,
      body: { device_keys: { [alice.userId]: ["ALICE1", "MISSING"] } },
    });
    assertEquals(Object.keys(one.body.device_keys[alice.userId]), ["ALICE1"]);
    for (
      const [body, errcode] of [
        [{}, "M_MISSING_PARAM"],
        [{ device_keys: [] }, "M_BAD_JSON"],
        [{ device_keys: { "not-a-user": [] } }, "M_INVALID_PARAM"],
        [{ device_keys: { [alice.userId]: "ALICE1" } }, "M_BAD_JSON"],
      ] as const
    ) {
      const res = await t.request("POST", QUERY, { token: bob.accessToken, body });
      assertEquals(res.body.errcode, errcode, JSON.stringify(body));
    }
  }));

Deno.test("keys/claim: one-time keys in upload order, then the fallback key", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const bob = await t.register("bob");
    const device = await TestDevice.create(alice);
    const first = await device.oneTimeKeys(2);
    const fallback = await device.oneTimeKeys(1, { fallback: true });
    await uploadKeys(t, alice, {
      device_keys: await device.deviceKeys(),
      one_time_keys: first,
      fallback_keys: fallback,
    });
    const later = await device.oneTimeKeys(1);
    await uploadKeys(t, alice, { one_time_keys: later });
    const claim = () =>
      t.request("POST", CLAIM, {
        token: bob.accessToken,
        body: {
          one_time_keys: {
            [alice.userId]: { ALICEDEV: "signed_curve25519", NODEVICE: "signed_curve25519" },
            "@carol:elsewhere.example": { X: "signed_curve25519" },
          },
        },
      });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await claim();
      assertEquals(res.status, 200);
      assertEquals(res.body.failures, { "elsewhere.example": {} });
      const keys = res.body.one_time_keys[alice.userId].ALICEDEV;
      got.push(...Object.keys(keys));
    }
    assertEquals(got.slice(0, 2).sort(), Object.keys(first).sort());
    assertEquals(got[2], Object.keys(later)[0]);
    // Out of one-time keys: the fallback key, again and again, marked used.
    const sync = await uploadKeys(t, alice, {});
    assertEquals(sync.body.one_time_key_counts, {});
    for (let i = 0; i < 2; i++) {
      const res = await claim();
      assertEquals(res.body.one_time_keys[alice.userId].ALICEDEV, fallback);
    }
    const fb = await t.hs.kv.get<Json>([
      "e2ee_fallback",
      alice.userId,
      "ALICEDEV",
      "signed_curve25519",
    ]);
    assertEquals(fb.value?.used, true);
    // A new fallback key is unused again.
    await uploadKeys(t, alice, { fallback_keys: await device.oneTimeKeys(1, { fallback: true }) });
    const fb2 = await t.hs.kv.get<Json>([
      "e2ee_fallback",
      alice.userId,
      "ALICEDEV",
      "signed_curve25519",
    ]);
    assertEquals(fb2.value?.used, false);
    const bad = await t.request("POST", CLAIM, {
      token: bob.accessToken,
      body: { one_time_keys: { [alice.userId]: { ALICEDEV: 5 } } },
    });
    assertEquals(bad.body.errcode, "M_BAD_JSON");
    const missing = await t.request("POST", CLAIM, { token: bob.accessToken, body: {} });
    assertEquals(missing.body.errcode, "M_MISSING_PARAM");
  }));

Deno.test("keys/claim: concurrent claimers never get the same key", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const device = await TestDevice.create(alice);
    await uploadKeys(t, alice, {
      device_keys: await device.deviceKeys(),
      one_time_keys: await device.oneTimeKeys(30),
    });
    const claimers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => t.register(`claimer${i}`)),
    );
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        t.request("POST", CLAIM, {
          token: claimers[i % 5].accessToken,
          body: { one_time_keys: { [alice.userId]: { ALICEDEV: "signed_curve25519" } } },
        })),
    );
    const ids = results.flatMap((res) =>
      Object.keys(res.body.one_time_keys[alice.userId]?.ALICEDEV ?? {})
    );
    assertEquals(ids.length, 30);
    assertEquals(new Set(ids).size, 30);
    const counts = await uploadKeys(t, alice, {});
    assertEquals(counts.body.one_time_key_counts, {});
  }));

Deno.test("deleting a device deletes its keys", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICE1" });
    const alice2 = await t.login("alice", alice.password, { device_id: "ALICE2" });
    const device = await TestDevice.create(alice2);
    await uploadKeys(t, alice2, {
      device_keys: await device.deviceKeys(),
      one_time_keys: await device.oneTimeKeys(3),
      fallback_keys: await device.oneTimeKeys(1, { fallback: true }),
    });
    const first = await t.request("DELETE", "/_matrix/client/v3/devices/ALICE2", {
      token: alice.accessToken,
      body: {},
    });
    const done = await t.request("DELETE", "/_matrix/client/v3/devices/ALICE2", {
      token: alice.accessToken,
      body: {
        auth: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: alice.password,
          session: first.body.session,
        },
      },
    });
    assertEquals(done.status, 200);
    const query = await t.request("POST", QUERY, {
      token: alice.accessToken,
      body: { device_keys: { [alice.userId]: [] } },
    });
    assertEquals(query.body.device_keys[alice.userId], {});
    for await (const entry of t.hs.kv.list({ prefix: [] })) {
      const [table, user, dev] = entry.key as string[];
      if (table.startsWith("e2ee_") && table !== "e2ee_dl" && table !== "e2ee_dl_head") {
        assert(!(user === alice.userId && dev === "ALICE2"), `left behind: ${entry.key}`);
      }
    }
    const log = await Array.fromAsync(t.hs.kv.list<Json>({ prefix: ["e2ee_dl"] }));
    const last = log.at(-1)!;
    assertEquals(last.key[2], alice.userId);
    assertEquals(last.value.deleted, ["ALICE2"]);
  }));

Deno.test("keys/changes: own device changes between two tokens", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const changes = (from: string, to: string) =>
      t.request("GET", `/_matrix/client/v3/keys/changes?from=${from}&to=${to}`, {
        token: alice.accessToken,
      });
    const before = (await t.hs.kv.get<Deno.KvU64>(["meta", "stream"])).value?.value ?? 0n;
    const device = await TestDevice.create(alice);
    await uploadKeys(t, alice, { device_keys: await device.deviceKeys() });
    const after = (await t.hs.kv.get<Deno.KvU64>(["meta", "stream"])).value!.value;
    assertEquals((await changes(`s${before}`, `s${after}`)).body, {
      changed: [alice.userId],
      left: [],
    });
    assertEquals((await changes(`s${after}`, `s${after}`)).body, { changed: [], left: [] });
    assertEquals((await changes("bogus", `s${after}`)).body.errcode, "M_INVALID_PARAM");
    assertEquals(
      (await t.request("GET", "/_matrix/client/v3/keys/changes?from=s1", {
        token: alice.accessToken,
      })).body.errcode,
      "M_MISSING_PARAM",
    );
  }));
