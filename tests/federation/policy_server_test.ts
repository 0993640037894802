/**
 * Policy Servers (spec v1.18, MSC4284) from the homeserver's side. Node B hosts a small Policy
 * Server written here (a route module answering `POST /_matrix/policy/v1/sign` for requests
 * signed by another server: a signature by its own `ed25519:policy_server` key, or
 * `M_FORBIDDEN` for messages containing "spam"); its user `@ps` joins the rooms, as the spec
 * asks of a Policy Server. Node A's users talk in rooms on A:
 *
 * - a room without `m.room.policy`, or whose `via` server has no joined user: nothing changes
 *   and the Policy Server is never asked;
 * - a protected room: A's message reaches B carrying the Policy Server's signature; a spam
 *   message is refused to the client with the Policy Server's error verbatim and reaches no one;
 *   a Policy Server that answers 500, or too late, stops the send with 502; `m.room.policy` itself is sent
 *   without asking; a join relayed by A (a user of a third node C joining through A) gets the Policy
 *   Server's signature from A, and one the Policy Server refuses does not happen;
 * - events received by A without a valid Policy Server signature (none, or by another key) are
 *   soft-failed: kept but never shown; one with a valid signature is accepted.
 *
 * @module
 */

import { Hono } from "hono";
import { assert, assertEquals } from "../unit/assert.ts";
import { SigningKey, signJson } from "../../crypto/signing.ts";
import { redactPdu } from "../../federation/redaction.ts";
import type { JsonObject } from "../../federation/types.ts";
import type { AppEnv } from "../../server/request_context.ts";
import type { Homeserver } from "../../server/homeserver.ts";
import {
  authenticatedOrigin,
  federationContent,
  requireServerAuth,
} from "../../server/federation/inbound_auth.ts";
import { POLICY_SERVER_KEY_ID, PolicyServers } from "../../server/federation/policy_server.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { forgeEvent, sendTransaction } from "./support/forge.ts";
import { eventually, messageBodies } from "./support/rooms.ts";
import { createRoom, join, joined, room, setState, text } from "./support/client.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

/** The test Policy Server's state: its key, what it was asked, whether it is failing. */
interface TestPolicyServer {
  key: SigningKey;
  /** Event types and bodies asked about, with the asking server. */
  asked: { origin: string; type: string; body?: string }[];
  /** Answer 500 to everything. */
  down: boolean;
  /** Answer this late (ms). */
  delay: number;
}

function policyServerModule(ps: TestPolicyServer) {
  return (hs: Homeserver) => {
    const app = new Hono<AppEnv>();
    app.use("/_matrix/policy/*", requireServerAuth(hs));
    app.post("/_matrix/policy/v1/sign", async (c) => {
      const pdu = federationContent(c) as JsonObject;
      const content = (pdu.content ?? {}) as JsonObject;
      ps.asked.push({
        origin: authenticatedOrigin(c),
        type: String(pdu.type),
        body: typeof content.body === "string" ? content.body : undefined,
      });
      if (ps.delay > 0) await new Promise((resolve) => setTimeout(resolve, ps.delay));
      if (ps.down) return c.json({ errcode: "M_UNKNOWN", error: "down" }, 500);
      const rules = await hs.rooms.rulesOf(String(pdu.room_id));
      if (!rules) return c.json({ errcode: "M_NOT_FOUND", error: "Unknown room" }, 404);
      if (JSON.stringify(content).includes("spam")) {
        return c.json({
          errcode: "M_FORBIDDEN",
          error: "The message appears to contain possible spam",
        }, 400);
      }
      const signed = await signJson(redactPdu(pdu, rules), hs.config.serverName, ps.key, {
        strict: rules.strictCanonicalJson,
      });
      const signature = signed.signatures[hs.config.serverName][POLICY_SERVER_KEY_ID];
      return c.json({ [hs.config.serverName]: { [POLICY_SERVER_KEY_ID]: signature } });
    });
    return app;
  };
}

async function sendMessage(node: GemengNode, user: NodeUser, roomId: string, body: string) {
  return await node.request(
    "PUT",
    `${room(roomId)}/send/m.room.message/${crypto.randomUUID()}`,
    { token: user.accessToken, body: text(body) },
  );
}

/** The signatures on the event as the node stored it. */
async function storedSignatures(node: GemengNode, eventId: string) {
  const stored = await node.hs.rooms.event(eventId);
  assert(stored, `${node.serverName} has ${eventId}`);
  return stored.event.pdu.signatures as Record<string, Record<string, string>>;
}

Deno.test({
  name: "policy servers: local events signed or refused, received events soft-failed without",
  ...skipUnless(CA_MISSING),
  async fn(t) {
    const ps: TestPolicyServer = {
      key: await SigningKey.generate("policy_server"),
      asked: [],
      down: false,
      delay: 0,
    };
    const a = await startGemengNode();
    const b = await startGemengNode({ modules: [policyServerModule(ps)] });
    const c = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const psUser = await b.register("ps");
      const policy = {
        via: b.serverName,
        public_keys: { ed25519: ps.key.publicKeyBase64 },
      };

      await t.step("a room without m.room.policy is unchanged", async () => {
        const roomId = await createRoom(a, alice, { preset: "public_chat" });
        await join(b, psUser, roomId, a.serverName);
        const sent = await sendMessage(a, alice, roomId, "plain hello");
        assertEquals(sent.status, 200, JSON.stringify(sent.body));
        await eventually(
          async () => (await messageBodies(b, psUser, roomId)).includes("plain hello"),
          "the message on B",
        );
        const signatures = await storedSignatures(a, sent.body.event_id);
        assertEquals(Object.keys(signatures), [a.serverName]);
        assertEquals(ps.asked.length, 0);
      });

      await t.step("a policy whose via server has no joined user is not in use", async () => {
        const roomId = await createRoom(a, alice, { preset: "public_chat" });
        await setState(a, alice, roomId, "m.room.policy", policy);
        const sent = await sendMessage(a, alice, roomId, "nobody from B here, spam or not");
        assertEquals(sent.status, 200, JSON.stringify(sent.body));
        assertEquals(ps.asked.length, 0);
      });

      const roomId = await createRoom(a, alice, { preset: "public_chat" });
      await join(b, psUser, roomId, a.serverName);
      await eventually(() => joined(a, alice, roomId, psUser.userId), "ps joined on A");
      await setState(a, alice, roomId, "m.room.policy", policy);

      await t.step("m.room.policy itself is sent without asking", () => {
        assertEquals(ps.asked.length, 0);
      });

      await t.step("a message is signed by the policy server and delivered", async () => {
        const sent = await sendMessage(a, alice, roomId, "hello, protected room");
        assertEquals(sent.status, 200, JSON.stringify(sent.body));
        assertEquals(ps.asked.map((x) => [x.origin, x.body]), [
          [a.serverName, "hello, protected room"],
        ]);
        const signatures = await storedSignatures(a, sent.body.event_id);
        assert(signatures[b.serverName]?.[POLICY_SERVER_KEY_ID], JSON.stringify(signatures));
        assert(signatures[a.serverName], "A's own signature is kept");
        await eventually(
          async () => (await messageBodies(b, psUser, roomId)).includes("hello, protected room"),
          "the signed message on B",
        );
        const onB = await b.hs.rooms.event(sent.body.event_id);
        assertEquals(onB?.meta.softFailed ?? false, false);
      });

      await t.step("spam is refused with the policy server's error and sent nowhere", async () => {
        const head = await a.hs.pipeline.extremities(roomId);
        const refused = await sendMessage(a, alice, roomId, "cheap spam here");
        assertEquals(refused.status, 403);
        assertEquals(refused.body, {
          errcode: "M_FORBIDDEN",
          error: "The message appears to contain possible spam",
        });
        // Nothing was built on: the room's head is where it was.
        assertEquals(
          (await a.hs.pipeline.extremities(roomId))?.map((e) => e.eventId),
          head?.map((e) => e.eventId),
        );
        const after = await sendMessage(a, alice, roomId, "after the refusal");
        assertEquals(after.status, 200, JSON.stringify(after.body));
        await eventually(
          async () => (await messageBodies(b, psUser, roomId)).includes("after the refusal"),
          "the next message on B",
        );
        assert(!(await messageBodies(b, psUser, roomId)).some((m) => m.includes("spam")));
        assert(!(await messageBodies(a, alice, roomId)).some((m) => m.includes("spam")));
      });

      await t.step("a failing policy server stops the send with 502", async () => {
        ps.down = true;
        try {
          const res = await sendMessage(a, alice, roomId, "while it is down");
          assertEquals(res.status, 502, JSON.stringify(res.body));
          assertEquals(res.body.errcode, "M_UNKNOWN");
          assert(!(await messageBodies(a, alice, roomId)).includes("while it is down"));
        } finally {
          ps.down = false;
        }
      });

      await t.step("a policy server too slow to answer stops the send in time", async () => {
        a.hs.pipeline.usePolicyServer(
          new PolicyServers({ rooms: a.hs.rooms, client: a.hs.federation.client, timeoutMs: 300 }),
        );
        ps.delay = 1500;
        try {
          const started = Date.now();
          const res = await sendMessage(a, alice, roomId, "while it is slow");
          assertEquals(res.status, 502, JSON.stringify(res.body));
          assert(Date.now() - started < 1200, `answered after ${Date.now() - started} ms`);
          assert(!(await messageBodies(a, alice, roomId)).includes("while it is slow"));
        } finally {
          ps.delay = 0;
          await new Promise((resolve) => setTimeout(resolve, 1500));
          a.hs.pipeline.usePolicyServer(
            new PolicyServers({ rooms: a.hs.rooms, client: a.hs.federation.client }),
          );
        }
      });

      await t.step("a join relayed by A is signed by the policy server, or refused", async () => {
        const bob = await c.register("bob");
        await join(c, bob, roomId, a.serverName);
        const member = await a.hs.rooms.currentStateEvent(roomId, "m.room.member", bob.userId);
        assertEquals(member?.event.content.membership, "join");
        const signatures = member!.event.pdu.signatures as Record<string, JsonObject>;
        assert(signatures[b.serverName]?.[POLICY_SERVER_KEY_ID], JSON.stringify(signatures));
        assert(signatures[c.serverName], "C's own signature is kept");
        assert(ps.asked.some((x) => x.origin === a.serverName && x.type === "m.room.member"));

        const spammer = await c.register("spammer");
        const res = await c.request(
          "POST",
          `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${a.serverName}`,
          { token: spammer.accessToken, body: {} },
        );
        assertEquals(res.status, 403, JSON.stringify(res.body));
        assertEquals(res.body.errcode, "M_FORBIDDEN");
        assert(!(await joined(a, alice, roomId, spammer.userId)), "the spammer is not joined");
      });

      await t.step("received events without a valid signature are soft-failed", async () => {
        const asked = ps.asked.length;
        const unsigned = await forgeEvent(a, roomId, {
          type: "m.room.message",
          sender: psUser.userId,
          content: text("unsigned from B"),
        }, { signingKey: b.hs.signingKey });
        const otherKey = await SigningKey.generate("policy_server");
        const wrongKey = await forgeEvent(a, roomId, {
          type: "m.room.message",
          sender: psUser.userId,
          content: text("signed by another key"),
        }, { signingKey: b.hs.signingKey });
        const wrongPdu = await signJson(
          redactPdu(wrongKey.event.pdu, wrongKey.rules),
          b.serverName,
          otherKey,
          { strict: wrongKey.rules.strictCanonicalJson },
        );
        const wrongSigned = {
          ...wrongKey.event.pdu,
          signatures: {
            [b.serverName]: {
              ...(wrongKey.event.pdu.signatures as JsonObject)[b.serverName] as JsonObject,
              ...wrongPdu.signatures[b.serverName],
            },
          },
        };
        for (const [txn, pdu] of [["unsigned", unsigned.event.pdu], ["wrong", wrongSigned]]) {
          const answer = await sendTransaction(b, a, `ps-${txn}-${Date.now()}`, { pdus: [pdu] });
          assertEquals(answer.status, 200, JSON.stringify(answer.json));
        }
        for (const forged of [unsigned, wrongKey]) {
          const stored = await a.hs.rooms.event(forged.event.eventId);
          assert(stored, "A keeps the event");
          assertEquals(stored.meta.rejected, null);
          assertEquals(stored.meta.softFailed, true, forged.event.eventId);
        }
        const bodies = await messageBodies(a, alice, roomId);
        assert(!bodies.includes("unsigned from B"));
        assert(!bodies.includes("signed by another key"));
        // Received events are not sent back to the policy server.
        assertEquals(ps.asked.length, asked);

        const good = await forgeEvent(a, roomId, {
          type: "m.room.message",
          sender: psUser.userId,
          content: text("properly signed from B"),
        }, { signingKey: b.hs.signingKey });
        const psSigned = await signJson(
          redactPdu(good.event.pdu, good.rules),
          b.serverName,
          ps.key,
          {
            strict: good.rules.strictCanonicalJson,
          },
        );
        const goodPdu = {
          ...good.event.pdu,
          signatures: {
            [b.serverName]: {
              ...(good.event.pdu.signatures as JsonObject)[b.serverName] as JsonObject,
              ...psSigned.signatures[b.serverName],
            },
          },
        };
        const answer = await sendTransaction(b, a, `ps-good-${Date.now()}`, { pdus: [goodPdu] });
        assertEquals(answer.status, 200, JSON.stringify(answer.json));
        const stored = await a.hs.rooms.event(good.event.eventId);
        assertEquals(stored?.meta.softFailed ?? false, false);
        assert((await messageBodies(a, alice, roomId)).includes("properly signed from B"));
      });
    } finally {
      await a.close();
      await b.close();
      await c.close();
    }
  },
});
