/**
 * Erasure across gemeng nodes on loopback TLS: after a user of node A is erased, a user of
 * node B who joins later pages back through the room's history (backfilled from A) and gets
 * the erased user's messages redacted, while another member's messages stay whole; on A, the
 * member who was there all along still reads them.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { deactivateUser } from "../../server/admin/user_accounts.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

// deno-lint-ignore no-explicit-any
type Event = any;

Deno.test({
  name: "erasure across gemeng nodes: a server joining later is served redacted messages",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const carol = await a.register("carol");
      const bob = await b.register("bob");
      const created = await a.request("POST", `${V3}/createRoom`, {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      const roomId = created.body.room_id as string;
      await a.request("POST", `${V3}/join/${enc(roomId)}`, { token: carol.accessToken, body: {} });
      const fromAlice: string[] = [];
      for (let i = 0; i < 3; i++) {
        fromAlice.push(await sendText(a, alice, roomId, `alice secret ${i}`));
      }
      const fromCarol = await sendText(a, carol, roomId, "carol stays");
      await deactivateUser(a.hs, alice.userId, { erase: true });

      const joined = await b.request(
        "POST",
        `${V3}/join/${enc(roomId)}?server_name=${enc(a.serverName)}`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      const page = await b.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
        { token: bob.accessToken },
      );
      assertEquals(page.status, 200, JSON.stringify(page.body));
      const seen = new Map<string, Event>(page.body.chunk.map((e: Event) => [e.event_id, e]));
      for (const id of fromAlice) {
        assert(seen.has(id), `${id} not backfilled`);
        assertEquals(seen.get(id).content, {});
      }
      assertEquals(seen.get(fromCarol)?.content.body, "carol stays");

      // On A, Carol was joined when Alice wrote: she still reads the messages.
      const carolView = await a.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/event/${enc(fromAlice[0])}`,
        { token: carol.accessToken },
      );
      assertEquals(carolView.body.content.body, "alice secret 0");
    } finally {
      await b.close();
      await a.close();
    }
  },
});
