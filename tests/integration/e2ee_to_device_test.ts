import { assertEquals } from "../unit/assert.ts";
import { type TestServer, type TestUser, withTestServer } from "../support/test_server.ts";
import { toDeviceForSync } from "../../server/e2ee/to_device.ts";
import { visiblePosition } from "../../server/e2ee/positions.ts";

function send(
  t: TestServer,
  from: TestUser,
  path: { type: string; txn: string },
  messages: unknown,
) {
  return t.request("PUT", `/_matrix/client/v3/sendToDevice/${path.type}/${path.txn}`, {
    token: from.accessToken,
    body: { messages },
  });
}

/** Reads a device's inbox the way sync does: everything up to the visible position. */
async function inbox(t: TestServer, user: TestUser, since: number | null, limit?: number) {
  const upto = await visiblePosition(t.hs);
  return await toDeviceForSync(t.hs.kv, user, { since, upto, limit });
}

Deno.test("sendToDevice: queued per device, txn idempotent, * for all devices", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice", { deviceId: "ALICE" });
    const bob1 = await t.register("bob", { deviceId: "BOB1" });
    const bob2 = await t.login("bob", bob1.password, { device_id: "BOB2" });
    const first = await send(t, alice, { type: "m.test", txn: "t1" }, {
      [bob1.userId]: { BOB1: { n: 1 }, NOSUCH: { n: 0 } },
    });
    assertEquals(first.status, 200);
    // The same transaction again is not delivered twice.
    await send(t, alice, { type: "m.test", txn: "t1" }, { [bob1.userId]: { BOB1: { n: 1 } } });
    await send(t, alice, { type: "m.test", txn: "t2" }, {
      [bob1.userId]: { "*": { n: 2 }, BOB2: { n: 3 } },
      "@remote:elsewhere.example": { X: { n: 9 } },
    });
    const b1 = await inbox(t, bob1, null);
    assertEquals(b1.events, [
      { sender: alice.userId, type: "m.test", content: { n: 1 } },
      { sender: alice.userId, type: "m.test", content: { n: 2 } },
    ]);
    const b2 = await inbox(t, bob2, null);
    assertEquals(b2.events.map((e) => e.content), [{ n: 3 }]);
    // Another device of the sender may reuse the transaction ID.
    const alice2 = await t.login("alice", alice.password, { device_id: "ALICE2" });
    await send(t, alice2, { type: "m.test", txn: "t1" }, { [bob1.userId]: { BOB2: { n: 4 } } });
    assertEquals((await inbox(t, bob2, null)).events.map((e) => e.content), [{ n: 3 }, { n: 4 }]);
  }));

Deno.test("sendToDevice: delivered in order, in batches, deleted once acknowledged", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob", { deviceId: "BOB" });
    for (let i = 0; i < 7; i++) {
      await send(t, alice, { type: "m.test", txn: `t${i}` }, { [bob.userId]: { BOB: { i } } });
    }
    const first = await inbox(t, bob, null, 3);
    assertEquals(first.events.map((e) => e.content.i), [0, 1, 2]);
    // Not acknowledged yet: the same batch again.
    assertEquals((await inbox(t, bob, null, 3)).events.map((e) => e.content.i), [0, 1, 2]);
    const second = await inbox(t, bob, first.reached, 3);
    assertEquals(second.events.map((e) => e.content.i), [3, 4, 5]);
    const third = await inbox(t, bob, second.reached, 3);
    assertEquals(third.events.map((e) => e.content.i), [6]);
    assertEquals(third.reached, await visiblePosition(t.hs));
    const fourth = await inbox(t, bob, third.reached, 3);
    assertEquals(fourth.events, []);
    let stored = 0;
    for await (const _ of t.hs.kv.list({ prefix: ["e2ee_to_device", bob.userId] })) stored++;
    assertEquals(stored, 0);
  }));

Deno.test("sendToDevice: bad requests", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob", { deviceId: "BOB" });
    const cases: [unknown, string][] = [
      [{ "not-a-user": { BOB: {} } }, "M_INVALID_PARAM"],
      [{ [bob.userId]: "x" }, "M_BAD_JSON"],
      [{ [bob.userId]: { BOB: "x" } }, "M_BAD_JSON"],
      [[], "M_BAD_JSON"],
    ];
    for (const [messages, errcode] of cases) {
      const res = await send(t, alice, { type: "m.test", txn: "x" }, messages);
      assertEquals(res.body.errcode, errcode, JSON.stringify(messages));
    }
    const none = await t.request("PUT", "/_matrix/client/v3/sendToDevice/m.test/y", {
      token: alice.accessToken,
      body: {},
    });
    assertEquals(none.body.errcode, "M_MISSING_PARAM");
    const huge = await send(t, alice, { type: "m.test", txn: "z" }, {
      [bob.userId]: { BOB: { pad: "x".repeat(60_000) } },
    });
    assertEquals([huge.status, huge.body.errcode], [413, "M_TOO_LARGE"]);
    assertEquals((await inbox(t, bob, null)).events, []);
  }));
