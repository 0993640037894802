/**
 * The federation admin API over real HTTP, with two gemeng nodes on loopback TLS: node B joins
 * a room on A and stops; A's message to it fails and backs off, which the destination list
 * shows; `reset_connection` retries at once; B back up and calling A ends A's backoff
 * (`destinationUp`) and the queue drains. Non-admins are refused.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { type GemengNode, startGemengNode } from "../federation/support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "../federation/support/peers.ts";
import { eventually } from "../federation/support/rooms.ts";

const BASE = "/_synapse/admin/v1/federation/destinations";

// deno-lint-ignore no-explicit-any
type Json = any;

async function destination(node: GemengNode, token: string, name: string): Promise<Json> {
  const res = await node.request("GET", `${BASE}/${encodeURIComponent(name)}`, { token });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

Deno.test({
  name: "federation admin: destinations with failures and backoff, reset, destinationUp, 403",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const kvB = await Deno.openKv(":memory:");
    let b: GemengNode | null = await startGemengNode({ kv: kvB });
    const bName = b.serverName;
    const bPort = Number(bName.split(":")[1]);
    const bKey = b.hs.signingKey;
    try {
      const alice = await a.register("alice");
      await updateUser(a.hs.kv, alice.userId, (user) => ({ ...user, admin: true }));
      const mallory = await a.register("mallory");
      const bob = await b.register("bob");
      const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const roomId = created.body.room_id as string;
      const joined = await b.request(
        "POST",
        `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
          encodeURIComponent(a.serverName)
        }`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      const hello = await a.request(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t0`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "hello" } },
      );
      assertEquals(hello.status, 200);
      await eventually(async () => {
        const d = await destination(a, alice.accessToken, bName).catch(() => null);
        return d && d.queue_length === 0 && d.last_success_ts !== null;
      }, "a first delivery to B");

      // B goes down; A's next message cannot be delivered.
      await b.close();
      b = null;
      const sent = await a.request(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "are you there?" } },
      );
      assertEquals(sent.status, 200);
      const failed = await eventually(async () => {
        const d = await destination(a, alice.accessToken, bName);
        return d.failures >= 1 ? d : null;
      }, "a failed delivery to B");
      assert(failed.backoff_until_ts > Date.now(), JSON.stringify(failed));
      assertEquals(failed.queue_length, 1);
      assert(typeof failed.last_error === "string" && failed.last_error.length > 0);
      assert(typeof failed.in_flight_txn_id === "string", "the transaction stays in flight");
      assert(failed.retry_interval > 0 && failed.retry_last_ts > 0, JSON.stringify(failed));
      assert(failed.failure_ts > 0);

      const list = await a.request("GET", BASE, { token: alice.accessToken });
      assertEquals(list.status, 200);
      assertEquals(list.body.total, 1);
      assertEquals(list.body.destinations[0].destination, bName);
      const filtered = await a.request("GET", `${BASE}?destination=nomatch&order_by=failures`, {
        token: alice.accessToken,
      });
      assertEquals(filtered.body.total, 0);
      const badOrder = await a.request("GET", `${BASE}?order_by=nope`, {
        token: alice.accessToken,
      });
      assertEquals(badOrder.status, 400);
      assertEquals(badOrder.body.errcode, "M_INVALID_PARAM");

      // Not for non-admins.
      for (
        const [method, path] of [
          ["GET", BASE],
          ["GET", `${BASE}/${encodeURIComponent(bName)}`],
          ["POST", `${BASE}/${encodeURIComponent(bName)}/reset_connection`],
        ]
      ) {
        const refused = await a.request(method, path, {
          token: mallory.accessToken,
          body: method === "POST" ? {} : undefined,
        });
        assertEquals(refused.status, 403, `${method} ${path}`);
        assertEquals(refused.body.errcode, "M_FORBIDDEN");
      }
      const unknown = await a.request("POST", `${BASE}/nowhere.example/reset_connection`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(unknown.status, 404);
      const invalid = await a.request("GET", `${BASE}/${encodeURIComponent("bad name!")}`, {
        token: alice.accessToken,
      });
      assertEquals(invalid.status, 400);

      // reset_connection retries now, long before the backoff would have let it.
      const reset = await a.request(
        "POST",
        `${BASE}/${encodeURIComponent(bName)}/reset_connection`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(reset.status, 200);
      assertEquals(reset.body, {});
      const retried = await eventually(
        async () => {
          const d = await destination(a, alice.accessToken, bName);
          return d.failures >= 2 ? d : null;
        },
        "the retry after reset_connection",
        2_000,
      );
      assert(retried.last_attempt_ts > failed.last_attempt_ts);
      assert(retried.backoff_until_ts - Date.now() > 3_000, "backing off again after the retry");

      // B comes back as the same server and calls A: A retries at once and the queue drains.
      b = await startGemengNode({ kv: kvB, signingKey: bKey, federationPort: bPort });
      const call = await b.hs.federation.client.request(a.serverName, {
        method: "GET",
        path: `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(alice.userId)}`,
      });
      assertEquals(call.status, 200);
      const drained = await eventually(
        async () => {
          const d = await destination(a, alice.accessToken, bName);
          return d.queue_length === 0 && d.failures === 0 ? d : null;
        },
        "delivery once B called A",
        3_000,
      );
      assertEquals(drained.backoff_until_ts, 0);
      assertEquals(drained.in_flight_txn_id, null);
    } finally {
      await b?.close();
      await a.close();
      kvB.close();
    }
  },
});
