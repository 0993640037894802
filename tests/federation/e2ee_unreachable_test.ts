/**
 * Keys of users on a server that cannot be reached: `/keys/query` and `/keys/claim` still
 * answer 200 for everyone else, name the server under `failures`, and keep to the request's
 * `timeout`.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, freePort, skipUnless } from "./support/peers.ts";

Deno.test({
  name: "keys of an unreachable server's users: failures named, the rest answered, in time",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const gone = `127.0.0.1:${freePort()}`;
      const started = Date.now();
      const query = await a.request("POST", "/_matrix/client/v3/keys/query", {
        token: alice.accessToken,
        body: { device_keys: { [alice.userId]: [], [`@x:${gone}`]: [] }, timeout: 3000 },
      });
      assertEquals(query.status, 200, JSON.stringify(query.body));
      assert(gone in query.body.failures, JSON.stringify(query.body));
      assert(alice.userId in query.body.device_keys, JSON.stringify(query.body));
      const claim = await a.request("POST", "/_matrix/client/v3/keys/claim", {
        token: alice.accessToken,
        body: { one_time_keys: { [`@x:${gone}`]: { DEVICE: "signed_curve25519" } }, timeout: 3000 },
      });
      assertEquals(claim.status, 200, JSON.stringify(claim.body));
      assert(gone in claim.body.failures, JSON.stringify(claim.body));
      assert(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    } finally {
      await a.close();
    }
  },
});
