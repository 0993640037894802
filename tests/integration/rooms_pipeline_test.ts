/**
 * The event pipeline admits a room's next message while the previous one is still committing
 * (server/rooms/event_pipeline.ts). These tests hold it to what that must not change: a room's
 * events commit in the order they were built and survive a restart, an acknowledged send is in
 * KV, a failed commit leaves nothing behind (and the events built on it fail with it), and a
 * transaction ID yields one event however many attempts race.
 */
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { createRoom, enc, send, V3, withRoomServer } from "./rooms_support.ts";
import type { StoredEvent } from "../../server/rooms/room_store.ts";

/** The room's timeline as one chain: each event's only prev_event is the one before it. */
async function chain(t: TestServer, roomId: string): Promise<string[]> {
  const entries = await t.hs.rooms.timeline(roomId, { dir: "f", limit: 10_000 });
  const events = await t.hs.rooms.events(entries.map((e) => e.eventId));
  let previous: string | undefined;
  for (const entry of entries) {
    const { event } = events.get(entry.eventId)!;
    assertEquals(event.prevEvents, previous === undefined ? [] : [previous], entry.eventId);
    previous = event.eventId;
  }
  const head = await t.hs.rooms.head(roomId);
  assertEquals(head!.extremities, [previous]);
  assertEquals(head!.lastPos, entries.at(-1)!.pos);
  return entries.map((e) => e.eventId);
}

/**
 * A KV whose commits throw while `fail` says so for one of the values written (the rest of the
 * KV is the real one): a disk error or KV limit, as the commit queue would see it.
 */
function faultyKv(real: Deno.Kv, fail: (value: unknown) => boolean): Deno.Kv {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          let poisoned = false;
          return new Proxy(op, {
            get(opTarget, opProp) {
              if (opProp === "set") {
                return (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) => {
                  if (fail(value)) poisoned = true;
                  opTarget.set(key, value, options);
                  return opTarget;
                };
              }
              if (opProp === "commit") {
                return async () => {
                  if (!poisoned) return await opTarget.commit();
                  // Slow enough that the room's next events are built on top of it.
                  await new Promise((resolve) => setTimeout(resolve, 50));
                  throw new Error("injected commit failure");
                };
              }
              const value = Reflect.get(opTarget, opProp, opTarget);
              return typeof value === "function" ? value.bind(opTarget) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function carries(value: unknown, marker: string): boolean {
  return typeof value === "object" && value !== null && "pdu" in value &&
    typeof value.pdu === "string" && value.pdu.includes(marker);
}

Deno.test("pipeline: concurrent sends in one room keep each sender's order and survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gemeng-pipeline-" });
  try {
    let t = await startTestServer({ dataDir });
    let roomId: string;
    const acknowledged: { eventId: string; lane: number; n: number }[] = [];
    let alice;
    try {
      alice = await t.register("alice");
      roomId = await createRoom(t, alice);
      // 8 lanes send 25 messages each, every lane one after the other, all lanes at once.
      await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
        for (let n = 0; n < 25; n++) {
          const res = await send(t, alice!, roomId, {
            msgtype: "m.text",
            body: `lane ${lane} n ${n}`,
          });
          assertEquals(res.status, 200, JSON.stringify(res.body));
          acknowledged.push({ eventId: res.body.event_id, lane, n });
        }
      }));
      assertEquals(t.hs.stream.visiblePosition, t.hs.stream.highestAllocated);
    } finally {
      await t.close();
    }

    t = await startTestServer({ dataDir });
    try {
      const ids = await chain(t, roomId);
      const index = new Map(ids.map((id, i) => [id, i]));
      for (const { eventId } of acknowledged) assert(index.has(eventId), `${eventId} lost`);
      assertEquals(ids.length, 200 + 7, "200 messages after the 7 events of room creation");
      for (let lane = 0; lane < 8; lane++) {
        const order = acknowledged.filter((a) => a.lane === lane).sort((a, b) => a.n - b.n)
          .map((a) => index.get(a.eventId)!);
        assertEquals(order, [...order].sort((a, b) => a - b), `lane ${lane} in order`);
      }
      // Timeline positions rise along the chain, and the room goes on from its head.
      const entries = await t.hs.rooms.timeline(roomId, { dir: "f", limit: 10_000 });
      for (let i = 1; i < entries.length; i++) assert(entries[i].pos > entries[i - 1].pos);
      const after = await send(t, alice!, roomId, { msgtype: "m.text", body: "after" });
      assertEquals(after.status, 200);
      assertEquals((await chain(t, roomId)).at(-1), after.body.event_id);
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("pipeline: a failed commit leaves no trace, fails the events built on it, and the room goes on", async () => {
  const real = await Deno.openKv(":memory:");
  let armed = true;
  const kv = faultyKv(real, (value) => armed && carries(value, "poison"));
  const t = await startTestServer({ kv });
  try {
    const alice = await t.register("alice");
    const roomId = await createRoom(t, alice);
    const otherRoom = await createRoom(t, alice);
    const before = await chain(t, roomId);
    // Straight into the pipeline, so the room's lock takes them in call order.
    const sendVia = (room: string, body: string) =>
      t.hs.pipeline.sendEvent(room, {
        type: "m.room.message",
        sender: alice.userId,
        content: { msgtype: "m.text", body },
      });

    // Queued back to back: the poisoned event shares its batch with its neighbours and with
    // another room's events; the events after it are built on top of it.
    const bodies = ["first", "second", "poison pill", "third", "fourth", "fifth", "sixth"];
    const attempts = bodies.map((body) => sendVia(roomId, body));
    const others = bodies.map((_, i) => sendVia(otherRoom, `elsewhere ${i}`));
    const results = await Promise.allSettled(attempts);
    const otherResults = await Promise.allSettled(others);
    assert(otherResults.every((r) => r.status === "fulfilled"), "the other room is unaffected");
    assertEquals(results[0].status, "fulfilled");
    assertEquals(results[1].status, "fulfilled");
    assertEquals(results[2].status, "rejected");
    // Built while the poisoned commit was in flight, on top of it: failed with it.
    for (const result of results.slice(3)) {
      assertEquals(result.status, "rejected");
      assert(String((result as PromiseRejectedResult).reason).includes("earlier event"));
    }
    const ok = results.filter((r) => r.status === "fulfilled")
      .map((r) => (r as PromiseFulfilledResult<StoredEvent>).value.event.eventId);

    // Exactly the acknowledged events, in order, on the chain; nothing of the others.
    const ids = await chain(t, roomId);
    assertEquals(ids, [...before, ...ok]);
    let records = 0;
    for await (const entry of real.list<{ pdu: string | null }>({ prefix: ["event"] })) {
      assert(!String(entry.value.pdu).includes("poison"), "no record of the failed event");
      records++;
    }
    assert(records > 0);
    for await (const _ of real.list({ prefix: ["search", roomId, "poison"] })) {
      throw new Error("search postings of the failed event were written");
    }
    assertEquals(t.hs.stream.visiblePosition, t.hs.stream.highestAllocated);

    // Over HTTP: the poisoned send answers 500 and records nothing, so its retry sends anew.
    const failed = await send(t, alice, roomId, { msgtype: "m.text", body: "poison again" }, {
      txnId: "retry-me",
    });
    assertEquals(failed.status, 500);
    const txnKey = ["txn", alice.userId, alice.deviceId, roomId, "retry-me"];
    assertEquals((await real.get(txnKey)).value, null);
    armed = false;
    const retried = await send(t, alice, roomId, { msgtype: "m.text", body: "poison again" }, {
      txnId: "retry-me",
    });
    assertEquals(retried.status, 200);
    const next = await send(t, alice, roomId, { msgtype: "m.text", body: "later" });
    assertEquals(next.status, 200);
    const final = await chain(t, roomId);
    assertEquals(final.slice(-2), [retried.body.event_id, next.body.event_id]);
    // A failed state event leaves the state as it was.
    armed = true;
    const badTopic = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/state/m.room.topic/`,
      { token: alice.accessToken, body: { topic: "poison topic" } },
    );
    assertEquals(badTopic.status, 500);
    armed = false;
    const current = await t.request("GET", `${V3}/rooms/${enc(roomId)}/state/m.room.topic/`, {
      token: alice.accessToken,
    });
    assertEquals(current.status, 404);
    // A state event after all this builds on the committed head.
    const topic = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/state/m.room.topic/`,
      { token: alice.accessToken, body: { topic: "still fine" } },
    );
    assertEquals(topic.status, 200);
    assertEquals((await chain(t, roomId)).at(-1), topic.body.event_id);
  } finally {
    await t.close();
    real.close();
  }
});

Deno.test("pipeline: concurrent attempts of one transaction yield one event", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const roomId = await createRoom(t, alice);
    const before = (await chain(t, roomId)).length;
    // 10 transactions, each attempted 5 times at once (interleaved), plus one with 20 attempts.
    const attempts: { txnId: string; promise: ReturnType<typeof send> }[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) {
        const txnId = `txn-${i}`;
        attempts.push({
          txnId,
          promise: send(t, alice, roomId, { msgtype: "m.text", body: `m ${i}` }, { txnId }),
        });
      }
    }
    for (let i = 0; i < 20; i++) {
      attempts.push({
        txnId: "hot",
        promise: send(t, alice, roomId, { msgtype: "m.text", body: "hot" }, { txnId: "hot" }),
      });
    }
    const byTxn = new Map<string, Set<string>>();
    for (const { txnId, promise } of attempts) {
      const res = await promise;
      assertEquals(res.status, 200, JSON.stringify(res.body));
      if (!byTxn.has(txnId)) byTxn.set(txnId, new Set());
      byTxn.get(txnId)!.add(res.body.event_id);
    }
    for (const [txnId, ids] of byTxn) assertEquals(ids.size, 1, `${txnId}: ${[...ids]}`);
    const ids = await chain(t, roomId);
    assertEquals(ids.length, before + 11);
    // A later repeat (from KV now) still answers the same event; the redact endpoint too.
    const again = await send(t, alice, roomId, { msgtype: "m.text", body: "hot" }, {
      txnId: "hot",
    });
    assertEquals(again.body.event_id, [...byTxn.get("hot")!][0]);
    const target = [...byTxn.get("txn-0")!][0];
    const redactions = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          t.request("PUT", `${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/r1`, {
            token: alice.accessToken,
            body: {},
          }),
      ),
    );
    assert(redactions.every((r) => r.status === 200));
    assertEquals(new Set(redactions.map((r) => r.body.event_id)).size, 1);
    assertEquals((await chain(t, roomId)).length, before + 12);
  }));
