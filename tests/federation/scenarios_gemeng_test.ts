/**
 * Federation scenarios between gemeng nodes on loopback TLS (issue 12, "Done when"): edits
 * and redactions both ways; a node stopped for a while receives everything sent meanwhile, in
 * order; a restart of the sending node in the middle loses no queued PDU; two nodes
 * partitioned (a real cut, `support/proxy.ts`) while changing power levels and the topic
 * converge to the same state.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import {
  type GemengNode,
  type GemengNodeOptions,
  type NodeUser,
  startGemengNode,
} from "./support/gemeng_node.ts";
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
  send,
  setState,
  stateEvent,
  stateIds,
  text,
  timelineIds,
} from "./support/client.ts";

import { CA_MISSING, freePort, skipUnless } from "./support/peers.ts";
import { startTcpProxy, type TcpProxy } from "./support/proxy.ts";
import { type DestinationRecord, outboxKeys } from "../../server/federation/outbox.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The delivery state of `destination` in `node`'s outbox. */
async function outbound(node: GemengNode, destination: string) {
  return (await node.hs.sender.status()).find((s) => s.destination === destination);
}

/** A room on `a` (alice) joined by bob from `b`, both sides seeing each other. */
async function sharedRoom(
  a: GemengNode,
  alice: NodeUser,
  b: GemengNode,
  bob: NodeUser,
  body: Record<string, unknown>,
) {
  const roomId = await createRoom(a, alice, { preset: "public_chat", ...body });
  await join(b, bob, roomId, a.serverName);
  await eventually(() => joined(a, alice, roomId, bob.userId), "bob's join on A");
  const hello = await send(a, alice, roomId, text("warm-up"));
  await eventually(async () => (await timelineIds(b, bob, roomId)).includes(hello), "A to B");
  return roomId;
}

for (const version of ["10", "12"]) {
  Deno.test({
    name: `gemeng to gemeng, room version ${version}: edits and redactions both ways`,
    ...skipUnless(CA_MISSING),
    async fn() {
      const a = await startGemengNode();
      const b = await startGemengNode();
      try {
        const alice = await a.register("alice");
        const bob = await b.register("bob");
        const roomId = await sharedRoom(a, alice, b, bob, { room_version: version });
        const m1 = await send(a, alice, roomId, text("alice says"));
        const m2 = await send(b, bob, roomId, text("bob says"));
        const m3 = await send(b, bob, roomId, text("bob says more"));
        await eventually(async () => (await timelineIds(b, bob, roomId)).includes(m1), "m1 on B");
        await eventually(async () => {
          const ids = await timelineIds(a, alice, roomId);
          return ids.includes(m2) && ids.includes(m3);
        }, "m2, m3 on A");

        // Edits: the replacement reaches the other side and relates to the original there.
        const e1 = await send(a, alice, roomId, editOf(m1, "alice says, edited"));
        const e2 = await send(b, bob, roomId, editOf(m2, "bob says, edited"));
        await eventually(
          async () => (await replacements(b, bob, roomId, m1)).includes(e1),
          "alice's edit related to m1 on B",
        );
        await eventually(
          async () => (await replacements(a, alice, roomId, m2)).includes(e2),
          "bob's edit related to m2 on A",
        );
        const e1OnB = await eventOn(b, bob, roomId, e1);
        assertEquals(e1OnB.body.content["m.new_content"].body, "alice says, edited");
        const e2OnA = await eventOn(a, alice, roomId, e2);
        assertEquals(e2OnA.body.content["m.new_content"].body, "bob says, edited");

        // Redactions: own events both ways, and alice (PL 100) redacting bob's event.
        const r2 = await redact(b, bob, roomId, m2);
        const r1 = await redact(a, alice, roomId, m1);
        const r3 = await redact(a, alice, roomId, m3);
        const redactedOn = async (node: Peer, user: NodeUser, id: string, by: string) => {
          const res = await eventOn(node, user, roomId, id);
          return res.status === 200 && Object.keys(res.body.content).length === 0 &&
            res.body.unsigned?.redacted_because?.event_id === by;
        };
        await eventually(() => redactedOn(a, alice, m2, r2), "bob's redaction of m2 on A");
        await eventually(() => redactedOn(b, bob, m1, r1), "alice's redaction of m1 on B");
        await eventually(() => redactedOn(b, bob, m3, r3), "alice's redaction of bob's m3 on B");
        // Redacted on the sending side too, and the redaction events are in both timelines.
        assert(await redactedOn(b, bob, m2, r2));
        assert(await redactedOn(a, alice, m3, r3));
        const onA = await timelineIds(a, alice, roomId);
        const onB = await timelineIds(b, bob, roomId);
        for (const id of [r1, r2, r3, e1, e2]) {
          assert(onA.includes(id) && onB.includes(id), `${id} in both timelines`);
        }
      } finally {
        await b.close();
        await a.close();
      }
    },
  });
}

/** A node on an on-disk data directory that can be stopped and started as the same server. */
class RestartableNode {
  readonly options: GemengNodeOptions;
  node: GemengNode | null = null;

  constructor(readonly dataDir: string, options: GemengNodeOptions = {}) {
    this.options = { dataDir, federationPort: freePort(), ...options };
  }

  get serverName(): string {
    return this.options.serverName ?? `127.0.0.1:${this.options.federationPort}`;
  }

  get current(): GemengNode {
    if (!this.node) throw new Error(`${this.serverName} is stopped`);
    return this.node;
  }

  async start(): Promise<GemengNode> {
    this.node = await startGemengNode(this.options);
    return this.node;
  }

  async stop(): Promise<void> {
    const node = this.node;
    this.node = null;
    await node?.close();
  }
}

async function tempDir(prefix: string) {
  return await Deno.makeTempDir({ prefix: `gemeng-fed-${prefix}-` });
}

Deno.test({
  name: "a node stopped for a while receives everything sent meanwhile, in order, once back",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dir = await tempDir("b");
    const a = await startGemengNode();
    const b = new RestartableNode(dir);
    try {
      const alice = await a.register("alice");
      const bob = await (await b.start()).register("bob");
      const roomId = await sharedRoom(a, alice, b.current, bob, { room_version: "12" });

      await b.stop();
      const sent: string[] = [];
      for (let i = 1; i <= 30; i++) sent.push(`while B was down ${i}`);
      for (const body of sent) await send(a, alice, roomId, text(body));
      const down = await eventually(async () => {
        const s = await outbound(a, b.serverName);
        return s && s.failures > 0 ? s : null;
      }, "A's sender noticing B is down");
      const backoffLeft = down.backoffUntil - Date.now();

      const restarted = Date.now();
      await b.start();
      // A retries on its own after its backoff (5 s after the first failure by default).
      const seen = await eventually(
        async () => {
          const bodies = await messageBodies(b.current, bob, roomId);
          const got = bodies.filter((x) => x.startsWith("while B was down"));
          return got.length >= sent.length ? got : null;
        },
        `all 30 messages on B (A's backoff had ${backoffLeft} ms left)`,
        45_000,
      );
      assertEquals(seen, sent);
      console.log(
        `  B caught up ${Date.now() - restarted} ms after its restart ` +
          `(A's backoff had ${backoffLeft} ms left when B came back)`,
      );
      // And the room works both ways afterwards.
      const back = await send(b.current, bob, roomId, text("bob is back"));
      await eventually(
        async () => (await timelineIds(a, alice, roomId)).includes(back),
        "bob's message on A",
      );
    } finally {
      await b.stop();
      await a.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a request from a destination that A backs off from ends the backoff at once",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dir = await tempDir("b");
    const a = await startGemengNode();
    const b = new RestartableNode(dir);
    try {
      const alice = await a.register("alice");
      const bob = await (await b.start()).register("bob");
      const roomId = await sharedRoom(a, alice, b.current, bob, { room_version: "12" });

      await b.stop();
      // Two failures: the backoff is then 8-10 s, long enough to tell a prompt retry apart.
      const first = await send(a, alice, roomId, text("sent while B was down"));
      const down = await eventually(
        async () => {
          const s = await outbound(a, b.serverName);
          return s && s.failures >= 2 ? s : null;
        },
        "A's second failed attempt to reach B",
        20_000,
      );
      await b.start();
      // B talks to A: A now knows B is up (the sender's destinationUp).
      const hello = await send(b.current, bob, roomId, text("B is up again"));
      await eventually(
        async () => (await timelineIds(a, alice, roomId)).includes(hello),
        "bob's message on A",
      );
      const heard = Date.now();
      const left = down.backoffUntil - heard;
      assert(left > 3_000, `the backoff ran out too early to tell (${left} ms left)`);
      await eventually(
        async () => (await timelineIds(b.current, bob, roomId)).includes(first),
        `alice's message on B well before A's backoff ends (${left} ms after B's request)`,
        2_500,
      );
    } finally {
      await b.stop();
      await a.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a restart of the sending node while its peer is down loses no queued PDU",
  ...skipUnless(CA_MISSING),
  async fn() {
    const dirA = await tempDir("a");
    const dirB = await tempDir("b");
    const a = new RestartableNode(dirA);
    const b = new RestartableNode(dirB);
    try {
      const alice = await (await a.start()).register("alice");
      const bob = await (await b.start()).register("bob");
      const roomId = await sharedRoom(a.current, alice, b.current, bob, { room_version: "11" });

      await b.stop();
      const sent: string[] = [];
      for (let i = 1; i <= 10; i++) sent.push(`queued ${i}`);
      for (const body of sent) await send(a.current, alice, roomId, text(body));
      await eventually(async () => {
        const s = await outbound(a.current, b.serverName);
        return s && s.failures > 0 && s.queued + (s.inFlightTxnId ? 1 : 0) >= sent.length;
      }, "A's queue for B");

      // A goes down with the queue (and a transaction in flight), then comes back first.
      await a.stop();
      await a.start();
      const queued = await outbound(a.current, b.serverName);
      assert(queued && queued.queued > 0, `A's queue after the restart: ${JSON.stringify(queued)}`);
      await b.start();
      const seen = await eventually(
        async () => {
          const got = (await messageBodies(b.current, bob, roomId)).filter((x) =>
            x.startsWith("queued ")
          );
          return got.length >= sent.length ? got : null;
        },
        "the queued messages on B",
        45_000,
      );
      assertEquals(seen, sent);
      const after = await send(a.current, alice, roomId, text("after both restarts"));
      await eventually(
        async () => (await timelineIds(b.current, bob, roomId)).includes(after),
        "a new message on B",
      );
    } finally {
      await b.stop();
      await a.stop();
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
    }
  },
});

/** A node reachable by its peers only through a proxy: its server name has the proxy's port. */
async function nodeBehindProxy(): Promise<{ node: GemengNode; proxy: TcpProxy }> {
  const federationPort = freePort();
  const proxy = startTcpProxy(federationPort);
  try {
    const node = await startGemengNode({
      federationPort,
      serverName: `127.0.0.1:${proxy.port}`,
    });
    return { node, proxy };
  } catch (err) {
    await proxy.close();
    throw err;
  }
}

Deno.test({
  name: "two nodes partitioned while changing power levels and the topic converge",
  ...skipUnless(CA_MISSING),
  async fn(t) {
    const { node: a, proxy: pa } = await nodeBehindProxy();
    const { node: b, proxy: pb } = await nodeBehindProxy();
    const partition = () => {
      pa.cut();
      pb.cut();
    };
    const heal = () => {
      pa.restore();
      pb.restore();
    };
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await sharedRoom(a, alice, b, bob, { room_version: "12" });
      assert(pa.relayed > 0 && pb.relayed > 0, "the nodes talk through the proxies");
      // Bob may change the topic (50), not the power levels (100).
      const pl = await stateEvent(a, alice, roomId, "m.room.power_levels");
      const raised = await setState(a, alice, roomId, "m.room.power_levels", {
        ...pl,
        users: { ...pl.users, [bob.userId]: 50 },
      });
      await setState(a, alice, roomId, "m.room.topic", { topic: "before the partition" });
      await eventually(async () => {
        const s = await stateIds(b, bob, roomId);
        return s["m.room.power_levels|"] === raised &&
          (await stateEvent(b, bob, roomId, "m.room.topic"))?.topic === "before the partition";
      }, "bob's power and the topic on B");

      /**
       * Heals, sends one more message each way, waits for each side's branch in the other's
       * timeline (`branchA` on B, `branchB` on A), and compares the current states.
       */
      const healAndCompare = async (branchA: string[], branchB: string[]) => {
        heal();
        const fromA = await send(a, alice, roomId, text("after healing, from A"));
        const fromB = await send(b, bob, roomId, text("after healing, from B"));
        const wantedOnA = [...branchB, fromB];
        const wantedOnB = [...branchA, fromA];
        const missing = async () => {
          const onA = await timelineIds(a, alice, roomId);
          const onB = await timelineIds(b, bob, roomId);
          return {
            onA: wantedOnA.filter((id) => !onA.includes(id)),
            onB: wantedOnB.filter((id) => !onB.includes(id)),
          };
        };
        await eventually(
          async () => {
            const m = await missing();
            return m.onA.length === 0 && m.onB.length === 0;
          },
          "each side's branch in the other's timeline",
          20_000,
        ).catch(async (err) => {
          throw new Error(`${err.message}: missing ${JSON.stringify(await missing())}`);
        });
        const stateA = await eventually(
          async () => {
            const sa = await stateIds(a, alice, roomId);
            const sb = await stateIds(b, bob, roomId);
            return JSON.stringify(sa) === JSON.stringify(sb) ? sa : null;
          },
          "the same current state on both nodes",
          10_000,
        ).catch(async (err) => {
          const sa = await stateIds(a, alice, roomId);
          const sb = await stateIds(b, bob, roomId);
          throw new Error(`${err.message}: A ${JSON.stringify(sa)} B ${JSON.stringify(sb)}`);
        });
        const plA = await stateEvent(a, alice, roomId, "m.room.power_levels");
        const plB = await stateEvent(b, bob, roomId, "m.room.power_levels");
        assertEquals(plA, plB);
        assertEquals(
          await stateEvent(a, alice, roomId, "m.room.topic"),
          await stateEvent(b, bob, roomId, "m.room.topic"),
        );
        return stateA;
      };

      await t.step("concurrent topics and a power level change", async () => {
        partition();
        const now = await stateEvent(a, alice, roomId, "m.room.power_levels");
        const plA = await setState(a, alice, roomId, "m.room.power_levels", {
          ...now,
          events_default: 10,
        });
        const topicA = await setState(a, alice, roomId, "m.room.topic", { topic: "from A" });
        const topicB = await setState(b, bob, roomId, "m.room.topic", { topic: "from B" });
        // Meanwhile each side still has its own view.
        assertEquals((await stateEvent(b, bob, roomId, "m.room.topic"))?.topic, "from B");
        assertEquals((await stateEvent(a, alice, roomId, "m.room.topic"))?.topic, "from A");
        const state = await healAndCompare([plA, topicA], [topicB]);
        assertEquals(state["m.room.power_levels|"], plA);
        assert([topicA, topicB].includes(state["m.room.topic|"]), "one of the two topics wins");
      });

      await t.step("bob demoted on A while he changes the topic on B", async () => {
        const topicBefore = (await stateIds(a, alice, roomId))["m.room.topic|"];
        partition();
        const now = await stateEvent(a, alice, roomId, "m.room.power_levels");
        // Bob keeps the level to talk (events_default is 10 now), not to change the topic.
        const demoted = await setState(a, alice, roomId, "m.room.power_levels", {
          ...now,
          users: { ...now.users, [bob.userId]: 10 },
        });
        const topicB = await setState(b, bob, roomId, "m.room.topic", { topic: "bob again" });
        // On A bob's topic fails against the current state (soft-failed: not in A's timeline).
        const state = await healAndCompare([demoted], []);
        assert((await timelineIds(b, bob, roomId)).includes(topicB));
        // Power events are resolved first: bob's topic is not authorised in the merged room.
        assertEquals(state["m.room.power_levels|"], demoted);
        assertEquals(state["m.room.topic|"], topicBefore);
      });
    } finally {
      await b.close();
      await a.close();
      await pa.close();
      await pb.close();
    }
  },
});

Deno.test({
  name: "a gap in what a peer delivers (its queue collapsed by catch-up) is fetched with " +
    "get_missing_events",
  ...skipUnless(CA_MISSING),
  async fn() {
    const { node: a, proxy: pa } = await nodeBehindProxy();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await sharedRoom(a, alice, b, bob, { room_version: "12" });
      const back = await send(b, bob, roomId, text("bob before the outage"));
      await eventually(async () => (await timelineIds(a, alice, roomId)).includes(back), "B to A");

      pa.cut();
      const sent: string[] = [];
      for (let i = 1; i <= 8; i++) sent.push(`during the outage ${i}`);
      for (const body of sent) await send(b, bob, roomId, text(body));
      const record = await eventually(async () => {
        const entry = await b.hs.kv.get<DestinationRecord>(outboxKeys.destination(a.serverName));
        return entry.value && entry.value.failures > 0 && entry.value.inFlight ? entry.value : null;
      }, "B's failed transaction to A");
      // What the sender's catch-up does after a long outage: keep the newest event of the room
      // (and the transaction in flight), drop the rest for the peer to fetch.
      const keep = new Set(record.inFlight!.items.map(([, eventId]) => eventId));
      const queued: Deno.KvKey[] = [];
      for await (const entry of b.hs.kv.list({ prefix: outboxKeys.queueOf(a.serverName) })) {
        queued.push(entry.key);
      }
      assertEquals(queued.length, sent.length, "B queued every message for A");
      keep.add(queued[queued.length - 1][3] as string);
      for (const key of queued) if (!keep.has(key[3] as string)) await b.hs.kv.delete(key);
      assert(keep.size < sent.length - 2, "a gap is left");

      pa.restore();
      const seen = await eventually(
        async () => {
          const got = (await messageBodies(a, alice, roomId)).filter((x) =>
            x.startsWith("during the outage")
          );
          return got.length >= sent.length ? got : null;
        },
        "every message of the outage on A",
        20_000,
      ).catch(async (err) => {
        const got = await messageBodies(a, alice, roomId);
        throw new Error(`${err.message}: A has ${JSON.stringify(got)}`);
      });
      assertEquals(seen, sent);
    } finally {
      await b.close();
      await a.close();
      await pa.close();
    }
  },
});
