/**
 * `/sync` with `use_state_after` (spec v1.16, MSC4222), over real HTTP against one server: the
 * rooms' `state_after` is the state at the end of the timeline (all of it for initial syncs,
 * newly joined rooms and `full_state`; otherwise every change since the token, those the
 * timeline shows included), `state` is left out, and the MSC4222 names matrix-js-sdk sends get
 * the same under the MSC4222 key. Limited and unlimited timelines, state changes inside the
 * timeline, lazy-loaded members, left rooms and the shared sections of one room.
 */

import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { makeRoom, membership, send, sync, text } from "../support/sync_support.ts";
import { plainSdkClient, startSyncing } from "../support/sdk_client.ts";
import { until as untilWithin } from "../support/until.ts";

// deno-lint-ignore no-explicit-any
type Event = any;
// deno-lint-ignore no-explicit-any
type Section = any;

const AFTER = { use_state_after: true };

function stateEvents(section: Section, key = "state_after"): Event[] {
  assert(section !== undefined, "room section present");
  assert(section[key] !== undefined, `${key} present: ${JSON.stringify(Object.keys(section))}`);
  return section[key].events;
}

/** `type|state_key=content` of the state events, sorted, for comparisons. */
function summary(events: Event[], field?: string): string[] {
  return events.map((e) =>
    `${e.type}|${e.state_key}${field ? `=${e.content[field] ?? e.content.membership}` : ""}`
  ).sort();
}

function setState(
  t: TestServer,
  roomId: string,
  sender: TestUser,
  change: { type: string; content: Record<string, unknown>; stateKey?: string },
): Promise<unknown> {
  return t.hs.pipeline.sendEvent(roomId, {
    type: change.type,
    stateKey: change.stateKey ?? "",
    sender: sender.userId,
    content: change.content as never,
  });
}

async function token(t: TestServer, user: TestUser): Promise<string> {
  const res = await sync(t, user, { filter: { room: { timeline: { limit: 1 } } } });
  assertEquals(res.status, 200);
  return res.body.next_batch;
}

Deno.test({
  name: "sync: use_state_after gives state_after at the end of the timeline",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (tt) => {
    const t = await startTestServer();
    try {
      const alice = await t.register("alice");
      const bob = await t.register("bob");
      const carol = await t.register("carol");
      const roomId = await makeRoom(t, alice, { name: "Garden" });
      await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
      await send(t, roomId, bob, text("hello"));
      await setState(t, roomId, alice, { type: "m.room.topic", content: { topic: "plants" } });
      await send(t, roomId, alice, text("welcome"));
      const limit2 = { room: { timeline: { limit: 2 } } };

      await tt.step("bad values are refused; false keeps state", async () => {
        for (const name of ["use_state_after", "org.matrix.msc4222.use_state_after"]) {
          const res = await sync(t, alice, { [name]: "yes" });
          assertEquals(res.status, 400);
          assertEquals(res.body.errcode, "M_INVALID_PARAM");
        }
        const res = await sync(t, alice, { use_state_after: false, filter: limit2 });
        const section = res.body.rooms.join[roomId];
        assert(section.state !== undefined && section.state_after === undefined);
      });

      await tt.step("initial sync: the whole state at the end of the timeline", async () => {
        const res = await sync(t, alice, { ...AFTER, filter: limit2 });
        assertEquals(res.status, 200);
        const section = res.body.rooms.join[roomId];
        assertEquals(section.state, undefined, "state is left out");
        assertEquals(section.timeline.events.map((e: Event) => e.type), [
          "m.room.topic",
          "m.room.message",
        ]);
        const after = stateEvents(section);
        // The topic of the timeline is in state_after too (the client takes no state from the
        // timeline); the old section starts before it.
        assertEquals(summary(after, "name").filter((s) => s.startsWith("m.room.name")), [
          "m.room.name|=Garden",
        ]);
        assert(summary(after).includes("m.room.topic|"), "timeline state included");
        assertEquals(summary(after).filter((s) => s.startsWith("m.room.member")), [
          `m.room.member|${alice.userId}`,
          `m.room.member|${bob.userId}`,
        ]);
        const old = await sync(t, alice, { filter: limit2 });
        const oldState = summary(old.body.rooms.join[roomId].state.events);
        assert(!oldState.includes("m.room.topic|"), "state ends before the timeline");
        assertEquals(oldState.length + 1, after.length);
      });

      await tt.step("MSC4222 names: state under org.matrix.msc4222.state_after", async () => {
        const res = await sync(t, alice, {
          "org.matrix.msc4222.use_state_after": true,
          filter: limit2,
        });
        const section = res.body.rooms.join[roomId];
        assertEquals(section.state, undefined);
        assertEquals(section.state_after, undefined);
        const after = stateEvents(section, "org.matrix.msc4222.state_after");
        assert(summary(after).includes("m.room.topic|"));
        // Both names: the stable key only.
        const both = await sync(t, alice, {
          ...AFTER,
          "org.matrix.msc4222.use_state_after": true,
          filter: limit2,
        });
        const bothSection = both.body.rooms.join[roomId];
        assert(bothSection.state_after !== undefined);
        assertEquals(bothSection["org.matrix.msc4222.state_after"], undefined);
      });

      await tt.step("incremental, not limited: the timeline's state changes", async () => {
        const since = await token(t, alice);
        await setState(t, roomId, alice, { type: "m.room.name", content: { name: "Garden 2" } });
        await send(t, roomId, alice, text("renamed"));
        const res = await sync(t, alice, { ...AFTER, since });
        const section = res.body.rooms.join[roomId];
        assertEquals(section.timeline.limited, false);
        assertEquals(section.timeline.events.length, 2);
        assertEquals(summary(stateEvents(section), "name"), ["m.room.name|=Garden 2"]);
        assertEquals(section.state, undefined);
        // Without the parameter the same range has an empty state (the timeline covers it).
        const old = await sync(t, alice, { since });
        assertEquals(old.body.rooms.join[roomId].state.events, []);
        assertEquals(old.body.rooms.join[roomId].state_after, undefined);
      });

      await tt.step(
        "incremental without state changes: state_after present and empty",
        async () => {
          const since = await token(t, alice);
          await send(t, roomId, bob, text("just words"));
          const res = await sync(t, alice, { ...AFTER, since });
          assertEquals(stateEvents(res.body.rooms.join[roomId]), []);
        },
      );

      await tt.step("incremental, limited: gap and timeline changes, latest values", async () => {
        const since = await token(t, alice);
        await setState(t, roomId, alice, { type: "m.room.topic", content: { topic: "trees" } });
        await setState(t, roomId, alice, { type: "m.room.topic", content: { topic: "shrubs" } });
        for (let i = 0; i < 4; i++) await send(t, roomId, bob, text(`gap ${i}`));
        await setState(t, roomId, alice, { type: "m.room.name", content: { name: "Garden 3" } });
        await send(t, roomId, bob, text("last"));
        const filter = { room: { timeline: { limit: 2 } } };
        const res = await sync(t, alice, { ...AFTER, since, filter });
        const section = res.body.rooms.join[roomId];
        assertEquals(section.timeline.limited, true);
        assertEquals(section.timeline.events.map((e: Event) => e.type), [
          "m.room.name",
          "m.room.message",
        ]);
        // Both the gap's topic (its last value only) and the timeline's name.
        assertEquals(summary(stateEvents(section), "topic"), [
          "m.room.name|=undefined",
          "m.room.topic|=shrubs",
        ]);
        assertEquals(
          stateEvents(section).find((e: Event) => e.type === "m.room.name").content.name,
          "Garden 3",
        );
        // The `state` section ends at the start of the timeline: the topic, not the name.
        const old = await sync(t, alice, { since, filter });
        assertEquals(summary(old.body.rooms.join[roomId].state.events, "topic"), [
          "m.room.topic|=shrubs",
        ]);
      });

      await tt.step("full_state: the whole state at the end", async () => {
        const since = await token(t, alice);
        await send(t, roomId, bob, text("full"));
        const res = await sync(t, alice, { ...AFTER, since, full_state: true });
        const after = stateEvents(res.body.rooms.join[roomId]);
        assert(after.length >= 8, `whole state: ${after.length}`);
        assert(summary(after).includes("m.room.create|"));
      });

      await tt.step("shared sections: each kind of section per member", async () => {
        // Two members with the same token share the room's sections; each gets its own kind.
        // (A first sync sets bob's presence, which moves the stream.)
        await token(t, bob);
        const aliceSince = await token(t, alice);
        const bobSince = await token(t, bob);
        assertEquals(aliceSince, bobSince, "same positions");
        await setState(t, roomId, alice, { type: "m.room.topic", content: { topic: "moss" } });
        const [a, b] = await Promise.all([
          sync(t, alice, { since: aliceSince }),
          sync(t, bob, { ...AFTER, since: bobSince }),
        ]);
        assertEquals(a.body.rooms.join[roomId].state.events, []);
        assertEquals(a.body.rooms.join[roomId].state_after, undefined);
        assertEquals(summary(stateEvents(b.body.rooms.join[roomId]), "topic"), [
          "m.room.topic|=moss",
        ]);
        // And the other way round within the cache's second.
        const [a2, b2] = await Promise.all([
          sync(t, alice, { ...AFTER, since: aliceSince }),
          sync(t, bob, { since: bobSince }),
        ]);
        assertEquals(summary(stateEvents(a2.body.rooms.join[roomId]), "topic"), [
          "m.room.topic|=moss",
        ]);
        assertEquals(b2.body.rooms.join[roomId].state.events, []);
      });

      const lazy = { room: { state: { lazy_load_members: true }, timeline: { limit: 1 } } };

      await tt.step("lazy-loaded members: senders and changed members at the end", async () => {
        await membership(t, roomId, { sender: carol, target: carol, membership: "join" });
        await send(t, roomId, bob, text("from bob"));
        const initial = await sync(t, alice, { ...AFTER, filter: lazy });
        const members = summary(stateEvents(initial.body.rooms.join[roomId]))
          .filter((s) => s.startsWith("m.room.member"));
        // The sender and the user's own, not carol who only joined.
        assertEquals(members, [`m.room.member|${alice.userId}`, `m.room.member|${bob.userId}`]);
        let since = initial.body.next_batch;

        // Carol renames herself (in the gap) and talks: her member event at the end is sent.
        await setState(t, roomId, carol, {
          type: "m.room.member",
          stateKey: carol.userId,
          content: { membership: "join", displayname: "Carol C" },
        });
        await send(t, roomId, carol, text("from carol"));
        let res = await sync(t, alice, { ...AFTER, since, filter: lazy });
        let section = res.body.rooms.join[roomId];
        assertEquals(summary(stateEvents(section), "displayname"), [
          `m.room.member|${carol.userId}=Carol C`,
        ]);
        since = res.body.next_batch;

        // Her next message: the device has that member event already.
        await send(t, roomId, carol, text("again"));
        res = await sync(t, alice, { ...AFTER, since, filter: lazy });
        assertEquals(stateEvents(res.body.rooms.join[roomId]), []);
        since = res.body.next_batch;

        // A member event only in the timeline (unlimited) still comes in state_after, since
        // the client does not take it from the timeline; and it is then known.
        await setState(t, roomId, carol, {
          type: "m.room.member",
          stateKey: carol.userId,
          content: { membership: "join", displayname: "Carol D" },
        });
        res = await sync(t, alice, { ...AFTER, since, filter: lazy });
        section = res.body.rooms.join[roomId];
        assertEquals(section.timeline.events.map((e: Event) => e.type), ["m.room.member"]);
        assertEquals(summary(stateEvents(section), "displayname"), [
          `m.room.member|${carol.userId}=Carol D`,
        ]);
        since = res.body.next_batch;
        await send(t, roomId, carol, text("as D"));
        res = await sync(t, alice, { ...AFTER, since, filter: lazy });
        assertEquals(stateEvents(res.body.rooms.join[roomId]), []);
      });

      await tt.step("newly joined room: its whole state at the end", async () => {
        const other = await makeRoom(t, alice, { name: "Orchard" });
        await send(t, other, alice, text("first"));
        const since = await token(t, carol);
        await membership(t, other, { sender: carol, target: carol, membership: "join" });
        await setState(t, other, alice, { type: "m.room.name", content: { name: "Orchard 2" } });
        const res = await sync(t, carol, { ...AFTER, since });
        const after = stateEvents(res.body.rooms.join[other]);
        assert(summary(after).includes("m.room.create|"));
        assertEquals(after.find((e: Event) => e.type === "m.room.name").content.name, "Orchard 2");
        assert(summary(after).includes(`m.room.member|${carol.userId}`));
      });

      await tt.step("left rooms: the state at the leave", async () => {
        const since = await token(t, bob);
        await setState(t, roomId, alice, { type: "m.room.topic", content: { topic: "bye" } });
        await membership(t, roomId, { sender: alice, target: bob, membership: "leave" });
        // After the kick: not bob's to see.
        await setState(t, roomId, alice, { type: "m.room.name", content: { name: "Secret" } });
        const res = await sync(t, bob, { ...AFTER, since });
        const section = res.body.rooms.leave[roomId];
        assertEquals(section.state, undefined);
        assertEquals(summary(stateEvents(section), "topic"), [
          `m.room.member|${bob.userId}=leave`,
          "m.room.topic|=bye",
        ]);
        const initial = await sync(t, bob, {
          ...AFTER,
          filter: { room: { include_leave: true, timeline: { limit: 1 } } },
        });
        const left = stateEvents(initial.body.rooms.leave[roomId]);
        assertEquals(left.find((e: Event) => e.type === "m.room.name").content.name, "Garden 3");
        assertEquals(
          left.find((e: Event) => e.state_key === bob.userId).content.membership,
          "leave",
        );
        assert(summary(left).includes("m.room.create|"));
      });

      await tt.step("matrix-js-sdk keeps the room's state from state_after", async () => {
        await sdkKeepsState(t);
      });
    } finally {
      await t.close();
    }
  },
});

/** Waits until `check` holds (a client's state is updated by its sync loop). */
async function until(what: string, check: () => unknown): Promise<void> {
  await untilWithin(what, check, { timeoutMs: 10_000, intervalMs: 20 });
}

/**
 * A fetch for matrix-js-sdk that counts the syncs asking for `state_after` and the responses
 * carrying it, and can hold incremental syncs back (so that many events pile up into one
 * limited response).
 */
function watchedFetch() {
  const seen = { asked: 0, answered: 0, held: 0 };
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!url.pathname.endsWith("/sync")) return await fetch(input, init);
    if (url.searchParams.get("org.matrix.msc4222.use_state_after") === "true") seen.asked++;
    if (gate && url.searchParams.has("since")) {
      seen.held++;
      await gate;
    }
    const res = await fetch(input, init);
    if ((await res.clone().text()).includes('"org.matrix.msc4222.state_after"')) seen.answered++;
    return res;
  };
  return {
    fetchFn,
    seen,
    hold() {
      seen.held = 0;
      gate = new Promise((resolve) => release = resolve);
    },
    release() {
      gate = null;
      release?.();
    },
  };
}

function powerOf(c: sdk.MatrixClient, roomId: string, userId: string): unknown {
  const levels = c.getRoom(roomId)?.currentState.getStateEvents("m.room.power_levels", "");
  return (levels?.getContent().users as Record<string, number> | undefined)?.[userId];
}

function memberships(c: sdk.MatrixClient, roomId: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const member of c.getRoom(roomId)?.currentState.getMembers() ?? []) {
    out[member.userId] = member.membership ?? "";
  }
  return out;
}

/**
 * matrix-js-sdk asks every server for `state_after` (under the MSC4222 names) and then takes
 * the room state only from it: name, members and power levels stay right through live
 * changes, a limited gap, state changes inside a limited timeline, a fresh client's initial
 * sync and the left rooms it asks for.
 */
async function sdkKeepsState(t: TestServer): Promise<void> {
  const fern = await t.register("fern");
  const gus = await t.register("gus");
  const hal = await t.register("hal");
  const watch = watchedFetch();
  const client = plainSdkClient(t, gus, { fetchFn: watch.fetchFn });
  let fresh: sdk.MatrixClient | null = null;
  try {
    assert(await client.isVersionSupported("v1.16"), "the server lists v1.16");
    await startSyncing(client, { initialSyncLimit: 3 });
    const roomId = await makeRoom(t, fern, { name: "Meadow" });
    await membership(t, roomId, { sender: gus, target: gus, membership: "join" });
    await until("gus in the room", () => client.getRoom(roomId)?.name === "Meadow");

    // Live changes, each in its own small sync.
    await setState(t, roomId, fern, { type: "m.room.name", content: { name: "Meadow 2" } });
    await membership(t, roomId, { sender: hal, target: hal, membership: "join" });
    await setState(t, roomId, fern, {
      type: "m.room.power_levels",
      content: { users: { [fern.userId]: 100, [gus.userId]: 50 } },
    });
    await send(t, roomId, fern, text("live"));
    await until(
      "live changes",
      () =>
        client.getRoom(roomId)?.name === "Meadow 2" && powerOf(client, roomId, gus.userId) === 50 &&
        memberships(client, roomId)[hal.userId] === "join",
    );
    assert(watch.seen.asked > 0, "the SDK asked for state_after");
    assert(watch.seen.answered > 0, "and got it");

    // A gap: many events while gus's next sync is held, then one limited response whose
    // timeline (the newest 20) starts after the state changes.
    watch.hold();
    await send(t, roomId, fern, text("marker"));
    await until("a held sync", () => watch.seen.held > 0);
    await setState(t, roomId, fern, { type: "m.room.name", content: { name: "Meadow 3" } });
    await setState(t, roomId, fern, {
      type: "m.room.power_levels",
      content: { users: { [fern.userId]: 100, [gus.userId]: 75 } },
    });
    await membership(t, roomId, { sender: hal, target: hal, membership: "leave" });
    for (let i = 0; i < 25; i++) await send(t, roomId, fern, text(`gap ${i}`));
    watch.release();
    await until(
      "the gap's state",
      () =>
        client.getRoom(roomId)?.name === "Meadow 3" && powerOf(client, roomId, gus.userId) === 75 &&
        memberships(client, roomId)[hal.userId] === "leave",
    );

    // State changes inside a limited timeline: in both the timeline and state_after.
    watch.hold();
    await send(t, roomId, fern, text("marker 2"));
    await until("a held sync", () => watch.seen.held > 0);
    for (let i = 0; i < 25; i++) await send(t, roomId, fern, text(`more ${i}`));
    await setState(t, roomId, fern, { type: "m.room.name", content: { name: "Meadow 4" } });
    await membership(t, roomId, { sender: hal, target: hal, membership: "join" });
    await send(t, roomId, fern, text("end"));
    watch.release();
    await until("the timeline's state", () =>
      client.getRoom(roomId)?.name === "Meadow 4" &&
      memberships(client, roomId)[hal.userId] === "join");
    const live = client.getRoom(roomId)!.getLiveTimeline().getEvents();
    assert(live.some((e) => e.getType() === "m.room.name"), "the rename is in the timeline");

    // A fresh client (initial sync, timeline of 3 ending in state events).
    await setState(t, roomId, fern, { type: "m.room.topic", content: { topic: "grass" } });
    await setState(t, roomId, fern, { type: "m.room.name", content: { name: "Meadow 5" } });
    fresh = plainSdkClient(t, gus, { fetchFn: watchedFetch().fetchFn });
    await startSyncing(fresh, { initialSyncLimit: 3 });
    await until("fresh client's room", () => fresh!.getRoom(roomId)?.name === "Meadow 5");
    assertEquals(powerOf(fresh, roomId, gus.userId), 75);
    assertEquals(memberships(fresh, roomId), {
      [fern.userId]: "join",
      [gus.userId]: "join",
      [hal.userId]: "join",
    });
    const topic = fresh.getRoom(roomId)!.currentState.getStateEvents("m.room.topic", "");
    assertEquals(topic?.getContent().topic, "grass");

    // Left rooms, as the SDK asks for them (their own state_after sync).
    await membership(t, roomId, { sender: fern, target: gus, membership: "leave" });
    await setState(t, roomId, fern, { type: "m.room.name", content: { name: "Hidden" } });
    await until("gus left", () => client.getRoom(roomId)?.getMyMembership() === "leave");
    assertEquals(client.getRoom(roomId)?.name, "Meadow 5");
    fresh.stopClient();
    const leftClient = plainSdkClient(t, gus, { fetchFn: watch.fetchFn });
    try {
      const before = watch.seen.asked;
      const left = await leftClient.syncLeftRooms();
      assert(watch.seen.asked > before, "left rooms asked with state_after");
      const room = left.find((r) => r.roomId === roomId);
      assertEquals(room?.getMyMembership(), "leave");
      assertEquals(room?.name, "Meadow 5");
    } finally {
      leftClient.stopClient();
    }
  } finally {
    client.stopClient();
    fresh?.stopClient();
  }
}
