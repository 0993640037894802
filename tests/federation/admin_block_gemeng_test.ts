/**
 * Blocked rooms across two gemeng nodes: a room A's admin blocks gives B's users no way in
 * through A (`make_join` refused, so the join fails), and an invite from A into a room B's
 * admin blocked is refused by B; after unblocking, both work. B then deletes and purges its
 * copy of the room: nothing of it is left in B's KV, and A sees B's user leave.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { eventually } from "./support/rooms.ts";

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
      // A replaced power levels event: on B it is only in the join's auth chain (an outlier in
      // no state group), which the purge must find too.
      const levelsPath = `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels`;
      const levels = await a.request("GET", levelsPath, { token: alice.accessToken });
      const changed = await a.request("PUT", levelsPath, {
        token: alice.accessToken,
        body: { ...levels.body, invite: 0 },
      });
      assertEquals(changed.status, 200, JSON.stringify(changed.body));
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

      // B deletes and purges its copy of the room: every event it held (the outliers of the
      // join's state and auth chain included) and every state group is gone from B, and A sees
      // bob leave.
      const started = await b.request("DELETE", `/_synapse/admin/v2/rooms/${enc(roomId)}`, {
        token: bob.accessToken,
        body: {},
      });
      assertEquals(started.status, 200, JSON.stringify(started.body));
      const status = await eventually(async () => {
        const res = await b.request(
          "GET",
          `/_synapse/admin/v2/rooms/delete_status/${started.body.delete_id}`,
          { token: bob.accessToken },
        );
        return res.body.status === "complete" || res.body.status === "failed" ? res.body : null;
      }, "the deletion on B");
      assertEquals(status.status, "complete", JSON.stringify(status));
      assertEquals(status.shutdown_room.kicked_users, [bob.userId]);
      let left = 0;
      for await (const entry of b.hs.kv.list<{ meta: { roomId: string } }>({ prefix: ["event"] })) {
        if (entry.value.meta.roomId === roomId) left++;
      }
      for await (const entry of b.hs.kv.list<{ roomId: string }>({ prefix: ["state_group"] })) {
        if (entry.value.roomId === roomId) left++;
      }
      assertEquals(left, 0);
      assertEquals(await b.hs.rooms.room(roomId), null);
      await eventually(
        async () => (await a.hs.rooms.membership(roomId, bob.userId))?.membership === "leave",
        "bob's leave on A",
      );
    } finally {
      await b.close();
      await a.close();
    }
  },
});
