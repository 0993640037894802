/**
 * Interoperability with matrix-js-sdk's Rust crypto for what needs no rooms: device and
 * one-time key uploads, cross-signing bootstrap (UIA on replacement), cross-signing a second
 * device, and another user seeing it verified.
 */
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import {
  accountDataFallback,
  flushCrypto,
  refreshDeviceLists,
  sdkClient,
  stopAll,
  uiaPassword,
} from "./e2ee_sdk_support.ts";

Deno.test({
  name: "sdk: Rust crypto uploads keys, bootstraps cross-signing and cross-signs a device",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestServer({ modules: [accountDataFallback] });
    const alice = await t.register("alice", { deviceId: "ALICE1" });
    const bob = await t.register("bob", { deviceId: "BOB1" });
    const aliceClient = await sdkClient(t, alice);
    const bobClient = await sdkClient(t, bob);
    let alice2Client;
    try {
      await flushCrypto(aliceClient);
      // The device keys and one-time keys the Rust crypto made are accepted.
      const query = await t.request("POST", "/_matrix/client/v3/keys/query", {
        token: bob.accessToken,
        body: { device_keys: { [alice.userId]: [] } },
      });
      assert(query.body.device_keys[alice.userId].ALICE1, JSON.stringify(query.body));
      const counts = await t.request("POST", "/_matrix/client/v3/keys/upload", {
        token: alice.accessToken,
        body: {},
      });
      assert(counts.body.one_time_key_counts.signed_curve25519 > 0);

      // First upload of cross-signing keys: no UIA needed.
      let asked = 0;
      await aliceClient.getCrypto()!.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: async (makeRequest) => {
          asked++;
          await makeRequest(null);
        },
      });
      await flushCrypto(aliceClient);
      assertEquals(asked, 1);
      assert(await aliceClient.getCrypto()!.isCrossSigningReady());

      // Bob sees Alice's device signed by her self-signing key.
      await refreshDeviceLists(bobClient, [alice.userId]);
      const status = await bobClient.getCrypto()!.getDeviceVerificationStatus(
        alice.userId,
        "ALICE1",
      );
      assert(status?.signedByOwner, "Alice's first device is cross-signed");

      // A second device of Alice, cross-signed by the first one.
      const alice2 = await t.login("alice", alice.password, { device_id: "ALICE2" });
      alice2Client = await sdkClient(t, alice2);
      await flushCrypto(alice2Client);
      await refreshDeviceLists(aliceClient, [alice.userId]);
      await aliceClient.getCrypto()!.crossSignDevice("ALICE2");
      await flushCrypto(aliceClient);
      await refreshDeviceLists(bobClient, [alice.userId]);
      const second = await bobClient.getCrypto()!.getDeviceVerificationStatus(
        alice.userId,
        "ALICE2",
      );
      assert(second?.signedByOwner, "Alice's second device is cross-signed");
      // Alice's second device trusts her identity's signature on itself too.
      await refreshDeviceLists(alice2Client, [alice.userId]);
      const own = await alice2Client.getCrypto()!.getDeviceVerificationStatus(
        alice.userId,
        "ALICE2",
      );
      assert(own?.signedByOwner);

      // A key backup made by the first device: stored, signed, and found by the second.
      await aliceClient.getCrypto()!.resetKeyBackup();
      const version = await aliceClient.getCrypto()!.getActiveSessionBackupVersion();
      const latest = await t.request("GET", "/_matrix/client/v3/room_keys/version", {
        token: alice.accessToken,
      });
      assertEquals(latest.body.version, version);
      assertEquals(latest.body.algorithm, "m.megolm_backup.v1.curve25519-aes-sha2");
      const check = await alice2Client.getCrypto()!.checkKeyBackupAndEnable();
      assertEquals(check?.backupInfo.version, version);
      assert(latest.body.auth_data.signatures[alice.userId]["ed25519:ALICE1"]);

      // Resetting cross-signing replaces the keys: now UIA is required.
      let challenged = false;
      await aliceClient.getCrypto()!.bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: async (makeRequest) => {
          try {
            await makeRequest(null);
          } catch (err) {
            // deno-lint-ignore no-explicit-any
            const session = (err as any).data?.session;
            challenged = typeof session === "string";
            await makeRequest(uiaPassword(alice)(session));
          }
        },
      });
      assert(challenged, "replacing cross-signing keys asks for UIA");
    } finally {
      stopAll(aliceClient, bobClient, ...(alice2Client ? [alice2Client] : []));
      await t.close();
    }
  },
});
