/**
 * The key ring's validity rules on stored keys (current keys until `valid_until_ts`, old keys
 * until `expired_ts`, old keys never for requests, validity ignored when asked), pinned keys,
 * and the refetch cooldown, with in-memory KV and a client that cannot reach anyone.
 */

import { assert, assertEquals } from "./assert.ts";
import { SigningKey, signJson } from "../../crypto/signing.ts";
import { FederationClient } from "../../server/federation/client.ts";
import { ServerDiscovery } from "../../server/federation/discovery.ts";
import { KeyRing, keyRingKeys, type StoredServerKeys } from "../../server/federation/keys.ts";
import { HttpsTransport } from "../../server/federation/transport.ts";

const NOW = 1_800_000_000_000;
const DAY = 24 * 3600_000;

async function ring(options: { pinned?: Record<string, { keyId: string; key: string }[]> } = {}) {
  const kv = await Deno.openKv(":memory:");
  const signingKey = await SigningKey.generate();
  const transport = new HttpsTransport();
  const discovery = new ServerDiscovery({ transport, caCerts: [], allowPrivate: false });
  // The allow list names a server nobody asks about, so every fetch fails at once (counted).
  const client = new FederationClient({
    serverName: "me.test",
    signingKey,
    discovery,
    transport,
    caCerts: [],
    allowPrivateAddresses: false,
    allow: ["only.test"],
  });
  let now = NOW;
  const keys = new KeyRing({
    kv,
    serverName: "me.test",
    signingKey,
    client,
    pinnedKeys: options.pinned ?? {},
    now: () => now,
  });
  return {
    kv,
    keys,
    signingKey,
    advance(ms: number) {
      now += ms;
    },
    close() {
      transport.close();
      kv.close();
    },
  };
}

Deno.test("key ring: current keys until valid_until_ts, old keys until expired_ts", async () => {
  const r = await ring();
  const current = await SigningKey.generate("cur");
  const old = await SigningKey.generate("old");
  const stored: StoredServerKeys = {
    response: null,
    fetchedTs: NOW,
    keys: {
      [current.keyId]: { key: current.publicKeyBase64, validUntilTs: NOW + DAY },
      [old.keyId]: { key: old.publicKeyBase64, validUntilTs: NOW - DAY, expiredTs: NOW - DAY },
    },
  };
  await r.kv.set(keyRingKeys.serverKeys("them.test"), stored);
  try {
    const byCurrent = await signJson({ a: 1 }, "them.test", current);
    const byOld = await signJson({ a: 1 }, "them.test", old);
    const check = (object: Record<string, unknown>, options = {}) =>
      r.keys.verifySignature("them.test", object, options).then((result) => result.valid);

    assertEquals(await check(byCurrent), true);
    assertEquals(await check(byCurrent, { atTs: NOW + 2 * DAY }), false);
    assertEquals(await check(byCurrent, { atTs: NOW + 2 * DAY, enforceValidity: false }), true);
    assertEquals(await check(byOld, { atTs: NOW - 2 * DAY }), true);
    assertEquals(await check(byOld), false, "signed after the old key expired");
    assertEquals(await check(byOld, { atTs: NOW - 2 * DAY, currentOnly: true }), false);
    assertEquals(await check({ ...byCurrent, a: 2 }), false);
    assertEquals(await check({ a: 1 }), false);
    // Our own key needs no fetch.
    const ours = await signJson({ b: 1 }, "me.test", r.signingKey);
    assertEquals((await r.keys.verifySignature("me.test", ours)).valid, true);
  } finally {
    r.close();
  }
});

Deno.test("key ring: pinned keys only; unreachable servers are asked again after a growing pause", async () => {
  const pin = await SigningKey.generate("pin");
  const r = await ring({
    pinned: { "pinned.test": [{ keyId: pin.keyId, key: pin.publicKeyBase64 }] },
  });
  try {
    const byPin = await signJson({ a: 1 }, "pinned.test", pin);
    assertEquals((await r.keys.verifySignature("pinned.test", byPin)).valid, true);
    const other = await signJson({ a: 1 }, "pinned.test", await SigningKey.generate("pin"));
    assertEquals((await r.keys.verifySignature("pinned.test", other)).valid, false);
    assertEquals(await r.keys.notaryAnswers("pinned.test"), []);

    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (message: string) => warnings.push(message);
    try {
      const ask = () => r.keys.verifyKey("far.test", "ed25519:x");
      assertEquals(await ask(), null);
      assertEquals(await r.keys.verifyKey("far.test", "ed25519:y"), null);
      assertEquals(warnings.length, 1, "a second ask right after a failure does not fetch");
      r.advance(5_001);
      await ask();
      assertEquals(warnings.length, 2, "5 s after the first failure");
      r.advance(5_001);
      await ask();
      assertEquals(warnings.length, 2, "the second failure waits 10 s");
      r.advance(5_000);
      await ask();
      assertEquals(warnings.length, 3);
      assert(warnings[0].includes("far.test"));
    } finally {
      console.warn = warn;
    }
  } finally {
    r.close();
  }
});
