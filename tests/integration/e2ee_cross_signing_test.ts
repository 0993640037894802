import { assert, assertEquals } from "../unit/assert.ts";
import { type TestServer, type TestUser, withTestServer } from "../support/test_server.ts";
import { CrossSigning, type Json, passwordAuth, TestDevice, uploadKeys } from "./e2ee_support.ts";

const DEVICE_SIGNING = "/_matrix/client/v3/keys/device_signing/upload";
const SIGNATURES = "/_matrix/client/v3/keys/signatures/upload";
const QUERY = "/_matrix/client/v3/keys/query";

async function crossSigningState(t: TestServer, userId: string): Promise<string> {
  const rows = [];
  for (const usage of ["master", "self_signing", "user_signing"]) {
    rows.push((await t.hs.kv.get(["e2ee_cross_signing", userId, usage])).value);
  }
  return JSON.stringify(rows);
}

function query(t: TestServer, user: TestUser, users: string[]) {
  return t.request("POST", QUERY, {
    token: user.accessToken,
    body: { device_keys: Object.fromEntries(users.map((u) => [u, []])) },
  });
}

Deno.test("device_signing/upload: first upload without UIA, replacement with UIA", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const keys = await CrossSigning.create(alice.userId);
    const body = await keys.uploadBody();
    const first = await t.request("POST", DEVICE_SIGNING, { token: alice.accessToken, body });
    assertEquals(first.status, 200, JSON.stringify(first.body));
    // The same keys again (a retry): no UIA.
    const again = await t.request("POST", DEVICE_SIGNING, { token: alice.accessToken, body });
    assertEquals(again.status, 200);
    // New keys need UIA.
    const replacement = await (await CrossSigning.create(alice.userId)).uploadBody();
    const challenge = await t.request("POST", DEVICE_SIGNING, {
      token: alice.accessToken,
      body: replacement,
    });
    assertEquals(challenge.status, 401);
    assertEquals(challenge.body.flows, [{ stages: ["m.login.password"] }]);
    const before = await crossSigningState(t, alice.userId);
    const wrong = await t.request("POST", DEVICE_SIGNING, {
      token: alice.accessToken,
      body: {
        ...replacement,
        auth: { ...passwordAuth(alice, challenge.body.session), password: "nope" },
      },
    });
    assertEquals(wrong.status, 401);
    assertEquals(await crossSigningState(t, alice.userId), before);
    const done = await t.request("POST", DEVICE_SIGNING, {
      token: alice.accessToken,
      body: { ...replacement, auth: passwordAuth(alice, challenge.body.session) },
    });
    assertEquals(done.status, 200, JSON.stringify(done.body));

    // Alice sees all three keys; Bob does not see her user-signing key.
    const own = await query(t, alice, [alice.userId]);
    assertEquals(own.body.master_keys[alice.userId].keys, replacement.master_key.keys);
    assertEquals(own.body.self_signing_keys[alice.userId].keys, replacement.self_signing_key.keys);
    assertEquals(own.body.user_signing_keys[alice.userId].keys, replacement.user_signing_key.keys);
    const other = await query(t, bob, [alice.userId]);
    assertEquals(other.body.master_keys[alice.userId].keys, replacement.master_key.keys);
    assert(other.body.self_signing_keys[alice.userId]);
    assertEquals(other.body.user_signing_keys, {});
  }));

Deno.test("device_signing/upload: bad keys get spec errors and change nothing", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const bob = await t.register("bob");
    const keys = await CrossSigning.create(alice.userId);
    const stranger = await CrossSigning.create(alice.userId);
    const good = await keys.uploadBody();
    const cases: [string, Json, string, number][] = [
      ["no master anywhere", { self_signing_key: good.self_signing_key }, "M_MISSING_PARAM", 400],
      [
        "self-signing not signed by master",
        {
          ...good,
          self_signing_key: await stranger.signWith(
            stranger.master,
            keys.keyObject("self_signing"),
          ),
        },
        "M_INVALID_SIGNATURE",
        400,
      ],
      [
        "user-signing unsigned",
        { ...good, user_signing_key: keys.keyObject("user_signing") },
        "M_INVALID_SIGNATURE",
        400,
      ],
      [
        "someone else's user ID",
        { master_key: { ...keys.keyObject("master"), user_id: bob.userId } },
        "M_INVALID_PARAM",
        400,
      ],
      [
        "wrong usage",
        { master_key: { ...keys.keyObject("master"), usage: ["self_signing"] } },
        "M_INVALID_PARAM",
        400,
      ],
      [
        "two keys",
        {
          master_key: { ...keys.keyObject("master"), keys: { "ed25519:a": "a", "ed25519:b": "b" } },
        },
        "M_INVALID_PARAM",
        400,
      ],
      [
        "name and key disagree",
        {
          master_key: {
            ...keys.keyObject("master"),
            keys: { [`ed25519:${keys.selfSigning.publicKeyBase64}`]: keys.master.publicKeyBase64 },
          },
        },
        "M_INVALID_PARAM",
        400,
      ],
      ["not an object", { master_key: "abc" }, "M_BAD_JSON", 400],
    ];
    for (const [name, body, errcode, status] of cases) {
      const res = await t.request("POST", DEVICE_SIGNING, { token: alice.accessToken, body });
      assertEquals([res.status, res.body.errcode], [status, errcode], name);
    }
    assertEquals(await crossSigningState(t, alice.userId), JSON.stringify([null, null, null]));
    // A key equal to a device ID is refused.
    const collider = await t.login("alice", alice.password, {
      device_id: keys.master.publicKeyBase64,
    });
    const collide = await t.request("POST", DEVICE_SIGNING, {
      token: collider.accessToken,
      body: good,
    });
    assertEquals([collide.status, collide.body.errcode], [403, "M_FORBIDDEN"]);
    assertEquals(await crossSigningState(t, alice.userId), JSON.stringify([null, null, null]));
  }));

Deno.test("signatures/upload: device, master and other users' keys, with failures", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const bob = await t.register("bob", { deviceId: "BOBDEV" });
    const aliceDevice = await TestDevice.create(alice);
    const bobDevice = await TestDevice.create(bob);
    await uploadKeys(t, alice, { device_keys: await aliceDevice.deviceKeys() });
    await uploadKeys(t, bob, { device_keys: await bobDevice.deviceKeys() });
    const aliceKeys = await CrossSigning.create(alice.userId);
    const bobKeys = await CrossSigning.create(bob.userId);
    for (const [user, keys] of [[alice, aliceKeys], [bob, bobKeys]] as const) {
      const res = await t.request("POST", DEVICE_SIGNING, {
        token: user.accessToken,
        body: await keys.uploadBody(),
      });
      assertEquals(res.status, 200);
    }
    const mine = (await query(t, alice, [alice.userId])).body;
    const myDevice = mine.device_keys[alice.userId].ALICEDEV;
    const bobMaster = (await query(t, alice, [bob.userId])).body.master_keys[bob.userId];
    const aliceMasterKeyId = aliceKeys.master.publicKeyBase64;
    const bobMasterKeyId = bobKeys.master.publicKeyBase64;

    const body = {
      [alice.userId]: {
        // Own device, signed by the self-signing key: accepted.
        ALICEDEV: await aliceKeys.signWith(aliceKeys.selfSigning, myDevice),
        // Own master key, signed by the device: accepted.
        [aliceMasterKeyId]: await aliceDevice.sign(mine.master_keys[alice.userId]),
        // Unknown key.
        NOSUCHDEVICE: await aliceKeys.signWith(aliceKeys.selfSigning, { x: 1 }),
      },
      [bob.userId]: {
        // Bob's master, signed by Alice's user-signing key: accepted, private to Alice.
        [bobMasterKeyId]: await aliceKeys.signWith(aliceKeys.userSigning, bobMaster),
        // Bob's device, signed by Alice: not allowed.
        BOBDEV: await aliceKeys.signWith(aliceKeys.userSigning, { a: 1 }),
      },
      "@carol:remote.example": { KEY: { signatures: {} } },
    };
    const res = await t.request("POST", SIGNATURES, { token: alice.accessToken, body });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(
      Object.keys(res.body.failures).sort(),
      [
        "@carol:remote.example",
        alice.userId,
        bob.userId,
      ].sort(),
    );
    assertEquals(Object.keys(res.body.failures[alice.userId]), ["NOSUCHDEVICE"]);
    assertEquals(Object.keys(res.body.failures[bob.userId]), ["BOBDEV"]);

    const selfSigningKeyId = `ed25519:${aliceKeys.selfSigning.publicKeyBase64}`;
    const uskKeyId = `ed25519:${aliceKeys.userSigning.publicKeyBase64}`;
    // Everyone sees Alice's self-signing signature on her device and her device's on her master.
    const asBob = (await query(t, bob, [alice.userId, bob.userId])).body;
    assert(asBob.device_keys[alice.userId].ALICEDEV.signatures[alice.userId][selfSigningKeyId]);
    assert(asBob.master_keys[alice.userId].signatures[alice.userId]["ed25519:ALICEDEV"]);
    // Bob does not see Alice's signature on his master key; Alice does.
    assert(!asBob.master_keys[bob.userId].signatures?.[alice.userId]);
    const asAlice = (await query(t, alice, [bob.userId])).body;
    assert(asAlice.master_keys[bob.userId].signatures[alice.userId][uskKeyId]);

    // Bad signatures are reported per key and change nothing.
    const before = JSON.stringify(await query(t, alice, [alice.userId, bob.userId]));
    const forged = await aliceKeys.signWith(aliceKeys.master, myDevice); // wrong signer key
    const tampered = await aliceKeys.signWith(aliceKeys.selfSigning, myDevice);
    tampered.algorithms = ["x"];
    const badSig = await aliceKeys.signWith(aliceKeys.userSigning, bobMaster);
    badSig.signatures[alice.userId][uskKeyId] = badSig.signatures[alice.userId][uskKeyId]
      .replace(/^./, (c: string) => c === "A" ? "B" : "A");
    const bad = await t.request("POST", SIGNATURES, {
      token: alice.accessToken,
      body: {
        [alice.userId]: { ALICEDEV: forged },
        [bob.userId]: { [bobMasterKeyId]: badSig },
      },
    });
    assertEquals(bad.body.failures[alice.userId].ALICEDEV.errcode, "M_INVALID_SIGNATURE");
    assertEquals(bad.body.failures[bob.userId][bobMasterKeyId].errcode, "M_INVALID_SIGNATURE");
    const mismatch = await t.request("POST", SIGNATURES, {
      token: alice.accessToken,
      body: { [alice.userId]: { ALICEDEV: tampered } },
    });
    assertEquals(mismatch.body.failures[alice.userId].ALICEDEV.errcode, "M_INVALID_PARAM");
    assertEquals(JSON.stringify(await query(t, alice, [alice.userId, bob.userId])), before);
    const notObject = await t.request("POST", SIGNATURES, {
      token: alice.accessToken,
      body: { [alice.userId]: "x" },
    });
    assertEquals(notObject.body.errcode, "M_BAD_JSON");
  }));

Deno.test("signatures/upload: signing another user's master key lists them in the signer's device_lists.changed only", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICEDEV" });
    const bob = await t.register("bob", { deviceId: "BOBDEV" });
    const aliceKeys = await CrossSigning.create(alice.userId);
    const bobKeys = await CrossSigning.create(bob.userId);
    for (const [user, keys] of [[alice, aliceKeys], [bob, bobKeys]] as const) {
      const res = await t.request("POST", DEVICE_SIGNING, {
        token: user.accessToken,
        body: await keys.uploadBody(),
      });
      assertEquals(res.status, 200);
    }
    // No shared room: only the signature can put bob in alice's changed list.
    const sync = (user: TestUser, since?: string) =>
      t.request("GET", `/_matrix/client/v3/sync?timeout=0${since ? `&since=${since}` : ""}`, {
        token: user.accessToken,
      });
    const aliceSince = (await sync(alice)).body.next_batch;
    const bobSince = (await sync(bob)).body.next_batch;
    const bobMaster = (await query(t, alice, [bob.userId])).body.master_keys[bob.userId];
    const res = await t.request("POST", SIGNATURES, {
      token: alice.accessToken,
      body: {
        [bob.userId]: {
          [bobKeys.master.publicKeyBase64]: await aliceKeys.signWith(
            aliceKeys.userSigning,
            bobMaster,
          ),
        },
      },
    });
    assertEquals(res.body.failures, {});
    const aliceNext = (await sync(alice, aliceSince)).body;
    assertEquals(aliceNext.device_lists?.changed, [bob.userId]);
    const bobNext = (await sync(bob, bobSince)).body;
    assert(!bobNext.device_lists?.changed?.includes(alice.userId));
  }));
