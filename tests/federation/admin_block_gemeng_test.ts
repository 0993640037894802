/**
 * Blocked rooms across two gemeng nodes: a room A's admin blocks gives B's users no way in
 * through A (`make_join` refused, so the join fails), and an invite from A into a room B's
 * admin blocked is refused by B; after unblocking, both work.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

const enc = encodeURIComponent;

Deno.test({
  name: "blocked rooms: remote joins and remote invites are refused, unblocking lets them in",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      await updateUser(a.hs.kv, alice.userId, (u) => ({ ...u, admin: true }));
      await updateUser(b.hs.kv, bob.userId, (u) => ({ ...u, admin: true }));
      const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      const roomId = created.body.room_id as string;
      const block = (node: typeof a, token: string, value: boolean) =>
        node.request("PUT", `/_synapse/admin/v1/rooms/${enc(roomId)}/block`, {
          token,
          body: { block: value },
        });
      const join = () =>
        b.request(
          "POST",
          `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(a.serverName)}`,
          {
            token: bob.accessToken,
            body: {},
          },
        );
      const invite = () =>
        a.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {
          token: alice.accessToken,
          body: { user_id: bob.userId },
        });

      // A blocks its room: B's user cannot join through A.
      assertEquals((await block(a, alice.accessToken, true)).status, 200);
      const refused = await join();
      assertEquals(refused.status >= 400, true, JSON.stringify(refused.body));
      assertEquals(await b.hs.rooms.membership(roomId, bob.userId), null);
      await block(a, alice.accessToken, false);

      // B blocks the room: A's invite to B's user is refused by B.
      assertEquals((await block(b, bob.accessToken, true)).status, 200);
      const invited = await invite();
      assertEquals(invited.status, 403, JSON.stringify(invited.body));
      assertEquals(await b.hs.rooms.membership(roomId, bob.userId), null);
      // B's own user cannot join it either.
      const ownJoin = await join();
      assertEquals([ownJoin.status, ownJoin.body.errcode], [403, "M_FORBIDDEN"]);

      await block(b, bob.accessToken, false);
      assertEquals((await invite()).status, 200);
      const joined = await join();
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
    } finally {
      await b.close();
      await a.close();
    }
  },
});
