/**
 * Queries between gemeng and the Synapse 1.67 peer: profiles of the other side's users through
 * each client API, an OpenID token issued by Synapse checked by gemeng over federation
 * (`/openid/userinfo`), and space hierarchies both ways: Synapse's client walks a space hosted
 * on gemeng that its user joined (Synapse asks gemeng's `/hierarchy` for the children), and gemeng's client walks a space on gemeng
 * whose child room lives on Synapse (gemeng asks Synapse's `/hierarchy`).
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { remoteOpenIdUser } from "../../server/federation/openid.ts";
import { createRoom, join, setState } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";
import { eventually } from "./support/rooms.ts";

const enc = encodeURIComponent;

Deno.test({
  name: "gemeng and Synapse: profiles, OpenID userinfo and space hierarchies across servers",
  ...skipUnless(SYNAPSE_MISSING),
  async fn(t) {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    try {
      const sam = await synapse.register("sam");
      const gina = await gemeng.register("gina");

      await t.step("profiles of the other side's users", async () => {
        const setSam = await synapse.request(
          "PUT",
          `/_matrix/client/v3/profile/${enc(sam.userId)}/displayname`,
          { token: sam.accessToken, body: { displayname: "Sam from the ministry" } },
        );
        assertEquals(setSam.status, 200, JSON.stringify(setSam.body));
        const setGina = await gemeng.request(
          "PUT",
          `/_matrix/client/v3/profile/${enc(gina.userId)}/displayname`,
          { token: gina.accessToken, body: { displayname: "Gina from the commune" } },
        );
        assertEquals(setGina.status, 200, JSON.stringify(setGina.body));

        const samOnGemeng = await gemeng.request(
          "GET",
          `/_matrix/client/v3/profile/${enc(sam.userId)}`,
        );
        assertEquals(samOnGemeng.status, 200, JSON.stringify(samOnGemeng.body));
        assertEquals(samOnGemeng.body.displayname, "Sam from the ministry");
        const missing = await gemeng.request(
          "GET",
          `/_matrix/client/v3/profile/${enc(`@nobody:${synapse.serverName}`)}`,
        );
        assertEquals(missing.status, 404, JSON.stringify(missing.body));

        const ginaOnSynapse = await synapse.request(
          "GET",
          `/_matrix/client/v3/profile/${enc(gina.userId)}/displayname`,
          { token: sam.accessToken },
        );
        assertEquals(ginaOnSynapse.status, 200, JSON.stringify(ginaOnSynapse.body));
        assertEquals(ginaOnSynapse.body.displayname, "Gina from the commune");
      });

      await t.step("an OpenID token of Synapse, checked by gemeng", async () => {
        const issued = await synapse.request(
          "POST",
          `/_matrix/client/v3/user/${enc(sam.userId)}/openid/request_token`,
          { token: sam.accessToken, body: {} },
        );
        assertEquals(issued.status, 200, JSON.stringify(issued.body));
        assertEquals(issued.body.matrix_server_name, synapse.serverName);
        const user = await remoteOpenIdUser(
          gemeng.hs,
          synapse.serverName,
          issued.body.access_token,
        );
        assertEquals(user, sam.userId);
        assertEquals(await remoteOpenIdUser(gemeng.hs, synapse.serverName, "forged"), null);
      });

      await t.step("a space on gemeng, walked by Synapse's client", async () => {
        const space = await createRoom(gemeng, gina, {
          room_version: "10",
          preset: "public_chat",
          name: "Commune space",
          creation_content: { type: "m.space" },
        });
        const child = await createRoom(gemeng, gina, {
          room_version: "10",
          preset: "public_chat",
          name: "Town hall",
        });
        const hidden = await createRoom(gemeng, gina, {
          room_version: "10",
          preset: "private_chat",
          name: "Council",
        });
        for (const roomId of [child, hidden]) {
          await setState(gemeng, gina, space, `m.space.child/${enc(roomId)}`, {
            via: [gemeng.serverName],
          });
        }
        // Synapse 1.67 walks only spaces it is in (no federation for the root): Sam joins it;
        // the children, unknown to Synapse, are asked of gemeng's /hierarchy.
        await join(synapse, sam, space, gemeng.serverName);
        // Synapse fills its own summary of the space from room statistics a moment after the
        // join; the children's come from gemeng at once.
        const rooms = await eventually(async () => {
          const res = await synapse.request(
            "GET",
            `/_matrix/client/v1/rooms/${enc(space)}/hierarchy`,
            { token: sam.accessToken },
          );
          assertEquals(res.status, 200, JSON.stringify(res.body));
          const rooms = res.body.rooms as { room_id: string; name?: string }[];
          return rooms[0]?.name ? rooms : null;
        }, "Synapse's summary of the space");
        assertEquals(rooms.map((r) => r.room_id), [space, child]);
        assertEquals(rooms.map((r) => r.name), ["Commune space", "Town hall"]);
      });

      await t.step(
        "a space on gemeng with a child on Synapse, walked by gemeng's client",
        async () => {
          const onSynapse = await createRoom(synapse, sam, {
            preset: "public_chat",
            name: "Ministry lobby",
          });
          const space = await createRoom(gemeng, gina, {
            room_version: "10",
            preset: "public_chat",
            name: "Mixed space",
            creation_content: { type: "m.space" },
          });
          await setState(gemeng, gina, space, `m.space.child/${enc(onSynapse)}`, {
            via: [synapse.serverName],
          });
          const res = await gemeng.request(
            "GET",
            `/_matrix/client/v1/rooms/${enc(space)}/hierarchy`,
            { token: gina.accessToken },
          );
          assertEquals(res.status, 200, JSON.stringify(res.body));
          const rooms = res.body.rooms as { room_id: string; name?: string; join_rule?: string }[];
          assertEquals(rooms.map((r) => r.room_id), [space, onSynapse]);
          assertEquals(rooms[1].name, "Ministry lobby");
          assertEquals(rooms[1].join_rule, "public");
        },
      );
    } finally {
      await gemeng.close();
      await synapse.stop();
    }
  },
});
