/**
 * Internal rooms across two gemeng nodes. A starts new rooms internal (`[rooms]
 * internal_by_default = true`): B's user cannot join through A (`make_join` refused) and A's
 * user cannot invite B's; B's user cannot make a room of B internal from A's side either. With
 * the setting switched off, the invite and the join go through. Switched on again, B refuses its
 * own user's join, and a join B sends straight into the room anyway is soft-failed on A.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { INTERNAL_ROOM_TYPE } from "../../server/rooms/internal_rooms.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { forgeEvent, sendTransaction } from "./support/forge.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { eventually } from "./support/rooms.ts";

const enc = encodeURIComponent;

Deno.test({
  name: "internal rooms: remote joins and invites are refused until the setting is off",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode({ config: { rooms: { internal_by_default: true } } });
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "public_chat", name: "Social office" },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const roomId = created.body.room_id as string;
      const settingPath = `/_matrix/client/v3/rooms/${enc(roomId)}/state/${INTERNAL_ROOM_TYPE}`;
      const setting = await a.request("GET", settingPath, { token: alice.accessToken });
      assertEquals(setting.body, { internal: true });

      const join = () =>
        b.request("POST", `/_matrix/client/v3/join/${enc(roomId)}?via=${enc(a.serverName)}`, {
          token: bob.accessToken,
          body: {},
        });
      const invite = () =>
        a.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {
          token: alice.accessToken,
          body: { user_id: bob.userId },
        });

      // A public room, yet internal: A refuses B's make_join, and alice cannot invite bob.
      const refused = await join();
      assertEquals(refused.status, 403, JSON.stringify(refused.body));
      assert(String(refused.body.error).includes("internal"), refused.body.error);
      assertEquals(await a.hs.rooms.membership(roomId, bob.userId), null);
      const invited = await invite();
      assertEquals([invited.status, invited.body.errcode], [403, "M_FORBIDDEN"]);
      assert(String(invited.body.error).includes("internal"), invited.body.error);
      assertEquals(await a.hs.rooms.membership(roomId, bob.userId), null);

      // A room of B: alice (of A) may join it, but may not make it internal (it is B's room).
      const bobRoom = await b.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { preset: "public_chat", power_level_content_override: { state_default: 0 } },
      });
      const bobRoomId = bobRoom.body.room_id as string;
      const aliceJoins = await a.request(
        "POST",
        `/_matrix/client/v3/join/${enc(bobRoomId)}?via=${enc(b.serverName)}`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(aliceJoins.status, 200, JSON.stringify(aliceJoins.body));
      const takeOver = await a.request(
        "PUT",
        `/_matrix/client/v3/rooms/${enc(bobRoomId)}/state/${INTERNAL_ROOM_TYPE}`,
        { token: alice.accessToken, body: { internal: true } },
      );
      assertEquals(takeOver.status, 403, JSON.stringify(takeOver.body));

      // Switched off: the invite reaches B and bob joins.
      const off = await a.request("PUT", settingPath, {
        token: alice.accessToken,
        body: { internal: false },
      });
      assertEquals(off.status, 200, JSON.stringify(off.body));
      const invitedNow = await invite();
      assertEquals(invitedNow.status, 200, JSON.stringify(invitedNow.body));
      const joined = await join();
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      await eventually(
        async () => (await a.hs.rooms.membership(roomId, bob.userId))?.membership === "join",
        "bob's join on A",
      );

      // Internal again with bob inside: B's own pipeline will not join another of its users,
      // and a join B sends straight into A's room in a transaction is soft-failed on A.
      const on = await a.request("PUT", settingPath, {
        token: alice.accessToken,
        body: { internal: true },
      });
      assertEquals(on.status, 200, JSON.stringify(on.body));
      await eventually(
        async () =>
          (await b.hs.rooms.currentStateEvent(roomId, INTERNAL_ROOM_TYPE, ""))?.event
            .content.internal === true,
        "the setting on B",
      );
      const carol = await b.register("carol");
      const carolJoins = await b.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join`, {
        token: carol.accessToken,
        body: {},
      });
      assertEquals(carolJoins.status, 403, JSON.stringify(carolJoins.body));
      const forged = await forgeEvent(a, roomId, {
        type: "m.room.member",
        stateKey: carol.userId,
        sender: carol.userId,
        content: { membership: "join" },
      }, { signingKey: b.hs.signingKey });
      const sent = await sendTransaction(b, a, "internal-join-1", { pdus: [forged.event.pdu] });
      assertEquals(sent.status, 200, JSON.stringify(sent.json));
      const stored = await a.hs.rooms.event(forged.event.eventId);
      assert(stored?.meta.softFailed, JSON.stringify(stored?.meta));
      assertEquals(await a.hs.rooms.membership(roomId, carol.userId), null);
    } finally {
      await b.close();
      await a.close();
    }
  },
});
