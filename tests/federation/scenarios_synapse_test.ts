/**
 * Federation scenarios between gemeng and the Synapse 1.67 peer on loopback TLS (issue 12,
 * "Done when"): edits and redactions both ways, in a room hosted by either side; topic and
 * power level changes crossing (a remote user given power changes the topic on their own
 * server); a gemeng node stopped while Synapse users talk catches up once back.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { eventually, messageBodies } from "./support/rooms.ts";
import {
  createRoom,
  editOf,
  eventOn,
  join,
  joined,
  type Peer,
  redact,
  replacements,
  room,
  send,
  setState,
  stateEvent,
  stateEventId,
  text,
  timelineIds,
  type User,
} from "./support/client.ts";

import { freePort, skipUnless, SYNAPSE_MISSING, testCa } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A room hosted by `host` (its user `owner`) joined by `guest` from `guestPeer`. */
async function sharedRoom(
  hosting: { peer: Peer; user: User; serverName: string },
  guest: { peer: Peer; user: User },
  version: string,
) {
  const roomId = await createRoom(hosting.peer, hosting.user, {
    room_version: version,
    preset: "public_chat",
  });
  await join(guest.peer, guest.user, roomId, hosting.serverName);
  await eventually(
    () => joined(hosting.peer, hosting.user, roomId, guest.user.userId),
    "the guest's join on the host",
  );
  const hello = await send(hosting.peer, hosting.user, roomId, text("warm-up"));
  await eventually(
    async () => (await timelineIds(guest.peer, guest.user, roomId)).includes(hello),
    "the host's message at the guest",
  );
  return roomId;
}

Deno.test({
  name: "gemeng and Synapse: edits, redactions, topic and power levels, a stopped gemeng node",
  ...skipUnless(SYNAPSE_MISSING),
  async fn(t) {
    const dataDir = await Deno.makeTempDir({ prefix: "gemeng-fed-scenarios-" });
    const nodeOptions = { dataDir, federationPort: freePort() };
    const synapse = await startSynapse();
    let gemeng: GemengNode | null = await startGemengNode(nodeOptions);
    const g = () => {
      if (!gemeng) throw new Error("the gemeng node is stopped");
      return gemeng;
    };
    try {
      const sam = await synapse.register("sam");
      const gina = await g().register("gina");
      const onGemeng = { peer: g(), user: gina, serverName: g().serverName };
      const onSynapse = { peer: synapse, user: sam, serverName: synapse.serverName };

      /** Edits and redactions in both directions, in a room hosted by `host`. */
      const editsAndRedactions = async (roomId: string) => {
        const m1 = await send(g(), gina, roomId, text("gina says"));
        const m2 = await send(synapse, sam, roomId, text("sam says"));
        const m3 = await send(synapse, sam, roomId, text("sam says more"));
        await eventually(async () => {
          const ids = await timelineIds(g(), gina, roomId);
          return ids.includes(m2) && ids.includes(m3);
        }, "sam's messages on gemeng");
        await eventually(
          async () => (await timelineIds(synapse, sam, roomId)).includes(m1),
          "gina's message on Synapse",
        );

        const e1 = await send(g(), gina, roomId, editOf(m1, "gina says, edited"));
        const e2 = await send(synapse, sam, roomId, editOf(m2, "sam says, edited"));
        await eventually(
          async () => (await replacements(synapse, sam, roomId, m1)).includes(e1),
          "gina's edit related to her message on Synapse",
        );
        await eventually(
          async () => (await replacements(g(), gina, roomId, m2)).includes(e2),
          "sam's edit related to his message on gemeng",
        );
        const e2OnGemeng = await eventOn(g(), gina, roomId, e2);
        assertEquals(e2OnGemeng.body.content["m.new_content"].body, "sam says, edited");

        const r2 = await redact(synapse, sam, roomId, m2);
        const r1 = await redact(g(), gina, roomId, m1);
        const redactedOn = async (peer: Peer, user: User, id: string, by: string) => {
          const res = await eventOn(peer, user, roomId, id);
          return res.status === 200 && Object.keys(res.body.content).length === 0 &&
            res.body.unsigned?.redacted_because?.event_id === by;
        };
        await eventually(() => redactedOn(g(), gina, m2, r2), "sam's redaction on gemeng");
        await eventually(() => redactedOn(synapse, sam, m1, r1), "gina's redaction on Synapse");
        return { m3 };
      };

      await t.step("edits and redactions both ways, room on gemeng (v10)", async () => {
        const roomId = await sharedRoom(onGemeng, { peer: synapse, user: sam }, "10");
        const { m3 } = await editsAndRedactions(roomId);
        // The room's creator (PL 100) redacts the Synapse user's message.
        const r3 = await redact(g(), gina, roomId, m3);
        await eventually(async () => {
          const res = await eventOn(synapse, sam, roomId, m3);
          return res.status === 200 && Object.keys(res.body.content).length === 0 &&
            res.body.unsigned?.redacted_because?.event_id === r3;
        }, "gina's redaction of sam's message on Synapse");
      });

      await t.step("edits and redactions both ways, room on Synapse (v6)", async () => {
        const roomId = await sharedRoom(onSynapse, { peer: g(), user: gina }, "6");
        await editsAndRedactions(roomId);
      });

      let commune = "";
      await t.step("room on gemeng: sam given PL 50 changes the topic from Synapse", async () => {
        commune = await sharedRoom(onGemeng, { peer: synapse, user: sam }, "10");
        const refused = await synapse.request("PUT", `${room(commune)}/state/m.room.topic`, {
          token: sam.accessToken,
          body: { topic: "too early" },
        });
        assertEquals(refused.status, 403, JSON.stringify(refused.body));
        const pl = await stateEvent(g(), gina, commune, "m.room.power_levels");
        const plId = await setState(g(), gina, commune, "m.room.power_levels", {
          ...pl,
          users: { ...pl.users, [sam.userId]: 50 },
        });
        await eventually(
          async () => (await stateEventId(synapse, sam, commune, "m.room.power_levels")) === plId,
          "the new power levels on Synapse",
        );
        const topicId = await setState(synapse, sam, commune, "m.room.topic", {
          topic: "set on Synapse",
        });
        await eventually(
          async () =>
            (await stateEvent(g(), gina, commune, "m.room.topic"))?.topic ===
              "set on Synapse",
          "Synapse's topic on gemeng",
        );
        assertEquals(await stateEventId(g(), gina, commune, "m.room.topic"), topicId);
        assertEquals(
          (await stateEvent(synapse, sam, commune, "m.room.power_levels")).users[sam.userId],
          50,
        );
      });

      await t.step("room on Synapse: gina given PL 50 changes the topic from gemeng", async () => {
        const roomId = await sharedRoom(onSynapse, { peer: g(), user: gina }, "10");
        const pl = await stateEvent(synapse, sam, roomId, "m.room.power_levels");
        const plId = await setState(synapse, sam, roomId, "m.room.power_levels", {
          ...pl,
          users: { ...pl.users, [gina.userId]: 50 },
        });
        await eventually(
          async () => (await stateEventId(g(), gina, roomId, "m.room.power_levels")) === plId,
          "the new power levels on gemeng",
        );
        const topicId = await setState(g(), gina, roomId, "m.room.topic", {
          topic: "set on gemeng",
        });
        await eventually(
          async () => (await stateEventId(synapse, sam, roomId, "m.room.topic")) === topicId,
          "gemeng's topic on Synapse",
        );
        assertEquals(
          (await stateEvent(synapse, sam, roomId, "m.room.topic")).topic,
          "set on gemeng",
        );
      });

      await t.step("gemeng stopped briefly while Synapse users talk: Synapse's retry", async () => {
        assert(commune !== "", "the room of the topic step");
        await g().close();
        gemeng = null;
        const sent: string[] = [];
        for (let i = 1; i <= 10; i++) sent.push(`while gemeng was down ${i}`);
        for (const body of sent) await send(synapse, sam, commune, text(body));
        // Let Synapse try (and fail) to deliver before gemeng comes back.
        await new Promise((r) => setTimeout(r, 1_000));

        gemeng = await startGemengNode(nodeOptions);
        const back = Date.now();
        const caughtUp = async () =>
          (await messageBodies(g(), gina, commune)).filter((b) => b.startsWith("while gemeng"));
        // Synapse backs off a failed destination for 10 minutes; a request from gemeng ends that
        // (Synapse then catches up: it sends its newest event and gemeng fetches the gap).
        await new Promise((r) => setTimeout(r, 2_000));
        const onItsOwn = (await caughtUp()).length;
        await send(g(), gina, commune, text("gemeng is back"));
        const seen = await eventually(
          async () => {
            const got = await caughtUp();
            return got.length >= sent.length ? got : null;
          },
          "the messages sent while gemeng was down",
          30_000,
        ).catch(async (err) => {
          throw new Error(
            `${err.message}: gemeng has ${JSON.stringify(await caughtUp())}\n` +
              await synapse.logTail(30),
          );
        });
        assertEquals(seen, sent);
        console.log(
          `  gemeng caught up ${Date.now() - back} ms after its restart ` +
            `(${onItsOwn} of ${sent.length} arrived before gemeng sent anything)`,
        );
      });
      await t.step(
        "gemeng away for longer: Synapse backs off, catches up when gemeng speaks",
        async () => {
          // While gemeng is away, a stand-in on its port refuses Synapse's transactions with a
          // 401: Synapse does not retry that within the request, it backs off the destination
          // for 10 minutes and stops sending to it (its catch-up mode).
          await g().close();
          gemeng = null;
          const ca = await testCa();
          let refusedTxns = 0;
          const standIn = Deno.serve({
            hostname: "127.0.0.1",
            port: nodeOptions.federationPort,
            cert: await Deno.readTextFile(ca.certFile),
            key: await Deno.readTextFile(ca.keyFile),
            onListen: () => {},
          }, (req) => {
            if (new URL(req.url).pathname.includes("/send/")) refusedTxns++;
            return Response.json({ errcode: "M_UNAUTHORIZED", error: "away" }, { status: 401 });
          });
          const sent: string[] = [];
          try {
            sent.push("while gemeng was away 1");
            await send(synapse, sam, commune, text(sent[0]));
            await eventually(() => Promise.resolve(refusedTxns > 0), "Synapse's refused attempt");
            for (let i = 2; i <= 10; i++) {
              sent.push(`while gemeng was away ${i}`);
              await send(synapse, sam, commune, text(sent[i - 1]));
            }
            await new Promise((r) => setTimeout(r, 500));
          } finally {
            await standIn.shutdown();
          }
          const attemptsWhileAway = refusedTxns;

          gemeng = await startGemengNode(nodeOptions);
          const back = Date.now();
          const caughtUp = async () =>
            (await messageBodies(g(), gina, commune)).filter((b) =>
              b.startsWith("while gemeng was away")
            );
          await new Promise((r) => setTimeout(r, 2_000));
          const onItsOwn = (await caughtUp()).length;
          // A request from gemeng ends Synapse's backoff; Synapse then sends its newest event of
          // the room and gemeng fetches the gap before it (get_missing_events).
          await send(g(), gina, commune, text("gemeng is back again"));
          const seen = await eventually(
            async () => {
              const got = await caughtUp();
              return got.length >= sent.length ? got : null;
            },
            "the messages sent while gemeng was away",
            30_000,
          ).catch(async (err) => {
            throw new Error(
              `${err.message}: gemeng has ${JSON.stringify(await caughtUp())}\n` +
                await synapse.logTail(40),
            );
          });
          assertEquals(seen, sent);
          console.log(
            `  gemeng caught up ${Date.now() - back} ms after its restart (${attemptsWhileAway} ` +
              `transaction(s) refused while away, ${onItsOwn} of ${sent.length} arrived before ` +
              `gemeng sent anything)`,
          );
        },
      );
    } finally {
      await gemeng?.close();
      await synapse.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
