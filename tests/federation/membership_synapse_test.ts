/**
 * Membership across gemeng and the Synapse 1.67 peer (room version 10): a Synapse user invited
 * from gemeng accepts, and is kicked; a gemeng user invited from Synapse accepts; a gemeng
 * user rejects a Synapse invite; a gemeng user knocks on a Synapse room and is let in. One
 * Synapse for the whole file (it takes seconds to start).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { post, sendText } from "./support/client.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { eventually, messageBodies } from "./support/rooms.ts";
import { CA_MISSING, skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse, type SynapsePeer } from "./support/synapse.ts";

const enc = encodeURIComponent;
type Server = Pick<GemengNode, "request">;
const INCLUDE_LEAVE = enc(JSON.stringify({ room: { include_leave: true } }));

/** Synapse keeps an initial sync's answer for a while: each request differs in `timeout`. */
let syncSerial = 0;

// deno-lint-ignore no-explicit-any
async function sync(server: Server, user: NodeUser): Promise<any> {
  // An initial sync never waits, whatever its timeout.
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/sync?timeout=${++syncSerial}&filter=${INCLUDE_LEAVE}`,
    { token: user.accessToken },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** A member's membership as a user in the room reads it from the room's state. */
async function memberState(server: Server, viewer: NodeUser, roomId: string, userId: string) {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`,
    { token: viewer.accessToken },
  );
  return res.status === 200 ? res.body.membership as string : null;
}

Deno.test({
  name: "membership across gemeng and Synapse: invites both ways, kick, rejection, knock",
  ...skipUnless(SYNAPSE_MISSING ?? CA_MISSING),
  async fn(t) {
    let synapse: SynapsePeer | null = null;
    let a: GemengNode | null = null;
    try {
      synapse = await startSynapse();
      a = await startGemengNode();
      const syn = synapse;
      const gem = a;
      const step = (name: string, fn: () => Promise<void>) =>
        t.step(name, async () => {
          try {
            await fn();
          } catch (err) {
            const log = await syn.logTail(3000);
            console.error(
              log.split("\n").filter((l) => !/\/sync|background_update/.test(l)).slice(-80)
                .join("\n"),
            );
            throw err;
          }
        });
      const alice = await gem.register("alice");
      const bob = await gem.register("bob");
      const carol = await syn.register("carol");
      const dave = await syn.register("dave");

      await step("a Synapse user invited from gemeng accepts, then is kicked", async () => {
        const roomId = (await post(gem, alice, "/createRoom", {
          room_version: "10",
          preset: "private_chat",
          name: "Gemeng hosted",
        })).room_id as string;
        await post(gem, alice, `/rooms/${enc(roomId)}/invite`, { user_id: carol.userId });
        const invite = await eventually(
          async () => (await sync(syn, carol)).rooms?.invite?.[roomId],
          "the invite on Synapse",
        );
        // deno-lint-ignore no-explicit-any
        const state = invite.invite_state.events as any[];
        assert(state.some((e) => e.type === "m.room.name"), JSON.stringify(state));
        await post(syn, carol, `/join/${enc(roomId)}`);
        await eventually(
          async () => (await memberState(gem, alice, roomId, carol.userId)) === "join",
          "carol's join on gemeng",
        );
        await sendText(gem, alice, roomId, "bonjour carol");
        await eventually(
          async () => (await messageBodies(syn, carol, roomId)).includes("bonjour carol"),
          "alice's message on Synapse",
        );
        await sendText(syn, carol, roomId, "moien alice");
        await eventually(
          async () => (await messageBodies(gem, alice, roomId)).includes("moien alice"),
          "carol's message on gemeng",
        );
        await post(gem, alice, `/rooms/${enc(roomId)}/kick`, { user_id: carol.userId });
        await eventually(
          async () => (await sync(syn, carol)).rooms?.leave?.[roomId],
          "the kick on Synapse",
        );
      });

      await step("a gemeng user invited from Synapse accepts", async () => {
        const roomId = (await post(syn, carol, "/createRoom", {
          room_version: "10",
          preset: "private_chat",
          name: "Synapse hosted",
        })).room_id as string;
        await post(syn, carol, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        const invite = await eventually(
          async () => (await sync(gem, bob)).rooms?.invite?.[roomId],
          "the invite on gemeng",
        );
        // deno-lint-ignore no-explicit-any
        const state = invite.invite_state.events as any[];
        const name = state.find((e) => e.type === "m.room.name");
        assertEquals(name?.content.name, "Synapse hosted");
        await post(gem, bob, `/rooms/${enc(roomId)}/join`);
        await eventually(
          async () => (await memberState(syn, carol, roomId, bob.userId)) === "join",
          "bob's join on Synapse",
        );
        await sendText(syn, carol, roomId, "salut bob");
        await eventually(
          async () => (await messageBodies(gem, bob, roomId)).includes("salut bob"),
          "carol's message on gemeng",
        );
        await sendText(gem, bob, roomId, "salut carol");
        await eventually(
          async () => (await messageBodies(syn, carol, roomId)).includes("salut carol"),
          "bob's message on Synapse",
        );
        // A kick from Synapse reaches gemeng.
        await post(syn, carol, `/rooms/${enc(roomId)}/kick`, { user_id: bob.userId });
        await eventually(
          async () => (await gem.hs.rooms.membership(roomId, bob.userId))?.membership === "leave",
          "the kick on gemeng",
        );
      });

      await step("a gemeng user rejects an invite from Synapse", async () => {
        const roomId = (await post(syn, carol, "/createRoom", {
          room_version: "10",
          preset: "private_chat",
        })).room_id as string;
        await post(syn, carol, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        await eventually(async () => (await sync(gem, bob)).rooms?.invite?.[roomId], "the invite");
        await post(gem, bob, `/rooms/${enc(roomId)}/leave`);
        await eventually(
          async () => (await memberState(syn, carol, roomId, bob.userId)) === "leave",
          "the rejection on Synapse",
        );
        assert(!((await sync(gem, bob)).rooms?.invite?.[roomId]));
      });

      await step("a Synapse user rejects an invite from gemeng", async () => {
        const roomId = (await post(gem, alice, "/createRoom", {
          room_version: "10",
          preset: "private_chat",
        })).room_id as string;
        await post(gem, alice, `/rooms/${enc(roomId)}/invite`, { user_id: dave.userId });
        await eventually(async () => (await sync(syn, dave)).rooms?.invite?.[roomId], "invite");
        await post(syn, dave, `/rooms/${enc(roomId)}/leave`);
        await eventually(
          async () => (await memberState(gem, alice, roomId, dave.userId)) === "leave",
          "the rejection on gemeng",
        );
      });

      await step("a gemeng user knocks on a Synapse room and is let in", async () => {
        const roomId = (await post(syn, dave, "/createRoom", {
          room_version: "10",
          preset: "private_chat",
          name: "Knock on Synapse",
          initial_state: [{
            type: "m.room.join_rules",
            state_key: "",
            content: { join_rule: "knock" },
          }],
        })).room_id as string;
        await post(gem, bob, `/knock/${enc(roomId)}?server_name=${enc(syn.serverName)}`, {
          reason: "bitte",
        });
        await eventually(
          async () => (await memberState(syn, dave, roomId, bob.userId)) === "knock",
          "the knock on Synapse",
        );
        await eventually(
          async () => (await sync(gem, bob)).rooms?.knock?.[roomId],
          "knock in sync",
        );
        await post(syn, dave, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        await eventually(async () => (await sync(gem, bob)).rooms?.invite?.[roomId], "the invite");
        await post(gem, bob, `/rooms/${enc(roomId)}/join`);
        await eventually(
          async () => (await memberState(syn, dave, roomId, bob.userId)) === "join",
          "bob's join on Synapse",
        );
      });

      await step("a Synapse user knocks on a gemeng room and is let in", async () => {
        const roomId = (await post(gem, alice, "/createRoom", {
          room_version: "10",
          preset: "private_chat",
          name: "Knock on gemeng",
          initial_state: [{
            type: "m.room.join_rules",
            state_key: "",
            content: { join_rule: "knock" },
          }],
        })).room_id as string;
        await post(syn, dave, `/knock/${enc(roomId)}?server_name=${enc(gem.serverName)}`, {});
        await eventually(
          async () => (await memberState(gem, alice, roomId, dave.userId)) === "knock",
          "the knock on gemeng",
        );
        await post(gem, alice, `/rooms/${enc(roomId)}/invite`, { user_id: dave.userId });
        await eventually(async () => (await sync(syn, dave)).rooms?.invite?.[roomId], "the invite");
        await post(syn, dave, `/join/${enc(roomId)}`);
        await eventually(
          async () => (await memberState(gem, alice, roomId, dave.userId)) === "join",
          "dave's join on gemeng",
        );
      });
    } catch (err) {
      if (synapse) console.error(await synapse.logTail(60));
      throw err;
    } finally {
      await a?.close();
      await synapse?.stop();
    }
  },
});
