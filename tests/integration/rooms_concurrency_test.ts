import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { createRoom, getEvent, getState, send, withRoomServer } from "./rooms_support.ts";
import type { TestServer } from "../support/test_server.ts";

/** Checks that a room's timeline is one chain: each event's only prev_event is the one before. */
async function assertLinear(t: TestServer, roomId: string): Promise<number[]> {
  const entries = await t.hs.rooms.timeline(roomId, { dir: "f", limit: 10_000 });
  const events = await t.hs.rooms.events(entries.map((e) => e.eventId));
  let previous: string | undefined;
  let depth = 0;
  for (const entry of entries) {
    const { event } = events.get(entry.eventId)!;
    assertEquals(event.prevEvents, previous === undefined ? [] : [previous]);
    assertEquals(event.depth, depth + 1);
    previous = event.eventId;
    depth = event.depth;
  }
  const head = await t.hs.rooms.head(roomId);
  assertEquals(head!.extremities, [previous]);
  return entries.map((e) => e.pos);
}

Deno.test("concurrency: 100 sends into one room and across 10 rooms", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const one = await createRoom(t, alice);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => send(t, alice, one, { body: `m${i}` })),
    );
    assert(results.every((r) => r.status === 200), "all acknowledged");
    const ids = new Set(results.map((r) => r.body.event_id));
    assertEquals(ids.size, 100);
    const positions = await assertLinear(t, one);
    // 7 events of a private_chat room (with its default m.room.encryption)
    assertEquals(positions.length, 100 + 7);

    const rooms: string[] = [];
    for (let i = 0; i < 10; i++) rooms.push(await createRoom(t, alice));
    const spread = await Promise.all(
      Array.from({ length: 100 }, (_, i) => send(t, alice, rooms[i % 10], { body: `s${i}` })),
    );
    assert(spread.every((r) => r.status === 200), "all acknowledged");
    const all = [...positions];
    for (const roomId of rooms) all.push(...await assertLinear(t, roomId));
    assertEquals(new Set(all).size, all.length, "stream positions are unique");
    for (const r of spread) {
      const roomId = rooms[spread.indexOf(r) % 10];
      assertEquals((await getEvent(t, alice, roomId, r.body.event_id)).status, 200);
    }
    // Everything committed is visible.
    assertEquals(t.hs.stream.visiblePosition, t.hs.stream.highestAllocated);
  }));

Deno.test("notifier: a send wakes a waiting member within milliseconds", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    await t.request("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
      token: bob.accessToken,
      body: {},
    });
    const since = t.hs.stream.visiblePosition;
    const started = performance.now();
    const woken = t.hs.notifier.waitForChange(bob.userId, since, 5_000);
    await send(t, alice, roomId, { body: "wake up" });
    assertEquals(await woken, true);
    assert(performance.now() - started < 1_000);
    // A change already visible resolves at once; a stranger times out.
    assertEquals(await t.hs.notifier.waitForChange(bob.userId, since, 5_000), true);
    assertEquals(await t.hs.notifier.waitForChange("@carol:localhost", since, 20), false);
  }));

Deno.test("restart: events and state survive on an on-disk KV; the stream continues", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gemeng-rooms-" });
  try {
    let t = await startTestServer({ dataDir });
    const alice = await t.register("alice");
    const roomId = await createRoom(t, alice, { name: "Persistent" });
    const sent = await send(t, alice, roomId, { body: "kept" }, { txnId: "tx" });
    const positionBefore = t.hs.stream.visiblePosition;
    const keyBefore = t.hs.signingKey.publicKeyBase64;
    await t.close();
    const keyFile = await Deno.stat(`${dataDir}/signing.key`);
    assertEquals(keyFile.mode! & 0o777, 0o600);

    t = await startTestServer({ dataDir });
    try {
      assertEquals(t.hs.signingKey.publicKeyBase64, keyBefore);
      assertEquals(t.hs.stream.visiblePosition, positionBefore);
      const got = await getEvent(t, alice, roomId, sent.body.event_id);
      assertEquals(got.body.content.body, "kept");
      assertEquals((await getState(t, alice, roomId, "m.room.name")).body.name, "Persistent");
      const again = await send(t, alice, roomId, { body: "kept" }, { txnId: "tx" });
      assertEquals(again.body.event_id, sent.body.event_id);
      const next = await send(t, alice, roomId, { body: "after restart" });
      assertEquals(next.status, 200);
      const [entry] = await t.hs.rooms.timeline(roomId, { limit: 1 });
      assertEquals(entry.eventId, next.body.event_id);
      assert(entry.pos > positionBefore);
      const stored = await t.hs.rooms.event(next.body.event_id);
      assertEquals(stored!.event.prevEvents, [sent.body.event_id]);
      // The notifier index was rebuilt: alice is woken by a send.
      const wait = t.hs.notifier.waitForChange(alice.userId, t.hs.stream.visiblePosition, 5_000);
      await send(t, alice, roomId, { body: "wake" });
      assertEquals(await wait, true);
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
