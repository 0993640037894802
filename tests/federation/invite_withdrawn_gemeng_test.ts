/**
 * A pending invite of a user on another server ends there too: alice on A invites bob on B,
 * then withdraws the invite (a kick) or bans bob before he answers; B's copy of bob's
 * membership follows, and his sync stops offering the invite.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { post, syncNow } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { eventually } from "./support/rooms.ts";

const enc = encodeURIComponent;

Deno.test({
  name: "a withdrawn invite and a ban of a remote invitee reach the invitee's server",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      for (const action of ["kick", "ban"] as const) {
        const roomId = (await post(a, alice, "/createRoom", { preset: "private_chat" })).room_id;
        await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        await eventually(async () => (await syncNow(b, bob)).rooms.invite[roomId], "the invite");
        // The invite carries bob's name, asked of his server.
        const member = await a.request(
          "GET",
          `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`,
          { token: alice.accessToken },
        );
        assertEquals(member.body.displayname, "bob", JSON.stringify(member.body));
        await post(a, alice, `/rooms/${enc(roomId)}/${action}`, {
          user_id: bob.userId,
          reason: "sent by mistake",
        });
        const expected = action === "kick" ? "leave" : "ban";
        await eventually(
          async () => (await b.hs.rooms.membership(roomId, bob.userId))?.membership === expected,
          `bob's ${expected} on B`,
        );
        assert(!(await syncNow(b, bob)).rooms.invite[roomId], "the invite is still offered");
      }
    } finally {
      await b.close();
      await a.close();
    }
  },
});
