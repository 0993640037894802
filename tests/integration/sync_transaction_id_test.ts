/**
 * `unsigned.transaction_id` in `/sync` timelines: present for the device that sent the event,
 * absent for the sender's other devices and for other users (spec: "Transaction identifiers").
 */

import { assertEquals } from "../unit/assert.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { aliceOnTwoDevicesWithBob, send, V3, withRoomServer } from "./rooms_support.ts";

async function timelineEvent(t: TestServer, user: TestUser, roomId: string, eventId: string) {
  const res = await t.request("GET", `${V3}/sync?timeout=0`, { token: user.accessToken });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  const events = res.body.rooms.join[roomId].timeline.events;
  return events.find((e: { event_id: string }) => e.event_id === eventId);
}

Deno.test("sync: only the sending device sees its transaction ID", async () => {
  await withRoomServer(async (t) => {
    const { alice, laptop, bob, roomId } = await aliceOnTwoDevicesWithBob(t);
    const sent = await send(t, alice, roomId, { msgtype: "m.text", body: "hi" }, {
      txnId: "txn-1",
    });
    assertEquals(sent.status, 200);
    const eventId = sent.body.event_id;
    assertEquals((await timelineEvent(t, alice, roomId, eventId)).unsigned.transaction_id, "txn-1");
    assertEquals(
      (await timelineEvent(t, laptop, roomId, eventId)).unsigned.transaction_id,
      undefined,
    );
    assertEquals((await timelineEvent(t, bob, roomId, eventId)).unsigned.transaction_id, undefined);
  });
});
