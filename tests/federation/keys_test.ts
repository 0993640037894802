/**
 * Federation transport with real nodes on loopback TLS: server keys served and fetched (gemeng
 * to gemeng, gemeng to Synapse and back), the notary endpoints, inbound X-Matrix checks, the
 * `allow` list, pinned keys, private-address refusal, and the plain-HTTP listener refusing the
 * Server-Server API.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../unit/assert.ts";
import { SigningKey, signJson } from "../../crypto/signing.ts";
import { signRequest } from "../../federation/request_auth.ts";
import { checkServerKeys } from "../../federation/server_keys.ts";
import { FederationRequestError } from "../../server/federation/client.ts";
import { rotateSigningKey } from "../../server/federation/key_rotation.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless, SYNAPSE_MISSING, testCa } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";

/** An HTTPS client trusting the test CA, for requests made by hand. */
async function caClient(): Promise<Deno.HttpClient> {
  const ca = await testCa();
  return Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
}

/** Sends a hand-made federation request to `node` with an Authorization header. */
async function federationFetch(
  client: Deno.HttpClient,
  node: GemengNode,
  path: string,
  authorization?: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (authorization) headers.Authorization = authorization;
  const res = await fetch(`${node.federationUrl}${path}`, {
    client,
    method: body === undefined ? "GET" : "PUT",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

Deno.test({
  name: "gemeng serves its keys over TLS; another node fetches, checks, caches and uses them",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const client = await caClient();
    try {
      // Served over TLS, signed by the key it lists.
      const res = await fetch(`${a.federationUrl}/_matrix/key/v2/server`, { client });
      assertEquals(res.status, 200);
      const served = await res.json();
      const checked = await checkServerKeys(served, { serverName: a.serverName, now: Date.now() });
      assertEquals([...checked.keys()], [a.hs.signingKey.keyId]);

      // B fetches A's keys over TLS, and verifies A's signature with them.
      const keys = await b.hs.federation.keys.serverKeys(a.serverName);
      assertEquals(keys.get(a.hs.signingKey.keyId)?.publicKey, a.hs.signingKey.publicKey);
      const signed = await signJson({ hello: "world" }, a.serverName, a.hs.signingKey);
      assertEquals(
        await b.hs.federation.keys.verifySignature(a.serverName, signed),
        { valid: true, keyId: a.hs.signingKey.keyId },
      );
      const forged = { ...signed, hello: "forged" };
      assertEquals((await b.hs.federation.keys.verifySignature(a.serverName, forged)).valid, false);
      const byOther = await signJson({ hello: "world" }, a.serverName, await SigningKey.generate());
      assertEquals(
        (await b.hs.federation.keys.verifySignature(a.serverName, byOther)).valid,
        false,
      );
      // An object signed after the key's validity ended is refused (room versions 5+).
      const late = await b.hs.federation.keys.verifySignature(a.serverName, signed, {
        atTs: Date.now() + 30 * 24 * 3600_000,
      });
      assertEquals(late.valid, false);

      // Kept in KV: a node on the same storage verifies with A stopped.
      const stored = await b.hs.kv.get(["fed_server_keys", a.serverName]);
      assert(stored.value, "keys stored in KV");

      // The notary: B relays A's keys, signed by A and by B.
      const query = await fetch(`${b.federationUrl}/_matrix/key/v2/query`, {
        client,
        method: "POST",
        body: JSON.stringify({ server_keys: { [a.serverName]: {} } }),
      });
      assertEquals(query.status, 200);
      const relayed = (await query.json()).server_keys;
      assertEquals(relayed.length, 1);
      const bKeys = { [b.hs.signingKey.keyId]: b.hs.signingKey.publicKey };
      await checkServerKeys(relayed[0], {
        serverName: a.serverName,
        now: Date.now(),
        notary: { serverName: b.serverName, keys: bKeys },
      });
      const single = await fetch(
        `${b.federationUrl}/_matrix/key/v2/query/${encodeURIComponent(a.serverName)}`,
        { client },
      );
      assertEquals((await single.json()).server_keys[0].server_name, a.serverName);
      const tooMany = await fetch(`${b.federationUrl}/_matrix/key/v2/query`, {
        client,
        method: "POST",
        body: JSON.stringify({ server_keys: { [a.serverName]: [] } }),
      });
      assertEquals(tooMany.status, 400);
      await tooMany.body?.cancel();
    } finally {
      client.close();
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "the plain-HTTP listener does not offer the Server-Server API",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    try {
      for (
        const path of [
          "/_matrix/key/v2/server",
          "/_matrix/federation/v1/version",
          "/_matrix/%66ederation/v1/version",
          "//_matrix/key/v2/server",
        ]
      ) {
        const res = await fetch(`${a.baseUrl}${path}`);
        assertEquals(res.status, 404, path);
        assertEquals((await res.json()).errcode, "M_UNRECOGNIZED");
      }
      // The client API still answers there, and the delegation file names the TLS port.
      const versions = await fetch(`${a.baseUrl}/_matrix/client/versions`);
      assertEquals(versions.status, 200);
      await versions.body?.cancel();
      const wellKnown = await fetch(`${a.baseUrl}/.well-known/matrix/server`);
      assertEquals((await wellKnown.json())["m.server"], a.serverName);
    } finally {
      await a.close();
    }
  },
});

Deno.test({
  name: "inbound requests need a valid X-Matrix signature by the origin, for us",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const client = await caClient();
    try {
      await a.register("alice");
      const path = `/_matrix/federation/v1/query/profile?user_id=${
        encodeURIComponent(`@alice:${a.serverName}`)
      }`;
      const sign = (over: { uri?: string; destination?: string; key?: SigningKey } = {}) =>
        signRequest({
          method: "GET",
          uri: over.uri ?? path,
          origin: b.serverName,
          destination: over.destination ?? a.serverName,
        }, over.key ?? b.hs.signingKey);

      const ok = await federationFetch(client, a, path, await sign());
      assertEquals(ok.status, 200);
      assertEquals(ok.json.displayname, "alice");

      const missing = await federationFetch(client, a, path);
      assertEquals([missing.status, missing.json.errcode], [401, "M_UNAUTHORIZED"]);
      const otherUri = await federationFetch(client, a, path, await sign({ uri: "/_matrix/x" }));
      assertEquals([otherUri.status, otherUri.json.errcode], [401, "M_UNAUTHORIZED"]);
      const wrongDestination = await federationFetch(
        client,
        a,
        path,
        await sign({ destination: "127.0.0.1:1" }),
      );
      assertEquals([wrongDestination.status, wrongDestination.json.errcode], [
        401,
        "M_UNAUTHORIZED",
      ]);
      const unknownKey = await federationFetch(
        client,
        a,
        path,
        await sign({ key: await SigningKey.generate("unknown") }),
      );
      assertEquals([unknownKey.status, unknownKey.json.errcode], [401, "M_UNAUTHORIZED"]);
      const sameIdOtherKey = await SigningKey.fromSeed(
        b.hs.signingKey.keyId,
        crypto.getRandomValues(new Uint8Array(32)),
      );
      const wrongKey = await federationFetch(client, a, path, await sign({ key: sameIdOtherKey }));
      assertEquals([wrongKey.status, wrongKey.json.errcode], [401, "M_UNAUTHORIZED"]);
      const garbage = await federationFetch(client, a, path, "X-Matrix nonsense");
      assertEquals(garbage.status, 401);
      // Older servers send no destination; the signature still covers our name.
      const noDestination = (await sign()).replace(/,destination="[^"]*"/, "");
      assert(!noDestination.includes("destination"));
      assertEquals((await federationFetch(client, a, path, noDestination)).status, 200);
      // The body is covered too.
      const putPath = "/_matrix/federation/v1/send/txn1";
      const signedBody = await signRequest({
        method: "PUT",
        uri: putPath,
        origin: b.serverName,
        destination: a.serverName,
        content: { pdus: [] },
      }, b.hs.signingKey);
      const otherBody = await federationFetch(client, a, putPath, signedBody, { pdus: [1] });
      assertEquals(otherBody.status, 401);
      // Bodies are bounded before anything else is done with them.
      const huge = await federationFetch(client, a, putPath, signedBody, {
        pdus: ["x".repeat(9 * 1024 * 1024)],
      });
      assertEquals([huge.status, huge.json.errcode], [413, "M_TOO_LARGE"]);
      // The version endpoint needs no signature.
      const version = await federationFetch(client, a, "/_matrix/federation/v1/version");
      assertEquals(version.json, { server: { name: "gemeng", version: "0.1.0" } });

      // Outbound through the client, the same request succeeds.
      const viaClient = await b.hs.federation.client.requestJson(a.serverName, {
        method: "GET",
        path: "/_matrix/federation/v1/query/profile",
        query: { user_id: `@alice:${a.serverName}`, field: "displayname" },
      });
      assertEquals(viaClient, { displayname: "alice" });
      const nobody = await b.hs.federation.client.request(a.serverName, {
        method: "GET",
        path: "/_matrix/federation/v1/query/profile",
        query: { user_id: `@nobody:${a.serverName}` },
      });
      assertEquals([nobody.status, (nobody.json as { errcode: string }).errcode], [
        404,
        "M_NOT_FOUND",
      ]);
    } finally {
      client.close();
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "the allow list, pinned keys, private addresses and ourselves are enforced",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    // C federates with A only, and pins a key for B that is not B's.
    const pinned = await SigningKey.generate("pinned");
    const c = await startGemengNode({
      config: {
        federation: {
          allow: [a.serverName],
          pinned_keys: { [b.serverName]: [`${pinned.keyId} ${pinned.publicKeyBase64}`] },
        },
      },
    });
    // D may not reach loopback.
    const d = await startGemengNode({ config: { federation: { allow_private_addresses: false } } });
    try {
      await c.register("carol");
      const query = {
        method: "GET" as const,
        path: "/_matrix/federation/v1/query/profile",
        query: { user_id: `@carol:${c.serverName}` },
      };
      // A is allowed by C; B is not (403 inbound), and C will not send to B.
      assertEquals((await a.hs.federation.client.request(c.serverName, query)).status, 200);
      const refused = await b.hs.federation.client.request(c.serverName, query);
      assertEquals([refused.status, (refused.json as { errcode: string }).errcode], [
        403,
        "M_FORBIDDEN",
      ]);
      const notAllowed = await assertRejects(
        () => c.hs.federation.client.request(b.serverName, query),
        FederationRequestError,
      );
      assertEquals((notAllowed as FederationRequestError).code, "NOT_ALLOWED");
      // Pinned: C never fetches B's keys and accepts only the pinned one.
      const signedByB = await signJson({ x: 1 }, b.serverName, b.hs.signingKey);
      assertEquals(
        (await c.hs.federation.keys.verifySignature(b.serverName, signedByB)).valid,
        false,
      );
      const signedByPin = await signJson({ x: 1 }, b.serverName, pinned);
      assertEquals(
        (await c.hs.federation.keys.verifySignature(b.serverName, signedByPin)).valid,
        true,
      );
      assertEquals((await c.hs.kv.get(["fed_server_keys", b.serverName])).value, null);

      const privateRefused = await assertRejects(
        () => d.hs.federation.client.request(a.serverName, query),
        FederationRequestError,
      );
      assertEquals((privateRefused as FederationRequestError).code, "PRIVATE_ADDRESS");
      const self = await assertRejects(
        () => a.hs.federation.client.request(a.serverName, query),
        FederationRequestError,
      );
      assertEquals((self as FederationRequestError).code, "SELF");
    } finally {
      await Promise.all([a.close(), b.close(), c.close(), d.close()]);
    }
  },
});

Deno.test({
  name: "with Synapse: keys both ways, and Synapse asks our profile endpoint over signed TLS",
  ...skipUnless(SYNAPSE_MISSING ?? CA_MISSING),
  async fn() {
    const synapse = await startSynapse();
    const g = await startGemengNode();
    try {
      // gemeng fetches and checks Synapse's keys.
      const keys = await g.hs.federation.keys.serverKeys(synapse.serverName);
      assert(keys.size >= 1, "Synapse has keys");
      const bob = await synapse.register("bob");

      // A signed request from gemeng is accepted by Synapse.
      const profile = await g.hs.federation.client.requestJson(synapse.serverName, {
        method: "GET",
        path: "/_matrix/federation/v1/query/profile",
        query: { user_id: bob.userId },
      });
      assertEquals(profile.displayname, "bob");

      // Synapse fetches our keys and asks our profile endpoint, signed; we verify it.
      const alice = await g.register("alice");
      await g.request(
        "PUT",
        `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/displayname`,
        {
          token: alice.accessToken,
          body: { displayname: "Alice of gemeng" },
        },
      );
      const remote = await synapse.request(
        "GET",
        `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}`,
        { token: bob.accessToken },
      );
      assertEquals(
        remote.status,
        200,
        `${JSON.stringify(remote.body)}\n${await synapse.logTail()}`,
      );
      assertEquals(remote.body.displayname, "Alice of gemeng");
      const missing = await synapse.request(
        "GET",
        `/_matrix/client/v3/profile/${encodeURIComponent(`@nobody:${g.serverName}`)}`,
        { token: bob.accessToken },
      );
      assertEquals(missing.status, 404);

      // The signature on Synapse's key answer, as another gemeng node relays it.
      const relayed = await g.hs.federation.keys.notaryAnswers(synapse.serverName);
      assertEquals(relayed[0].server_name, synapse.serverName);
    } finally {
      await g.close();
      await synapse.stop();
    }
  },
});

/** Whether this process may listen on 127.0.0.1:443 (root, port free). */
function port443Free(): string | null {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: 443 }).close();
    return null;
  } catch {
    return "cannot listen on 127.0.0.1:443 (the .well-known of a bare host name lives there)";
  }
}

Deno.test({
  name: "a bare server name is found through its /.well-known/matrix/server over HTTPS",
  ...skipUnless(CA_MISSING ?? port443Free()),
  async fn() {
    // "localhost" has no port: others ask https://localhost/.well-known/matrix/server (443),
    // which this node's TLS listener answers with "localhost:443".
    const named = await startGemengNode({ serverName: "localhost", federationPort: 443 });
    const other = await startGemengNode();
    try {
      await named.register("lou");
      const resolved = await other.hs.federation.discovery.resolve("localhost");
      assertEquals([resolved.step, resolved.hostHeader], ["3.2", "localhost:443"]);
      const profile = await other.hs.federation.client.requestJson("localhost", {
        method: "GET",
        path: "/_matrix/federation/v1/query/profile",
        query: { user_id: "@lou:localhost" },
      });
      assertEquals(profile, { displayname: "lou" });
      // And the other way: the named node fetches the other's keys to check its signature.
      assertEquals(
        (await named.hs.federation.keys.serverKeys(other.serverName)).has(
          other.hs.signingKey.keyId,
        ),
        true,
      );
    } finally {
      await named.close();
      await other.close();
    }
  },
});

Deno.test({
  name: "a rotated signing key stays published in old_verify_keys for what it signed",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "gemeng-rotation-" });
    let a = await startGemengNode({ dataDir });
    const port = Number(a.serverName.split(":")[1]);
    const oldKey = a.hs.signingKey;
    const signedBefore = await signJson({ n: 1 }, a.serverName, oldKey);
    await a.close();
    const rotatedAt = Date.now();
    const { retired, current } = await rotateSigningKey({ dataDir }, { now: rotatedAt });
    assertEquals(retired, oldKey.keyId);
    a = await startGemengNode({ dataDir, federationPort: port });
    const c = await startGemengNode();
    try {
      assertEquals(a.hs.signingKey.keyId, current);
      const keys = await c.hs.federation.keys.serverKeys(a.serverName);
      assertEquals(keys.get(oldKey.keyId)?.expiredTs, rotatedAt);
      assertEquals(keys.has(current), true);
      const ring = c.hs.federation.keys;
      // Signed before it was retired: valid; "signed" after: not.
      const before = await ring.verifySignature(a.serverName, signedBefore, {
        atTs: rotatedAt - 1000,
      });
      assertEquals(before, { valid: true, keyId: oldKey.keyId });
      const after = await ring.verifySignature(a.serverName, signedBefore, {
        atTs: rotatedAt + 1000,
      });
      assertEquals(after.valid, false);
      // Requests need a current key: the retired one no longer authenticates them.
      const signedWithOld = await signRequest({
        method: "GET",
        uri: "/_matrix/federation/v1/query/profile?user_id=%40x%3Ay",
        origin: a.serverName,
        destination: c.serverName,
      }, oldKey);
      const client = await caClient();
      try {
        const refused = await federationFetch(
          client,
          c,
          "/_matrix/federation/v1/query/profile?user_id=%40x%3Ay",
          signedWithOld,
        );
        assertEquals(refused.status, 401);
      } finally {
        client.close();
      }
      // And the server itself checks its own retired key the same way.
      assertEquals(
        (await a.hs.federation.keys.verifySignature(a.serverName, signedBefore, {
          atTs: rotatedAt - 1000,
        })).valid,
        true,
      );
    } finally {
      await a.close();
      await c.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
