import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { makeRoom, membership, send, text } from "../support/sync_support.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

async function withServer(fn: (t: TestServer) => Promise<void>): Promise<void> {
  const t = await startTestServer({ config: { user_directory: { search_all_users: false } } });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

Deno.test("user directory: users sharing a room or in public rooms, by name and ID", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const carol = await t.register("carol");
    await t.register("dave"); // shares nothing with alice
    const shared = await makeRoom(t, alice, { joinRule: "invite" });
    await membership(t, shared, { sender: alice, target: bob, membership: "invite" });
    await membership(t, shared, { sender: bob, target: bob, membership: "join" });
    const open = await makeRoom(t, carol, { joinRule: "public" });
    assert(open);
    await t.request("PUT", `${V3}/profile/${enc(bob.userId)}/displayname`, {
      token: bob.accessToken,
      body: { displayname: "Robert Tables" },
    });
    const search = (term: string) =>
      t.request("POST", `${V3}/user_directory/search`, {
        token: alice.accessToken,
        body: { search_term: term },
      });
    const byName = await search("rob");
    assertEquals(byName.body.results, [{ user_id: bob.userId, display_name: "Robert Tables" }]);
    assertEquals(byName.body.limited, false);
    assertEquals((await search("carol")).body.results[0].user_id, carol.userId);
    assertEquals((await search("dave")).body.results, []);
    const bad = await t.request("POST", `${V3}/user_directory/search`, {
      token: alice.accessToken,
      body: {},
    });
    assertEquals(bad.body.errcode, "M_BAD_JSON");
  }));

Deno.test("reports: events, rooms and users are stored for admins", () =>
  withServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await makeRoom(t, alice);
    await membership(t, roomId, { sender: bob, target: bob, membership: "join" });
    const eventId = await send(t, roomId, bob, text("spam"));
    const report = await t.request("POST", `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, {
      token: alice.accessToken,
      body: { reason: "spam", score: -100 },
    });
    assertEquals(report.status, 200);
    const outsider = await t.register("carol");
    const hidden = await t.request("POST", `${V3}/rooms/${enc(roomId)}/report/${enc(eventId)}`, {
      token: outsider.accessToken,
      body: { reason: "x" },
    });
    assertEquals(hidden.status, 404);
    assertEquals(
      (await t.request("POST", `${V3}/rooms/${enc(roomId)}/report`, {
        token: outsider.accessToken,
        body: { reason: "bad room" },
      })).status,
      200,
    );
    assertEquals(
      (await t.request("POST", `${V3}/rooms/${enc("!nope:localhost")}/report`, {
        token: outsider.accessToken,
        body: {},
      })).status,
      404,
    );
    assertEquals(
      (await t.request("POST", `${V3}/users/${enc(bob.userId)}/report`, {
        token: alice.accessToken,
        body: { reason: "rude" },
      })).status,
      200,
    );
    const denied = await t.request("GET", "/_synapse/admin/v1/event_reports", {
      token: alice.accessToken,
    });
    assertEquals(denied.status, 403);
    await t.hs.kv.set(["user", alice.userId], {
      ...(await t.hs.kv.get<Record<string, unknown>>(["user", alice.userId])).value,
      admin: true,
    });
    const listed = await t.request("GET", "/_synapse/admin/v1/event_reports", {
      token: alice.accessToken,
    });
    assertEquals(listed.body.total, 3);
    assertEquals(listed.body.event_reports.map((r: { kind: string }) => r.kind), [
      "user",
      "room",
      "event",
    ]);
    assertEquals(listed.body.event_reports[2].score, -100);
  }));
