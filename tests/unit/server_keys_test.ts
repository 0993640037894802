import { assert, assertEquals } from "./assert.ts";
import { SigningKey, signJson } from "../../crypto/signing.ts";
import {
  checkServerKeys,
  MAX_KEY_VALIDITY_MS,
  publishedKeysJson,
  ServerKeysError,
} from "../../federation/server_keys.ts";

const NOW = 1_800_000_000_000;

async function refused(body: unknown, options: Parameters<typeof checkServerKeys>[1]) {
  try {
    await checkServerKeys(body, options);
  } catch (err) {
    assert(err instanceof ServerKeysError, String(err));
    return err.message;
  }
  throw new Error("accepted");
}

Deno.test("server keys: published keys are signed, and check as the receiver would", async () => {
  const key = await SigningKey.generate("abc");
  const old = await SigningKey.generate("old");
  const published = await publishedKeysJson({
    serverName: "a.lu",
    signingKey: key,
    validUntilTs: NOW + 3600_000,
    oldVerifyKeys: { [old.keyId]: { key: old.publicKeyBase64, expiredTs: NOW - 1000 } },
  });
  assertEquals(Object.keys(published).sort(), [
    "old_verify_keys",
    "server_name",
    "signatures",
    "valid_until_ts",
    "verify_keys",
  ]);
  const keys = await checkServerKeys(published, { serverName: "a.lu", now: NOW });
  assertEquals(keys.get(key.keyId)?.publicKey, key.publicKey);
  assertEquals(keys.get(key.keyId)?.validUntilTs, NOW + 3600_000);
  assertEquals(keys.get(old.keyId)?.expiredTs, NOW - 1000);
  // A far-off valid_until_ts is capped at seven days.
  const long = await publishedKeysJson({
    serverName: "a.lu",
    signingKey: key,
    validUntilTs: NOW * 2,
  });
  const capped = await checkServerKeys(long, { serverName: "a.lu", now: NOW });
  assertEquals(capped.get(key.keyId)?.validUntilTs, NOW + MAX_KEY_VALIDITY_MS);
});

Deno.test("server keys: wrong server, tampering, missing signatures and bad shapes are refused", async () => {
  const key = await SigningKey.generate("abc");
  const good = await publishedKeysJson({ serverName: "a.lu", signingKey: key, validUntilTs: NOW });
  const options = { serverName: "a.lu", now: NOW };
  assert((await refused(good, { ...options, serverName: "b.lu" })).includes("not the server"));
  assert((await refused({ ...good, valid_until_ts: NOW + 1 }, options)).includes("not signed"));
  const other = await SigningKey.generate("abc");
  const swapped = {
    ...good,
    verify_keys: { [key.keyId]: { key: other.publicKeyBase64 } },
  };
  assert((await refused(swapped, options)).includes("not signed"));
  // A second verify key that did not sign.
  const extra = await signJson(
    {
      server_name: "a.lu",
      valid_until_ts: NOW,
      verify_keys: {
        [key.keyId]: { key: key.publicKeyBase64 },
        "ed25519:two": { key: other.publicKeyBase64 },
      },
    },
    "a.lu",
    key,
  );
  assert((await refused(extra, options)).includes("ed25519:two"));
  assert((await refused({ ...good, verify_keys: {} }, options)).length > 0);
  assert((await refused({ ...good, valid_until_ts: "soon" }, options)).includes("integer"));
  assert((await refused(["x"], options)).includes("object"));
  const badId = await signJson(
    {
      server_name: "a.lu",
      valid_until_ts: NOW,
      verify_keys: { "ed25519:bad-id": { key: key.publicKeyBase64 } },
    },
    "a.lu",
    key,
  );
  assert((await refused(badId, options)).includes("key ID"));
});

Deno.test("server keys: an answer relayed by a notary must carry the notary's signature", async () => {
  const key = await SigningKey.generate("abc");
  const notaryKey = await SigningKey.generate("n1");
  const published = await publishedKeysJson({
    serverName: "a.lu",
    signingKey: key,
    validUntilTs: NOW,
  });
  const relayed = await signJson(published, "notary.lu", notaryKey);
  const notary = { serverName: "notary.lu", keys: { [notaryKey.keyId]: notaryKey.publicKey } };
  const keys = await checkServerKeys(relayed, { serverName: "a.lu", now: NOW, notary });
  assertEquals(keys.size, 1);
  assert((await refused(published, { serverName: "a.lu", now: NOW, notary })).includes("notary"));
});
