/**
 * Restricted joins across gemeng nodes (room versions 10 and 12): a user of B who is in the
 * allowed room joins the restricted room through A, which names one of its users in
 * `join_authorised_via_users_server` and countersigns the join; a user in no allowed room is
 * refused.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

async function joinVia(node: GemengNode, user: NodeUser, roomId: string, via: GemengNode) {
  return await node.request(
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
      encodeURIComponent(via.serverName)
    }`,
    { token: user.accessToken, body: {} },
  );
}

for (const version of ["10", "12"]) {
  Deno.test({
    name: `restricted join through the resident server, room version ${version}`,
    ...skipUnless(CA_MISSING),
    async fn() {
      const a = await startGemengNode();
      const b = await startGemengNode();
      try {
        const alice = await a.register("alice");
        const bob = await b.register("bob");
        const eve = await b.register("eve");
        const space = await a.request("POST", "/_matrix/client/v3/createRoom", {
          token: alice.accessToken,
          body: { room_version: version, preset: "public_chat" },
        });
        const spaceId = space.body.room_id as string;
        const restricted = await a.request("POST", "/_matrix/client/v3/createRoom", {
          token: alice.accessToken,
          body: {
            room_version: version,
            preset: "private_chat",
            initial_state: [{
              type: "m.room.join_rules",
              state_key: "",
              content: {
                join_rule: "restricted",
                allow: [{ type: "m.room_membership", room_id: spaceId }],
              },
            }],
          },
        });
        assertEquals(restricted.status, 200, JSON.stringify(restricted.body));
        const roomId = restricted.body.room_id as string;

        // Eve is in no allowed room: refused.
        const refused = await joinVia(b, eve, roomId, a);
        assertEquals(refused.status >= 400, true, JSON.stringify(refused.body));

        // Bob joins the allowed room, then the restricted one.
        assertEquals((await joinVia(b, bob, spaceId, a)).status, 200);
        const joined = await joinVia(b, bob, roomId, a);
        assertEquals(joined.status, 200, JSON.stringify(joined.body));
        const member = await a.request(
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${
            encodeURIComponent(bob.userId)
          }`,
          { token: alice.accessToken },
        );
        assertEquals(member.status, 200);
        assertEquals(member.body.membership, "join");
        assertEquals(member.body.join_authorised_via_users_server, alice.userId);
      } finally {
        await b.close();
        await a.close();
      }
    },
  });
}
