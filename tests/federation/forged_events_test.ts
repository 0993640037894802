/**
 * Forged events are refused and change nothing: node B, joined to a room hosted by node A,
 * sends A hand-made PDUs in signed transactions (`support/forge.ts`): a bad signature, a
 * changed content (bad hash), auth violations, an event of a user on a third server C signed
 * only by B, events claiming another room. A answers each with a per-PDU error (or, for the
 * changed content, keeps only the redacted event), and its room state, timeline and forward
 * extremities stay as they were. Also: transaction idempotency and the 50-PDU bound.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { SigningKey } from "../../crypto/signing.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { forgeEvent, sendTransaction, tampered } from "./support/forge.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

const room = (id: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(id)}`;

async function createRoom(node: GemengNode, user: NodeUser, body: Record<string, unknown>) {
  const res = await node.request("POST", "/_matrix/client/v3/createRoom", {
    token: user.accessToken,
    body,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id as string;
}

async function join(node: GemengNode, user: NodeUser, roomId: string, via: string) {
  const res = await node.request(
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(via)}`,
    { token: user.accessToken, body: {} },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

async function joinedMembers(node: GemengNode, user: NodeUser, roomId: string) {
  const res = await node.request("GET", `${room(roomId)}/joined_members`, {
    token: user.accessToken,
  });
  return res.status === 200 ? Object.keys(res.body.joined) : [];
}

/** What A's room looks like: current state, timeline and forward extremities. */
interface Snapshot {
  state: Record<string, string>;
  timeline: string[];
  extremities: string[];
}

async function snapshot(node: GemengNode, user: NodeUser, roomId: string): Promise<Snapshot> {
  const state = await node.request("GET", `${room(roomId)}/state`, { token: user.accessToken });
  assertEquals(state.status, 200, JSON.stringify(state.body));
  const byKey: Record<string, string> = {};
  for (const e of state.body) byKey[`${e.type}|${e.state_key}`] = e.event_id;
  const messages = await node.request("GET", `${room(roomId)}/messages?dir=b&limit=200`, {
    token: user.accessToken,
  });
  assertEquals(messages.status, 200, JSON.stringify(messages.body));
  const extremities = (await node.hs.pipeline.extremities(roomId)) ?? [];
  return {
    state: byKey,
    // deno-lint-ignore no-explicit-any
    timeline: messages.body.chunk.map((e: any) => e.event_id),
    extremities: extremities.map((e) => e.eventId).sort(),
  };
}

async function eventOn(node: GemengNode, user: NodeUser, roomId: string, eventId: string) {
  return await node.request("GET", `${room(roomId)}/event/${encodeURIComponent(eventId)}`, {
    token: user.accessToken,
  });
}

/** The per-PDU result of `eventId` in a transaction answer (asserting a 200). */
// deno-lint-ignore no-explicit-any
function resultOf(answer: { status: number; json: any }, eventId: string): { error?: string } {
  assertEquals(answer.status, 200, JSON.stringify(answer.json));
  const result = answer.json?.pdus?.[eventId];
  assert(result !== undefined, `no result for ${eventId} in ${JSON.stringify(answer.json)}`);
  return result;
}

for (const version of ["10", "12"]) {
  Deno.test({
    name: `forged events (room version ${version}) are refused by the receiving node and change ` +
      `nothing`,
    ...skipUnless(CA_MISSING),
    async fn(t) {
      const a = await startGemengNode();
      const b = await startGemengNode();
      const c = await startGemengNode();
      try {
        const alice = await a.register("alice");
        const bob = await b.register("bob");
        const carol = await c.register("carol");
        const roomId = await createRoom(a, alice, {
          room_version: version,
          preset: "public_chat",
          name: "Forgery",
        });
        await join(b, bob, roomId, a.serverName);
        await join(c, carol, roomId, a.serverName);
        await eventually(async () => {
          const members = await joinedMembers(a, alice, roomId);
          return members.includes(bob.userId) && members.includes(carol.userId);
        }, "bob and carol joined on A");
        const bobKey = b.hs.signingKey;
        let txn = 0;
        const nextTxn = () => `forge-${version}-${++txn}`;

        await t.step("control: a genuine event built the same way is accepted", async () => {
          const genuine = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "genuine" },
          }, { signingKey: bobKey });
          const answer = await sendTransaction(b, a, nextTxn(), { pdus: [genuine.event.pdu] });
          assertEquals(resultOf(answer, genuine.event.eventId), {});
          const seen = await eventOn(a, alice, roomId, genuine.event.eventId);
          assertEquals(seen.status, 200, JSON.stringify(seen.body));
          assertEquals(seen.body.content.body, "genuine");
        });

        const before = await snapshot(a, alice, roomId);

        /** Sends one PDU, expects a per-PDU error and no trace of it on A. */
        const refused = async (
          pdu: Record<string, unknown>,
          eventId: string,
          what: string,
          why: RegExp,
        ) => {
          const answer = await sendTransaction(b, a, nextTxn(), { pdus: [pdu] });
          const result = resultOf(answer, eventId);
          assert(typeof result.error === "string", `${what}: accepted: ${JSON.stringify(result)}`);
          assert(why.test(result.error), `${what}: refused for another reason: ${result.error}`);
          const seen = await eventOn(a, alice, roomId, eventId);
          assertEquals(seen.status, 404, `${what}: A shows it: ${JSON.stringify(seen.body)}`);
          assertEquals(await snapshot(a, alice, roomId), before, `${what}: A's room changed`);
        };

        await t.step("(a) a bad signature: B's key ID, another key", async () => {
          const impostor = await SigningKey.fromSeed(
            bobKey.keyId,
            crypto.getRandomValues(new Uint8Array(32)),
          );
          const forged = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "bad signature" },
          }, { signingKey: impostor });
          await refused(forged.event.pdu, forged.event.eventId, "bad signature", /signature/);
          // A state event too: bob's own member event with another display name.
          const member = await forgeEvent(a, roomId, {
            type: "m.room.member",
            stateKey: bob.userId,
            sender: bob.userId,
            content: { membership: "join", displayname: "not bob" },
          }, { signingKey: impostor });
          await refused(
            member.event.pdu,
            member.event.eventId,
            "bad signature (state)",
            /signature/,
          );
        });

        await t.step("(b) content changed after signing: kept redacted or refused", async () => {
          const signed = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "what bob said" },
          }, { signingKey: bobKey });
          const changed = tampered(signed, {
            content: { msgtype: "m.text", body: "what bob never said" },
          });
          const answer = await sendTransaction(b, a, nextTxn(), { pdus: [changed] });
          assertEquals(answer.status, 200, JSON.stringify(answer.json));
          const seen = await eventOn(a, alice, roomId, signed.event.eventId);
          if (seen.status === 200) {
            assertEquals(seen.body.content, {}, "a changed event must be stored redacted");
          } else {
            assertEquals(seen.status, 404);
          }
          const bodies = await a.request("GET", `${room(roomId)}/messages?dir=b&limit=200`, {
            token: alice.accessToken,
          });
          assert(!JSON.stringify(bodies.body).includes("never said"));
          assert(!JSON.stringify(bodies.body).includes("what bob said"));
          // The state is untouched (the timeline may hold the redacted event).
          assertEquals((await snapshot(a, alice, roomId)).state, before.state);
          // A state event changed after signing: at most its redacted form reaches the state.
          const member = await forgeEvent(a, roomId, {
            type: "m.room.member",
            stateKey: bob.userId,
            sender: bob.userId,
            content: { membership: "join", displayname: "bob" },
          }, { signingKey: bobKey });
          const renamed = tampered(member, {
            content: { membership: "join", displayname: "the mayor" },
          });
          const res = await sendTransaction(b, a, nextTxn(), { pdus: [renamed] });
          assertEquals(res.status, 200, JSON.stringify(res.json));
          const bobNow = await a.request(
            "GET",
            `${room(roomId)}/state/m.room.member/${encodeURIComponent(bob.userId)}`,
            { token: alice.accessToken },
          );
          assertEquals(bobNow.status, 200);
          assert(bobNow.body.displayname !== "the mayor", JSON.stringify(bobNow.body));
          assertEquals(bobNow.body.membership, "join");
          // Later checks compare against the room as it is now.
          Object.assign(before, await snapshot(a, alice, roomId));
        });

        await t.step("(c) auth violations: no power, not a member", async () => {
          const plNow = await a.request("GET", `${room(roomId)}/state/m.room.power_levels`, {
            token: alice.accessToken,
          });
          assertEquals(plNow.status, 200);
          const raise = await forgeEvent(a, roomId, {
            type: "m.room.power_levels",
            stateKey: "",
            sender: bob.userId,
            content: { ...plNow.body, users: { ...plNow.body.users, [bob.userId]: 100 } },
          }, { signingKey: bobKey });
          await refused(
            raise.event.pdu,
            raise.event.eventId,
            "power levels without power",
            /^Rejected/,
          );
          const topic = await forgeEvent(a, roomId, {
            type: "m.room.topic",
            stateKey: "",
            sender: bob.userId,
            content: { topic: "bob was never allowed to say this" },
          }, { signingKey: bobKey });
          await refused(topic.event.pdu, topic.event.eventId, "topic without power", /^Rejected/);
          const stranger = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: `@mallory:${b.serverName}`,
            content: { msgtype: "m.text", body: "I am not in this room" },
          }, { signingKey: bobKey });
          await refused(
            stranger.event.pdu,
            stranger.event.eventId,
            "message from a non-member",
            /^Rejected/,
          );
          // Kicking alice (the creator, PL 100) with bob's PL 0.
          const kick = await forgeEvent(a, roomId, {
            type: "m.room.member",
            stateKey: alice.userId,
            sender: bob.userId,
            content: { membership: "leave" },
          }, { signingKey: bobKey });
          await refused(kick.event.pdu, kick.event.eventId, "kick without power", /^Rejected/);
        });

        await t.step("(d) wrong origin: carol's event (server C) signed only by B", async () => {
          // A transaction claiming to come from C, signed by B: refused as a whole.
          const claim = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "from C, says B" },
          }, { signingKey: bobKey });
          const asOther = await sendTransaction(b, a, nextTxn(), {
            origin: c.serverName,
            pdus: [claim.event.pdu],
          });
          assertEquals(asOther.status, 400, JSON.stringify(asOther.json));
          assertEquals((await eventOn(a, alice, roomId, claim.event.eventId)).status, 404);

          const byB = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: carol.userId,
            content: { msgtype: "m.text", body: "carol did not write this" },
          }, { signingKey: bobKey, origin: b.serverName });
          await refused(
            byB.event.pdu,
            byB.event.eventId,
            "C's event with B's signature",
            /signature/,
          );
          // Claiming C's name in the signatures, made with B's key.
          const asC = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: carol.userId,
            content: { msgtype: "m.text", body: "carol did not sign this" },
          }, { signingKey: bobKey, origin: c.serverName });
          await refused(asC.event.pdu, asC.event.eventId, "B's key under C's name", /signature/);
        });

        await t.step("(e) events claiming another room", async () => {
          // A room on A that B's users are not in; the PDU points into the first room.
          const other = await createRoom(a, alice, {
            room_version: version,
            preset: "private_chat",
          });
          const otherBefore = await snapshot(a, alice, other);
          const crossed = await forgeEvent(a, other, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "wrong room" },
          }, { signingKey: bobKey, contextRoomId: roomId });
          const answer = await sendTransaction(b, a, nextTxn(), { pdus: [crossed.event.pdu] });
          const result = resultOf(answer, crossed.event.eventId);
          assert(typeof result.error === "string", `accepted: ${JSON.stringify(result)}`);
          assertEquals(await snapshot(a, alice, other), otherBefore, "the other room changed");
          assertEquals(await snapshot(a, alice, roomId), before, "the first room changed");
          assertEquals((await eventOn(a, alice, other, crossed.event.eventId)).status, 404);
          // A room A does not know at all.
          const unknown = tampered(crossed, { room_id: `!nowhere:${a.serverName}` });
          const res = await sendTransaction(b, a, nextTxn(), { pdus: [unknown] });
          assertEquals(res.status, 200, JSON.stringify(res.json));
          // The event ID of a PDU in an unknown room cannot be worked out (no room version):
          // leaving it out of the answer is fine, accepting it is not.
          const results = Object.values(res.json.pdus ?? {}) as { error?: string }[];
          assert(results.every((r) => typeof r.error === "string"), JSON.stringify(res.json));
          assertEquals(await a.hs.rooms.room(`!nowhere:${a.serverName}`), null);
        });

        await t.step("a transaction ID seen before gets the same answer, once", async () => {
          const first = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "once" },
          }, { signingKey: bobKey });
          const txnId = nextTxn();
          const answer1 = await sendTransaction(b, a, txnId, { pdus: [first.event.pdu] });
          assertEquals(resultOf(answer1, first.event.eventId), {});
          const answer2 = await sendTransaction(b, a, txnId, { pdus: [first.event.pdu] });
          assertEquals(answer2, answer1);
          // Another body under the same ID is the same transaction: not processed again.
          const second = await forgeEvent(a, roomId, {
            type: "m.room.message",
            sender: bob.userId,
            content: { msgtype: "m.text", body: "twice" },
          }, { signingKey: bobKey });
          const answer3 = await sendTransaction(b, a, txnId, { pdus: [second.event.pdu] });
          assertEquals(answer3, answer1);
          assertEquals((await eventOn(a, alice, roomId, second.event.eventId)).status, 404);
          const timeline = (await snapshot(a, alice, roomId)).timeline;
          assertEquals(timeline.filter((id) => id === first.event.eventId).length, 1);
        });

        await t.step("more than 50 PDUs in a transaction: 400, nothing admitted", async () => {
          const pdus = [];
          const ids: string[] = [];
          for (let i = 0; i < 51; i++) {
            const e = await forgeEvent(a, roomId, {
              type: "m.room.message",
              sender: bob.userId,
              content: { msgtype: "m.text", body: `bulk ${i}` },
            }, { signingKey: bobKey });
            pdus.push(e.event.pdu);
            ids.push(e.event.eventId);
          }
          const now = await snapshot(a, alice, roomId);
          const answer = await sendTransaction(b, a, nextTxn(), { pdus });
          assertEquals(answer.status, 400, JSON.stringify(answer.json));
          assertEquals(answer.json?.errcode, "M_BAD_JSON");
          assertEquals((await eventOn(a, alice, roomId, ids[0])).status, 404);
          assertEquals(await snapshot(a, alice, roomId), now);
        });
      } finally {
        await c.close();
        await b.close();
        await a.close();
      }
    },
  });
}
