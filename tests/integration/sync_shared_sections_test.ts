/**
 * Room sections shared between members' incremental syncs (`server/sync/shared_sections.ts`):
 * members who sync the same range with the same filter get the same events, except for what
 * depends on the member (history visibility when they joined inside the range, the sending
 * device's transaction ID, thread participation), whichever member's sync computed the
 * sections first. Also: one message wakes every member's long-poll with the event.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";
import {
  aliceOnTwoDevicesWithBob,
  createJoinedHistoryRoom,
  createRoom,
  roomPost,
  send,
  V3,
  withRoomServer,
} from "./rooms_support.ts";

// Response bodies are read field by field, as a client would.
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const FILTER = JSON.stringify({ room: { timeline: { limit: 10 } } });

async function syncFrom(
  t: TestServer,
  user: TestUser,
  since?: string,
  options: { timeout?: number; filter?: string } = {},
): Promise<Json> {
  const query = new URLSearchParams({ filter: options.filter ?? FILTER });
  if (since) query.set("since", since);
  if (options.timeout !== undefined) query.set("timeout", String(options.timeout));
  const res = await t.request("GET", `${V3}/sync?${query}`, { token: user.accessToken });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/**
 * Initial syncs of every user (their first sync sets their presence, a change at a new stream
 * position), then a token from the last: later syncs from it cover the same range.
 */
async function commonToken(t: TestServer, users: TestUser[]): Promise<string> {
  let token = "";
  for (const user of users) token = (await syncFrom(t, user)).next_batch;
  return token;
}

function timelineOf(body: Json, roomId: string): Json[] {
  return body.rooms?.join?.[roomId]?.timeline?.events ?? [];
}

function bodies(events: Json[]): string[] {
  return events.filter((e) => e.type === "m.room.message").map((e) => e.content.body);
}

Deno.test("shared sync sections: a member who joined inside the range sees only what history visibility allows", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const roomId = await createJoinedHistoryRoom(t, alice);
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    const token = await commonToken(t, [alice, carol, bob]);
    assertEquals((await send(t, alice, roomId, { msgtype: "m.text", body: "before" })).status, 200);
    assertEquals((await roomPost(t, carol, roomId, "join")).status, 200);
    assertEquals((await send(t, alice, roomId, { msgtype: "m.text", body: "after" })).status, 200);

    // Bob (joined before the token) first, so that sections for the range exist.
    const bobs = await syncFrom(t, bob, token);
    assertEquals(bodies(timelineOf(bobs, roomId)), ["before", "after"]);
    // Carol syncs the same range with the same filter: she joined inside it.
    const carols = await syncFrom(t, carol, token);
    assertEquals(bodies(timelineOf(carols, roomId)), ["after"]);
    // And Bob again, after Carol: still both.
    assertEquals(bodies(timelineOf(await syncFrom(t, bob, token), roomId)), ["before", "after"]);
  });
});

Deno.test("shared sync sections: only the sending device gets its transaction ID, whoever syncs first", async () => {
  await withRoomServer(async (t) => {
    const { alice, laptop, bob, roomId } = await aliceOnTwoDevicesWithBob(t);
    const token = await commonToken(t, [alice, laptop, bob]);
    for (const [i, first] of [alice, bob].entries()) {
      const txnId = `txn-${i}`;
      const sent = await send(t, alice, roomId, { msgtype: "m.text", body: `m${i}` }, { txnId });
      assertEquals(sent.status, 200);
      const eventId = sent.body.event_id;
      const find = async (user: TestUser) => {
        const events = timelineOf(await syncFrom(t, user, token), roomId);
        const event = events.find((e) => e.event_id === eventId);
        assert(event, `${user.userId} did not get ${eventId}`);
        return event;
      };
      const order = first === alice ? [alice, bob, laptop] : [bob, laptop, alice];
      const seen = new Map<TestUser, Json>();
      for (const user of order) seen.set(user, await find(user));
      assertEquals(seen.get(alice)!.unsigned.transaction_id, txnId);
      assertEquals(seen.get(laptop)!.unsigned.transaction_id, undefined);
      assertEquals(seen.get(bob)!.unsigned.transaction_id, undefined);
      // The rest of the event is the same for everyone.
      const { transaction_id: _, ...aliceUnsigned } = seen.get(alice)!.unsigned;
      assertEquals(Object.keys(aliceUnsigned).sort(), Object.keys(seen.get(bob)!.unsigned).sort());
      assertEquals(seen.get(alice)!.content, seen.get(bob)!.content);
    }
  });
});

Deno.test("shared sync sections: thread participation is the viewer's", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    assertEquals((await roomPost(t, carol, roomId, "join")).status, 200);
    const token = await commonToken(t, [alice, bob, carol]);
    const root = await send(t, alice, roomId, { msgtype: "m.text", body: "root" });
    assertEquals(root.status, 200);
    const rootId = root.body.event_id;
    const reply = await send(t, bob, roomId, {
      msgtype: "m.text",
      body: "in thread",
      "m.relates_to": { rel_type: "m.thread", event_id: rootId },
    });
    assertEquals(reply.status, 200);
    const participated = async (user: TestUser) => {
      const events = timelineOf(await syncFrom(t, user, token), roomId);
      const event = events.find((e) => e.event_id === rootId);
      assert(event, `${user.userId} did not get the root`);
      return event.unsigned["m.relations"]["m.thread"].current_user_participated;
    };
    // Carol (not in the thread) computes the shared sections first.
    assertEquals(await participated(carol), false);
    assertEquals(await participated(bob), true);
    assertEquals(await participated(alice), true);
    assertEquals(await participated(carol), false);
  });
});

Deno.test("shared sync sections: filters that differ give their own sections", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    const token = await commonToken(t, [alice, bob]);
    assertEquals((await send(t, alice, roomId, { msgtype: "m.text", body: "one" })).status, 200);
    assertEquals(
      (await send(t, alice, roomId, { mood: "sunny" }, { type: "org.example.mood" })).status,
      200,
    );
    const all = timelineOf(await syncFrom(t, bob, token), roomId).map((e) => e.type);
    assertEquals(all, ["m.room.message", "org.example.mood"]);
    const onlyMessages = JSON.stringify({ room: { timeline: { types: ["m.room.message"] } } });
    const filtered = timelineOf(await syncFrom(t, alice, token, { filter: onlyMessages }), roomId);
    assertEquals(filtered.map((e) => e.type), ["m.room.message"]);
    const fields = JSON.stringify({ event_fields: ["type", "content.body"] });
    const projected = timelineOf(await syncFrom(t, alice, token, { filter: fields }), roomId);
    assertEquals(projected[0], { type: "m.room.message", content: { body: "one" } });
  });
});

Deno.test("fan-out: one message reaches every member's long-poll once", async () => {
  await withRoomServer(async (t) => {
    const owner = await t.register("owner");
    const roomId = await createRoom(t, owner, { preset: "public_chat" });
    const members: TestUser[] = [];
    for (let i = 0; i < 12; i++) {
      const member = await t.register(`member${i}`);
      assertEquals((await roomPost(t, member, roomId, "join")).status, 200);
      members.push(member);
    }
    const tokens = await Promise.all(members.map(async (m) => (await syncFrom(t, m)).next_batch));
    const sentAt = Promise.withResolvers<void>();
    // Each member long-polls until the message arrives (other changes, such as the members'
    // presence, may end a poll first), counting the times it arrives.
    const polls = members.map(async (m, i) => {
      let since = tokens[i];
      const seen: string[] = [];
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const body = await syncFrom(t, m, since, { timeout: 5_000 });
        since = body.next_batch;
        seen.push(...bodies(timelineOf(body, roomId)));
        if (seen.length > 0) {
          await sentAt.promise;
          return seen;
        }
      }
      return seen;
    });
    // Let the long-polls reach their wait.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = await send(t, owner, roomId, { msgtype: "m.text", body: "to all" });
    assertEquals(sent.status, 200);
    sentAt.resolve();
    for (const seen of await Promise.all(polls)) assertEquals(seen, ["to all"]);
  });
});

Deno.test("fan-out: unread counts follow a receipt sent after syncs that reused the read marks", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createRoom(t, alice, { preset: "public_chat" });
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    let token = await commonToken(t, [alice, bob]);
    const counts: number[] = [];
    let last = "";
    for (let i = 0; i < 3; i++) {
      const sent = await send(t, alice, roomId, { msgtype: "m.text", body: `m${i}` });
      last = sent.body.event_id;
      const body = await syncFrom(t, bob, token);
      token = body.next_batch;
      counts.push(body.rooms.join[roomId].unread_notifications.notification_count);
    }
    assertEquals(counts, [1, 2, 3]);
    const receipt = await t.request(
      "POST",
      `${V3}/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(last)}`,
      { token: bob.accessToken, body: {} },
    );
    assertEquals(receipt.status, 200);
    const afterReceipt = await syncFrom(t, bob, token);
    assertEquals(afterReceipt.rooms.join[roomId].unread_notifications.notification_count, 0);
    await send(t, alice, roomId, { msgtype: "m.text", body: "one more" });
    const afterMore = await syncFrom(t, bob, afterReceipt.next_batch);
    assertEquals(afterMore.rooms.join[roomId].unread_notifications.notification_count, 1);
  });
});

Deno.test("fan-out: a sync's set_presence applies again after a presence change between syncs", async () => {
  await withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const path = `${V3}/presence/${encodeURIComponent(alice.userId)}/status`;
    const presence = async () =>
      (await t.request("GET", path, { token: alice.accessToken })).body.presence;
    await syncFrom(t, alice);
    await syncFrom(t, alice);
    assertEquals(await presence(), "online");
    const put = await t.request("PUT", path, {
      token: alice.accessToken,
      body: { presence: "unavailable" },
    });
    assertEquals(put.status, 200);
    assertEquals(await presence(), "unavailable");
    // Syncs a moment apart (well within the time a checked presence is trusted).
    await syncFrom(t, alice);
    assertEquals(await presence(), "online");
    const explicit = await t.request("GET", `${V3}/sync?timeout=0&set_presence=unavailable`, {
      token: alice.accessToken,
    });
    assertEquals(explicit.status, 200);
    assertEquals(await presence(), "unavailable");
    await syncFrom(t, alice);
    assertEquals(await presence(), "online");
  });
});
