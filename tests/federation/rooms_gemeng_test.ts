/**
 * Rooms across gemeng nodes on loopback TLS: a user of one node joins a room hosted by
 * another (room versions 11 and 12), messages flow both ways, and membership, topic and power
 * level changes reach the other node.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { eventually, messageBodies } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

for (const version of ["11", "12"]) {
  Deno.test({
    name: `gemeng to gemeng, room version ${version}: remote join, messages both ways, state`,
    ...skipUnless(CA_MISSING),
    async fn() {
      const a = await startGemengNode();
      const b = await startGemengNode();
      try {
        const alice = await a.register("alice");
        const bob = await b.register("bob");
        const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
          token: alice.accessToken,
          body: { room_version: version, preset: "public_chat", name: "Commune" },
        });
        assertEquals(created.status, 200, JSON.stringify(created.body));
        const roomId = created.body.room_id as string;
        await sendText(a, alice, roomId, "before bob");

        const joined = await b.request(
          "POST",
          `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
            encodeURIComponent(a.serverName)
          }`,
          { token: bob.accessToken, body: {} },
        );
        assertEquals(joined.status, 200, JSON.stringify(joined.body));

        // A sees bob's join; both see each other's messages.
        await eventually(async () => {
          const m = await a.request(
            "GET",
            `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`,
            { token: alice.accessToken },
          );
          return m.status === 200 && bob.userId in m.body.joined;
        }, "bob's join on A");
        await sendText(a, alice, roomId, "hello bob");
        await eventually(
          async () => (await messageBodies(b, bob, roomId)).includes("hello bob"),
          "alice's message on B",
        );
        await sendText(b, bob, roomId, "hello alice");
        await eventually(
          async () => (await messageBodies(a, alice, roomId)).includes("hello alice"),
          "bob's message on A",
        );

        // A topic change on A reaches B's current state.
        const topic = await a.request(
          "PUT",
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.topic`,
          { token: alice.accessToken, body: { topic: "Conseil communal" } },
        );
        assertEquals(topic.status, 200);
        await eventually(async () => {
          const t = await b.request(
            "GET",
            `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.topic`,
            { token: bob.accessToken },
          );
          return t.status === 200 && t.body.topic === "Conseil communal";
        }, "the topic on B");
        const onB = await messageBodies(b, bob, roomId);
        assert(onB.includes("hello bob"));
      } finally {
        await b.close();
        await a.close();
      }
    },
  });
}
