/**
 * After a long outage a sender collapses its queue for a peer to the room's newest event (the
 * catch-up of `server/federation/outbox.ts`): the peer must then fetch the whole gap before it,
 * here 400 events, with `/get_missing_events` in rounds, and place them in order.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { type DestinationRecord, outboxKeys } from "../../server/federation/outbox.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { createRoom, join, joined, send, text, timelineIds } from "./support/client.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, freePort, skipUnless } from "./support/peers.ts";
import { startTcpProxy } from "./support/proxy.ts";

const GAP = 400;

Deno.test({
  name: `a gap of ${GAP} events behind a collapsed queue is fetched in rounds and placed in order`,
  ...skipUnless(CA_MISSING),
  async fn() {
    const federationPort = freePort();
    const proxy = startTcpProxy(federationPort);
    const a = await startGemengNode({ federationPort, serverName: `127.0.0.1:${proxy.port}` });
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await createRoom(a, alice, { preset: "public_chat", room_version: "12" });
      await join(b, bob, roomId, a.serverName);
      await eventually(() => joined(a, alice, roomId, bob.userId), "bob's join on A");
      const before = await send(b, bob, roomId, text("before the outage"));
      await eventually(
        async () => (await timelineIds(a, alice, roomId)).includes(before),
        "B to A",
      );

      proxy.cut();
      const sent: string[] = [];
      for (let i = 1; i <= GAP; i++) {
        sent.push(await send(b, bob, roomId, text(`during the outage ${i}`)));
      }
      const record = await eventually(async () => {
        const entry = await b.hs.kv.get<DestinationRecord>(outboxKeys.destination(a.serverName));
        return entry.value && entry.value.failures > 0 && entry.value.inFlight ? entry.value : null;
      }, "B's failed transaction to A");
      // Keep what the catch-up keeps: the transaction in flight and the newest event.
      const keep = new Set(record.inFlight!.items.map(([, eventId]) => eventId));
      keep.add(sent[sent.length - 1]);
      for await (const entry of b.hs.kv.list({ prefix: outboxKeys.queueOf(a.serverName) })) {
        if (!keep.has(entry.key[3] as string)) await b.hs.kv.delete(entry.key);
      }
      assert(keep.size < 60, `a gap is left (${keep.size} kept)`);

      proxy.restore();
      b.hs.sender.retryNow(a.serverName);
      await eventually(
        async () => {
          const last = await a.hs.rooms.event(sent[sent.length - 1]);
          return last !== null && last.meta.pos !== null;
        },
        "the newest event on A",
        60_000,
      );
      const stored = await a.hs.rooms.events(sent);
      const positions = sent.map((id) => stored.get(id)?.meta.pos ?? null);
      const missing = positions.filter((p) => p === null).length;
      assertEquals(missing, 0, `${missing} of ${GAP} events are not in A's timeline`);
      const ordered = (positions as number[]).every((p, i) => i === 0 || p > positions[i - 1]!);
      assert(ordered, "A placed the events out of order");
    } finally {
      await b.close();
      await a.close();
      await proxy.close();
    }
  },
});
