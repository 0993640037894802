/**
 * History and the directory between gemeng and the Synapse 1.67 peer on loopback TLS: a
 * gemeng user joins a Synapse room with history (room versions 1 and 10) and paginates
 * `/messages` back through it (backfilled from Synapse); Synapse lists gemeng's public rooms
 * over federation and joins a gemeng room by its alias (`/query/directory`).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse, type SynapsePeer } from "./support/synapse.ts";
import { eventually, messageBodies } from "./support/rooms.ts";

type Peer = GemengNode | SynapsePeer;
type User = { userId: string; accessToken: string };
// deno-lint-ignore no-explicit-any
type Event = any;

const V3 = "/_matrix/client/v3";
const room = (id: string) => `${V3}/rooms/${encodeURIComponent(id)}`;

/** Every event a user sees paginating back from now, newest first. */
async function paginateBack(peer: Peer, user: User, roomId: string, limit: number) {
  const events: Event[] = [];
  let from: string | undefined;
  const firstBy = Date.now() + 5_000;
  for (let page = 0; page < 60; page++) {
    const query = new URLSearchParams({ dir: "b", limit: String(limit) });
    if (from) query.set("from", from);
    const res = await peer.request("GET", `${room(roomId)}/messages?${query}`, {
      token: user.accessToken,
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    if (page === 0 && res.body.chunk.length === 0 && Date.now() < firstBy) {
      // The join answered before the stream made it visible (a write of a lower position
      // still in flight): ask again.
      page--;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    events.push(...res.body.chunk);
    if (res.body.end === undefined || res.body.chunk.length === 0) break;
    from = res.body.end;
  }
  return events;
}

const bodies = (events: Event[]) =>
  events.filter((e) => e.type === "m.room.message").map((e) => e.content.body as string);

Deno.test({
  name: "gemeng and Synapse: history backfilled from Synapse, directory both ways",
  ...skipUnless(SYNAPSE_MISSING),
  async fn(t) {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    try {
      const sam = await synapse.register("sam");
      const gina = await gemeng.register("gina");

      for (const version of ["1", "10"]) {
        await t.step(`room v${version} on Synapse: gemeng paginates back through it`, async () => {
          const created = await synapse.request("POST", `${V3}/createRoom`, {
            token: sam.accessToken,
            body: { room_version: version, preset: "public_chat", name: `Old v${version}` },
          });
          assertEquals(created.status, 200, JSON.stringify(created.body));
          const roomId = created.body.room_id;
          const sent: string[] = [];
          for (let i = 1; i <= 35; i++) sent.push(`v${version} m${i}`);
          for (const body of sent) await sendText(synapse, sam, roomId, body);
          const topic = await synapse.request("PUT", `${room(roomId)}/state/m.room.topic`, {
            token: sam.accessToken,
            body: { topic: "midway" },
          });
          assertEquals(topic.status, 200);
          for (let i = 36; i <= 45; i++) {
            sent.push(`v${version} m${i}`);
            await sendText(synapse, sam, roomId, `v${version} m${i}`);
          }

          const joined = await gemeng.request(
            "POST",
            `${V3}/join/${encodeURIComponent(roomId)}?server_name=${
              encodeURIComponent(synapse.serverName)
            }`,
            { token: gina.accessToken, body: {} },
          );
          assertEquals(joined.status, 200, JSON.stringify(joined.body));
          const history = (await paginateBack(gemeng, gina, roomId, 8)).reverse();
          assertEquals(bodies(history), sent, await synapse.logTail());
          assertEquals(history[0].type, "m.room.create");
          assert(history.some((e) => e.type === "m.room.topic" && e.content.topic === "midway"));
          assertEquals(history.at(-1).state_key, gina.userId);
          const ids = history.map((e) => e.event_id);
          assertEquals(new Set(ids).size, ids.length, "no event twice");

          // New messages still arrive after the backfilled history.
          await sendText(synapse, sam, roomId, `v${version} after`);
          await eventually(
            async () => (await messageBodies(gemeng, gina, roomId)).at(-1) === `v${version} after`,
            "Synapse's message after the backfill",
          );
        });
      }

      await t.step("Synapse lists gemeng's public rooms and joins one by alias", async () => {
        const created = await gemeng.request("POST", `${V3}/createRoom`, {
          token: gina.accessToken,
          body: {
            room_version: "10",
            preset: "public_chat",
            visibility: "public",
            name: "Salle du conseil",
            room_alias_name: "conseil",
          },
        });
        assertEquals(created.status, 200, JSON.stringify(created.body));
        const roomId = created.body.room_id;
        const alias = `#conseil:${gemeng.serverName}`;
        await sendText(gemeng, gina, roomId, "bienvenue");

        const server = encodeURIComponent(gemeng.serverName);
        const listed = await synapse.request("GET", `${V3}/publicRooms?server=${server}`, {
          token: sam.accessToken,
        });
        assertEquals(listed.status, 200, JSON.stringify(listed.body) + await synapse.logTail());
        const entry = listed.body.chunk.find((r: Event) => r.room_id === roomId);
        assert(entry, JSON.stringify(listed.body));
        assertEquals(entry.name, "Salle du conseil");
        assertEquals(entry.canonical_alias, alias);
        const searched = await synapse.request("POST", `${V3}/publicRooms?server=${server}`, {
          token: sam.accessToken,
          body: { filter: { generic_search_term: "conseil" } },
        });
        assertEquals(searched.status, 200, JSON.stringify(searched.body));
        assertEquals(searched.body.chunk.map((r: Event) => r.room_id), [roomId]);

        const resolved = await synapse.request(
          "GET",
          `${V3}/directory/room/${encodeURIComponent(alias)}`,
          { token: sam.accessToken },
        );
        assertEquals(resolved.status, 200, JSON.stringify(resolved.body));
        assertEquals(resolved.body.room_id, roomId);
        assertEquals(resolved.body.servers[0], gemeng.serverName);

        const joined = await synapse.request("POST", `${V3}/join/${encodeURIComponent(alias)}`, {
          token: sam.accessToken,
          body: {},
        });
        assertEquals(joined.status, 200, JSON.stringify(joined.body) + await synapse.logTail());
        assertEquals(joined.body.room_id, roomId);
        await eventually(async () => {
          const m = await gemeng.request("GET", `${room(roomId)}/joined_members`, {
            token: gina.accessToken,
          });
          return m.status === 200 && sam.userId in m.body.joined;
        }, "sam's join on gemeng");
        await sendText(gemeng, gina, roomId, "après la jonction");
        await eventually(
          async () => (await messageBodies(synapse, sam, roomId)).includes("après la jonction"),
          "gina's message on Synapse",
        );
      });
    } finally {
      await gemeng.close();
      await synapse.stop();
    }
  },
});
