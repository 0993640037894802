/**
 * Rooms between gemeng and the Synapse 1.67 peer on loopback TLS, in both directions: a room
 * on Synapse joined from gemeng and a room on gemeng joined from Synapse (room versions 1, 6
 * and 10), messages both ways, a topic change crossing over.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse, type SynapsePeer } from "./support/synapse.ts";
import { eventually, messageBodies } from "./support/rooms.ts";

type Peer = GemengNode | SynapsePeer;
type User = { userId: string; accessToken: string };

const room = (id: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(id)}`;

async function seen(peer: Peer, user: User, roomId: string, body: string): Promise<boolean> {
  return (await messageBodies(peer, user, roomId)).includes(body);
}

async function joinedOn(peer: Peer, user: User, roomId: string, who: string): Promise<boolean> {
  const res = await peer.request("GET", `${room(roomId)}/joined_members`, {
    token: user.accessToken,
  });
  return res.status === 200 && who in res.body.joined;
}

Deno.test({
  name: "gemeng and Synapse: rooms on either side, joined from the other, messages both ways",
  ...skipUnless(SYNAPSE_MISSING),
  async fn(t) {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    try {
      const sam = await synapse.register("sam");
      const gina = await gemeng.register("gina");

      for (const version of ["1", "6", "10"]) {
        await t.step(`room v${version} on Synapse, joined from gemeng`, async () => {
          const created = await synapse.request("POST", "/_matrix/client/v3/createRoom", {
            token: sam.accessToken,
            body: { room_version: version, preset: "public_chat" },
          });
          assertEquals(created.status, 200, JSON.stringify(created.body));
          const roomId = created.body.room_id;
          await sendText(synapse, sam, roomId, `early v${version}`);
          const joined = await gemeng.request(
            "POST",
            `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
              encodeURIComponent(synapse.serverName)
            }`,
            { token: gina.accessToken, body: {} },
          );
          assertEquals(joined.status, 200, JSON.stringify(joined.body));
          await eventually(() => joinedOn(synapse, sam, roomId, gina.userId), "gina on Synapse");
          await sendText(synapse, sam, roomId, `from sam v${version}`);
          await eventually(
            () => seen(gemeng, gina, roomId, `from sam v${version}`),
            "sam's message on gemeng",
          );
          await sendText(gemeng, gina, roomId, `from gina v${version}`);
          await eventually(
            () => seen(synapse, sam, roomId, `from gina v${version}`),
            "gina's message on Synapse",
          );
        });

        await t.step(`room v${version} on gemeng, joined from Synapse`, async () => {
          const created = await gemeng.request("POST", "/_matrix/client/v3/createRoom", {
            token: gina.accessToken,
            body: { room_version: version, preset: "public_chat" },
          });
          assertEquals(created.status, 200, JSON.stringify(created.body));
          const roomId = created.body.room_id;
          await sendText(gemeng, gina, roomId, `early gemeng v${version}`);
          const joined = await synapse.request(
            "POST",
            `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
              encodeURIComponent(gemeng.serverName)
            }`,
            { token: sam.accessToken, body: {} },
          );
          assertEquals(joined.status, 200, JSON.stringify(joined.body) + await synapse.logTail());
          await eventually(() => joinedOn(gemeng, gina, roomId, sam.userId), "sam on gemeng");
          await sendText(gemeng, gina, roomId, `gemeng says v${version}`);
          await eventually(
            () => seen(synapse, sam, roomId, `gemeng says v${version}`),
            "gina's message on Synapse",
          );
          await sendText(synapse, sam, roomId, `synapse says v${version}`);
          await eventually(
            () => seen(gemeng, gina, roomId, `synapse says v${version}`),
            "sam's message on gemeng",
          );
          const topic = await synapse.request("PUT", `${room(roomId)}/state/m.room.topic`, {
            token: sam.accessToken,
            body: { topic: "from Synapse" },
          });
          // Sam has no power to change the topic in a public_chat room: refused on Synapse.
          assertEquals(topic.status, 403);
        });
      }
    } finally {
      await gemeng.close();
      await synapse.stop();
    }
  },
});
