/**
 * Typing, read receipts and presence between gemeng and the Synapse 1.67 peer (presence
 * enabled on it) in a room on Synapse that a gemeng user joined: each crosses both ways.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { join, joined, type Peer, room, send, text, type User } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";
import { eventually } from "./support/rooms.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The ephemeral events of a room in a fresh initial sync. */
async function ephemeral(peer: Peer, user: User, roomId: string): Promise<Json[]> {
  // Synapse answers a repeated identical sync from a cache for a while: a filter never used
  // before makes each request new.
  const filter = JSON.stringify({ account_data: { not_types: [`x.${crypto.randomUUID()}`] } });
  const res = await peer.request(
    "GET",
    `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(filter)}`,
    { token: user.accessToken },
  );
  if (res.status !== 200) return [];
  return res.body.rooms?.join?.[roomId]?.ephemeral?.events ?? [];
}

async function typingUsers(peer: Peer, user: User, roomId: string): Promise<string[]> {
  const typing = (await ephemeral(peer, user, roomId)).find((e) => e.type === "m.typing");
  return typing?.content.user_ids ?? [];
}

async function receiptOf(
  peer: Peer,
  user: User,
  where: { roomId: string; eventId: string; who: string },
): Promise<Json | undefined> {
  for (const e of await ephemeral(peer, user, where.roomId)) {
    if (e.type !== "m.receipt") continue;
    const data = e.content[where.eventId]?.["m.read"]?.[where.who];
    if (data) return data;
  }
  return undefined;
}

async function ok(peer: Peer, user: User, method: string, path: string, body: unknown) {
  const res = await peer.request(method, path, { token: user.accessToken, body });
  assertEquals(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
}

const typingPath = (roomId: string, user: User) =>
  `${room(roomId)}/typing/${encodeURIComponent(user.userId)}`;
const receiptPath = (roomId: string, eventId: string) =>
  `${room(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`;
const presencePath = (user: User) =>
  `/_matrix/client/v3/presence/${encodeURIComponent(user.userId)}/status`;

async function presenceOf(peer: Peer, viewer: User, of: User): Promise<Json | null> {
  const res = await peer.request("GET", presencePath(of), { token: viewer.accessToken });
  return res.status === 200 ? res.body : null;
}

async function seesEvent(peer: Peer, user: User, roomId: string, eventId: string) {
  const res = await peer.request("GET", `${room(roomId)}/event/${encodeURIComponent(eventId)}`, {
    token: user.accessToken,
  });
  return res.status === 200;
}

Deno.test({
  name: "gemeng and Synapse: typing, read receipts and presence both ways",
  ...skipUnless(SYNAPSE_MISSING),
  async fn(t) {
    const synapse = await startSynapse({ extraConfigYaml: "presence:\n  enabled: true\n" });
    const gemeng = await startGemengNode();
    try {
      const sam = await synapse.register("sam");
      const gina = await gemeng.register("gina");
      const created = await synapse.request("POST", "/_matrix/client/v3/createRoom", {
        token: sam.accessToken,
        body: { room_version: "10", preset: "public_chat" },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const roomId = created.body.room_id as string;
      await join(gemeng, gina, roomId, synapse.serverName);
      await eventually(() => joined(synapse, sam, roomId, gina.userId), "gina on Synapse");

      await t.step("typing both ways", async () => {
        await ok(gemeng, gina, "PUT", typingPath(roomId, gina), { typing: true, timeout: 20000 });
        await eventually(
          async () => (await typingUsers(synapse, sam, roomId)).includes(gina.userId),
          "gina typing on Synapse",
        );
        await ok(synapse, sam, "PUT", typingPath(roomId, sam), { typing: true, timeout: 20000 });
        await eventually(
          async () => (await typingUsers(gemeng, gina, roomId)).includes(sam.userId),
          "sam typing on gemeng",
        );
        await ok(gemeng, gina, "PUT", typingPath(roomId, gina), { typing: false });
        await eventually(
          async () => !(await typingUsers(synapse, sam, roomId)).includes(gina.userId),
          "gina's stop on Synapse",
        );
        await ok(synapse, sam, "PUT", typingPath(roomId, sam), { typing: false });
        await eventually(
          async () => !(await typingUsers(gemeng, gina, roomId)).includes(sam.userId),
          "sam's stop on gemeng",
        );
      });

      await t.step("read receipts both ways", async () => {
        const fromSam = await send(synapse, sam, roomId, text("from sam"));
        await eventually(() => seesEvent(gemeng, gina, roomId, fromSam), "sam's message on gemeng");
        await ok(gemeng, gina, "POST", receiptPath(roomId, fromSam), {});
        const onSynapse = await eventually(
          () => receiptOf(synapse, sam, { roomId, eventId: fromSam, who: gina.userId }),
          "gina's receipt on Synapse",
        );
        assertEquals(typeof onSynapse.ts, "number");

        const fromGina = await send(gemeng, gina, roomId, text("from gina"));
        await eventually(() => seesEvent(synapse, sam, roomId, fromGina), "gina's message there");
        await ok(synapse, sam, "POST", receiptPath(roomId, fromGina), {});
        const onGemeng = await eventually(
          () => receiptOf(gemeng, gina, { roomId, eventId: fromGina, who: sam.userId }),
          "sam's receipt on gemeng",
        );
        assertEquals(typeof onGemeng.ts, "number");

        // A threaded receipt of gina's on a reply in sam's thread reaches Synapse (1.67 keeps
        // receipts per event, whatever their thread).
        const reply = await send(synapse, sam, roomId, {
          ...text("in the thread"),
          "m.relates_to": { rel_type: "m.thread", event_id: fromSam },
        });
        await eventually(() => seesEvent(gemeng, gina, roomId, reply), "the reply on gemeng");
        await ok(gemeng, gina, "POST", receiptPath(roomId, reply), { thread_id: fromSam });
        await eventually(
          () => receiptOf(synapse, sam, { roomId, eventId: reply, who: gina.userId }),
          "gina's threaded receipt on Synapse",
        );
      });

      await t.step("presence both ways", async () => {
        await ok(gemeng, gina, "PUT", presencePath(gina), {
          presence: "online",
          status_msg: "at the commune",
        });
        await eventually(async () => {
          const p = await presenceOf(synapse, sam, gina);
          return p?.presence === "online" && p.status_msg === "at the commune";
        }, "gina's presence on Synapse");

        await ok(synapse, sam, "PUT", presencePath(sam), {
          presence: "unavailable",
          status_msg: "at the ministry",
        });
        await eventually(async () => {
          const p = await presenceOf(gemeng, gina, sam);
          return p?.presence === "unavailable" && p.status_msg === "at the ministry";
        }, "sam's presence on gemeng");
      });
    } finally {
      await gemeng.close();
      await synapse.stop();
    }
  },
});
