/**
 * A history purge on a gemeng node in a room shared with another gemeng node (loopback TLS):
 * B's admin purges the room's history; B's user then pages back through the whole room, and
 * the purged messages do not come back by backfill from A, which still holds them.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { updateUser } from "../../server/store/accounts.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

// deno-lint-ignore no-explicit-any
type Event = any;

Deno.test({
  name: "purge history in a federated room: purged messages do not come back by backfill",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const admin = await b.register("admin");
      await updateUser(b.hs.kv, admin.userId, (u) => ({ ...u, admin: true }));
      const created = await a.request("POST", `${V3}/createRoom`, {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      const roomId = created.body.room_id as string;
      const joined = await b.request(
        "POST",
        `${V3}/join/${enc(roomId)}?server_name=${enc(a.serverName)}`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      const sent: string[] = [];
      for (let i = 1; i <= 5; i++) sent.push(await sendText(a, alice, roomId, `m${i}`));
      const history = async () => {
        const res = await b.request(
          "GET",
          `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=100`,
          { token: bob.accessToken },
        );
        assertEquals(res.status, 200, JSON.stringify(res.body));
        return (res.body.chunk as Event[]).map((e) => e.event_id as string);
      };
      await eventually(async () => (await history()).includes(sent[4]), "m5 reaches B");

      // B purges everything before m5 (Alice is remote to B, so her messages go).
      const purge = await b.request("POST", `/_synapse/admin/v1/purge_history/${enc(roomId)}`, {
        token: admin.accessToken,
        body: { purge_up_to_event_id: sent[4] },
      });
      assertEquals(purge.status, 200, JSON.stringify(purge.body));
      const status = await eventually(async () => {
        const res = await b.request(
          "GET",
          `/_synapse/admin/v1/purge_history_status/${purge.body.purge_id}`,
          { token: admin.accessToken },
        );
        return res.body.status === "complete" ? res.body : null;
      }, "the purge completes");
      assertEquals(status.events_purged, 4);

      // Paging back twice (each page may backfill from A): m1-m4 stay gone.
      for (let round = 0; round < 2; round++) {
        const ids = await history();
        for (const id of sent.slice(0, 4)) assert(!ids.includes(id), `${id} came back`);
        assert(ids.includes(sent[4]));
      }
      for (const id of sent.slice(0, 4)) {
        assertEquals((await b.hs.kv.get(["event", id])).value, null, id);
      }
    } finally {
      await b.close();
      await a.close();
    }
  },
});
