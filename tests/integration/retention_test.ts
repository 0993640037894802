/**
 * Retention and the purge history admin API over real HTTP, one server: `m.room.retention` is
 * validated; the purge job removes messages older than the room's max_lifetime (content,
 * relations, search postings, and media nothing else names) while state and newer messages
 * stay, and afterwards `/sync`, `/messages`, `/context`, `/search` and `/event` no longer
 * return the purged events, and the room still works. The admin purge (up to an event or a
 * time, `delete_local_events`) is audited and reports its status.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { indexerOf } from "../../server/search/indexer.ts";
import { runRetentionPurge } from "../../server/retention/room_retention.ts";

const V3 = "/_matrix/client/v3";
const A1 = "/_synapse/admin/v1";
const enc = encodeURIComponent;

let t: TestServer;
const users: Record<string, TestUser> = {};

async function call(method: string, path: string, user: TestUser, body?: unknown) {
  return await t.request(method, path, { token: user.accessToken, body });
}

async function send(user: TestUser, roomId: string, content: Record<string, unknown>) {
  const res = await call(
    "PUT",
    `${V3}/rooms/${enc(roomId)}/send/${content.type ?? "m.room.message"}/${crypto.randomUUID()}`,
    user,
    { ...content, type: undefined },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

const say = (user: TestUser, roomId: string, body: string) =>
  send(user, roomId, { msgtype: "m.text", body });

async function upload(user: TestUser, seed: number): Promise<string> {
  const res = await fetch(`${t.baseUrl}/_matrix/media/v3/upload?filename=f${seed}.bin`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "image/png" },
    body: new Uint8Array(3000).map((_, i) => (i * seed) & 0xff),
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return body.content_uri;
}

async function downloadStatus(uri: string, user: TestUser): Promise<number> {
  const res = await fetch(`${t.baseUrl}/_matrix/client/v1/media/download/${uri.slice(6)}`, {
    headers: { Authorization: `Bearer ${user.accessToken}` },
  });
  await res.body?.cancel();
  return res.status;
}

async function searchIds(user: TestUser, term: string): Promise<string[]> {
  const res = await call("POST", `${V3}/search`, user, {
    search_categories: { room_events: { search_term: term } },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  // deno-lint-ignore no-explicit-any
  return res.body.search_categories.room_events.results.map((r: any) => r.result.event_id);
}

async function messageIds(user: TestUser, roomId: string): Promise<string[]> {
  const res = await call("GET", `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=100`, user);
  assertEquals(res.status, 200, JSON.stringify(res.body));
  // deno-lint-ignore no-explicit-any
  return res.body.chunk.map((e: any) => e.event_id);
}

async function syncIds(user: TestUser, roomId: string): Promise<string[]> {
  const filter = JSON.stringify({ room: { timeline: { limit: 100 } } });
  const res = await call("GET", `${V3}/sync?filter=${enc(filter)}`, user);
  assertEquals(res.status, 200, JSON.stringify(res.body));
  const room = res.body.rooms.join[roomId];
  // deno-lint-ignore no-explicit-any
  return room.timeline.events.map((e: any) => e.event_id);
}

async function waitForSearch(user: TestUser, term: string, id: string) {
  for (let i = 0; i < 100; i++) {
    if ((await searchIds(user, term)).includes(id)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${id} never became searchable`);
}

async function countKeys(prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of t.hs.kv.list({ prefix })) n++;
  return n;
}

/** The event IDs of a term's postings (single postings and blocks). */
async function postings(roomId: string, term: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of t.hs.kv.list({ prefix: ["search", roomId, term] })) {
    const value = entry.value as { postings?: [number, string][]; eventId?: string };
    if (value.postings) ids.push(...value.postings.map((p) => p[1]));
    else ids.push(value.eventId!);
  }
  return ids;
}
const relationEntries = (parentId: string) => countKeys(["relation", parentId]);

async function setUp() {
  t = await startTestServer({
    config: { retention: { enabled: true, purge_interval: 3_600_000 } },
  });
  for (const name of ["admin", "alice", "bob"]) users[name] = await t.register(name);
  await updateUser(t.hs.kv, users.admin.userId, (u) => ({ ...u, admin: true }));
}

Deno.test({
  name: "retention: the job purges expired messages, their relations, postings and media",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await setUp();
    try {
      const { alice, bob } = users;
      const created = await call("POST", `${V3}/createRoom`, alice, { preset: "public_chat" });
      const roomId = created.body.room_id;
      assertEquals((await call("POST", `${V3}/join/${enc(roomId)}`, bob, {})).status, 200);

      // A bad policy is refused and changes nothing.
      for (
        const content of [{ max_lifetime: -1 }, { max_lifetime: "1d" }, {
          min_lifetime: 9,
          max_lifetime: 3,
        }]
      ) {
        const res = await call(
          "PUT",
          `${V3}/rooms/${enc(roomId)}/state/m.room.retention/`,
          alice,
          content,
        );
        assertEquals(res.status, 400, JSON.stringify(content));
        assertEquals(res.body.errcode, "M_BAD_JSON");
      }
      const policy = await call(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/state/m.room.retention/`,
        alice,
        {
          max_lifetime: 60_000,
        },
      );
      assertEquals(policy.status, 200);

      const onlyOld = await upload(alice, 3);
      const shared = await upload(alice, 5);
      // Named by an old message and by Alice's profile (set after joining: no member event).
      const avatar = await upload(alice, 7);
      await t.hs.kv.set(["profile", alice.userId], { displayname: "Alice", avatar_url: avatar });
      const avatarMessage = await send(alice, roomId, {
        msgtype: "m.image",
        body: "me.png",
        url: avatar,
      });
      const old = await say(alice, roomId, "zebracrossing secret plans");
      const image = await send(alice, roomId, { msgtype: "m.image", body: "a.png", url: onlyOld });
      const sharedOld = await send(alice, roomId, {
        msgtype: "m.image",
        body: "b.png",
        url: shared,
      });
      const reaction = await send(bob, roomId, {
        type: "m.reaction",
        "m.relates_to": { rel_type: "m.annotation", event_id: old, key: "👍" },
      });
      await waitForSearch(bob, "zebracrossing", old);
      const oldIds = [avatarMessage, old, image, sharedOld, reaction];
      const cutoff = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      const fresh = await say(bob, roomId, "zebracrossing new plans");
      const sharedNew = await send(bob, roomId, { msgtype: "m.image", body: "c.png", url: shared });
      await waitForSearch(bob, "zebracrossing", fresh);
      await indexerOf(t.hs.kv)!.flushThrough(await t.hs.rooms.lastPosition(roomId));
      assertEquals((await postings(roomId, "zebracrossing")).sort(), [old, fresh].sort());
      assertEquals(await relationEntries(old), 1);
      const before = await messageIds(bob, roomId);
      for (const id of oldIds) assert(before.includes(id));

      // Nothing is older than 60 s yet: nothing goes.
      assertEquals((await runRetentionPurge(t.hs)).events, 0);
      const run = await runRetentionPurge(t.hs, cutoff + 60_000);
      assertEquals(run.events, oldIds.length);
      assertEquals(run.media, 1);

      for (const id of oldIds) {
        assertEquals((await t.hs.kv.get(["event", id])).value, null);
        const event = await call("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(id)}`, bob);
        assertEquals(event.status, 404, id);
        const context = await call("GET", `${V3}/rooms/${enc(roomId)}/context/${enc(id)}`, bob);
        assertEquals(context.status, 404, id);
      }
      const after = await messageIds(bob, roomId);
      for (const id of oldIds) assert(!after.includes(id), id);
      assert(after.includes(fresh) && after.includes(sharedNew));
      const synced = await syncIds(bob, roomId);
      for (const id of oldIds) assert(!synced.includes(id), id);
      assert(synced.includes(fresh));
      assertEquals(await searchIds(bob, "zebracrossing"), [fresh]);
      const relations = await call(
        "GET",
        `/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(old)}`,
        bob,
      );
      assertEquals(relations.status, 404);
      // Media named only by purged events go; media another event names stay.
      assertEquals(await downloadStatus(onlyOld, bob), 404);
      assertEquals(await downloadStatus(shared, bob), 200);
      assertEquals(await downloadStatus(avatar, bob), 200);
      // Nothing of the purged events is left in the indexes.
      assertEquals(await postings(roomId, "zebracrossing"), [fresh]);
      assertEquals(await relationEntries(old), 0);
      // The room still works, for sync too.
      const later = await say(alice, roomId, "still here");
      assert((await syncIds(bob, roomId)).includes(later));
      const state = await call("GET", `${V3}/rooms/${enc(roomId)}/state/m.room.retention/`, bob);
      assertEquals(state.body.max_lifetime, 60_000);
    } catch (err) {
      await t.close();
      throw err;
    }
  },
});

async function purgeStatus(purgeId: string) {
  for (let i = 0; i < 100; i++) {
    const res = await call("GET", `${A1}/purge_history_status/${purgeId}`, users.admin);
    assertEquals(res.status, 200, JSON.stringify(res.body));
    if (res.body.status !== "active") return res.body;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the purge never finished");
}

Deno.test({
  name: "retention: the admin purge history API, up to an event or a time, audited",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    try {
      const { admin, alice, bob } = users;
      const created = await call("POST", `${V3}/createRoom`, alice, { preset: "public_chat" });
      const roomId = created.body.room_id;
      assertEquals((await call("POST", `${V3}/join/${enc(roomId)}`, bob, {})).status, 200);
      const m1 = await say(alice, roomId, "first");
      await send(bob, roomId, {
        type: "m.reaction",
        "m.relates_to": { rel_type: "m.annotation", event_id: m1, key: "👀" },
      });
      const m2 = await say(bob, roomId, "second");
      const m3 = await say(alice, roomId, "third");
      const m4 = await say(bob, roomId, "fourth");
      const path = `${A1}/purge_history/${enc(roomId)}`;

      // Server admins only; bad input is refused and starts nothing.
      assertEquals((await call("POST", path, alice, { purge_up_to_ts: Date.now() })).status, 403);
      for (
        const body of [
          {},
          { purge_up_to_ts: "yesterday" },
          { purge_up_to_ts: -5 },
          { purge_up_to_event_id: "$nope" },
          { purge_up_to_ts: Date.now(), delete_local_events: "yes" },
        ]
      ) {
        const res = await call("POST", path, admin, body);
        assertEquals(res.status, 400, JSON.stringify(body));
      }
      const unknown = await call(
        "POST",
        `${A1}/purge_history/${enc("!nope:" + t.serverName)}`,
        admin,
        {
          purge_up_to_ts: Date.now(),
        },
      );
      assertEquals(unknown.status, 404);
      assertEquals(
        (await call("GET", `${A1}/purge_history_status/unknownpurge`, admin)).status,
        404,
      );

      assertEquals(await relationEntries(m1), 1);
      // Without delete_local_events, local users' messages stay (every sender here is local),
      // and so do the relations to them.
      const keepLocal = await call("POST", path, admin, { purge_up_to_event_id: m3 });
      assertEquals(keepLocal.status, 200, JSON.stringify(keepLocal.body));
      const kept = await purgeStatus(keepLocal.body.purge_id);
      assertEquals(kept.status, "complete");
      assertEquals(kept.events_purged, 0);
      assert((await messageIds(bob, roomId)).includes(m1));
      assertEquals(await relationEntries(m1), 1);

      // Up to m3 (not included): m1, the reaction and m2 go.
      const res = await call("POST", path, admin, {
        purge_up_to_event_id: m3,
        delete_local_events: true,
      });
      assertEquals(res.status, 200);
      const done = await purgeStatus(res.body.purge_id);
      assertEquals(done.status, "complete", JSON.stringify(done));
      assertEquals(done.events_purged, 3);
      assertEquals(await relationEntries(m1), 0);
      const history = await messageIds(bob, roomId);
      assert(!history.includes(m1) && !history.includes(m2));
      assert(history.includes(m3) && history.includes(m4));
      // Membership and the other state events stay.
      const members = await call("GET", `${V3}/rooms/${enc(roomId)}/joined_members`, bob);
      assertEquals(Object.keys(members.body.joined).length, 2);

      // Up to a time after everything: all messages but the room's newest event go.
      const byTime = await call("POST", `${path}`, admin, {
        purge_up_to_ts: Date.now() + 1000,
        delete_local_events: true,
      });
      const timed = await purgeStatus(byTime.body.purge_id);
      assertEquals(timed.events_purged, 1);
      const left = await messageIds(bob, roomId);
      assert(!left.includes(m3) && left.includes(m4));
      assertEquals(left[0], m4);
      const sent = await say(alice, roomId, "after the purge");
      assert((await syncIds(bob, roomId)).includes(sent));

      // A message past its room's max_lifetime is served to no one, before any purge.
      const brief = (await call("POST", `${V3}/createRoom`, alice, {
        preset: "public_chat",
        initial_state: [{
          type: "m.room.retention",
          state_key: "",
          content: { max_lifetime: 400 },
        }],
      })).body.room_id;
      assertEquals((await call("POST", `${V3}/join/${enc(brief)}`, bob, {})).status, 200);
      const fleeting = await say(alice, brief, "fleeting words");
      assert((await messageIds(bob, brief)).includes(fleeting));
      await new Promise((r) => setTimeout(r, 500));
      assert(!(await messageIds(bob, brief)).includes(fleeting));
      assert(!(await syncIds(bob, brief)).includes(fleeting));
      const expired = await call("GET", `${V3}/rooms/${enc(brief)}/event/${enc(fleeting)}`, bob);
      assertEquals(expired.status, 404);
      assert((await t.hs.kv.get(["event", fleeting])).value !== null, "hidden, not yet purged");
      // State events do not expire.
      const state = await call("GET", `${V3}/rooms/${enc(brief)}/state`, bob);
      assert(state.body.some((e: { type: string }) => e.type === "m.room.retention"));

      // Audited.
      const audit = await call("GET", `${A1}/gemeng/audit_log?action=room.purge_history`, admin);
      assertEquals(audit.status, 200);
      // deno-lint-ignore no-explicit-any
      const purges = audit.body.entries.filter((e: any) => e.target === roomId);
      assertEquals(purges.length, 3);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "retention: the job runs on its own every purge_interval with the server's default",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s = await startTestServer({
      config: {
        retention: { enabled: true, purge_interval: 1000, default_max_lifetime: 1000 },
      },
    });
    try {
      const alice = await s.register("alice");
      const room = await s.request("POST", `${V3}/createRoom`, {
        token: alice.accessToken,
        body: { preset: "private_chat" },
      });
      const roomId = room.body.room_id;
      const sent = await s.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/t1`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "short-lived" } },
      );
      const old = sent.body.event_id;
      // The newest event always stays: send one more after the first has expired.
      await new Promise((r) => setTimeout(r, 1100));
      await s.request("PUT", `${V3}/rooms/${enc(roomId)}/send/m.room.message/t2`, {
        token: alice.accessToken,
        body: { msgtype: "m.text", body: "newer" },
      });
      let gone = false;
      for (let i = 0; i < 40 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 100));
        gone = (await s.hs.kv.get(["event", old])).value === null;
      }
      assert(gone, "the job did not purge the expired message");
      const res = await s.request("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(old)}`, {
        token: alice.accessToken,
      });
      assertEquals(res.status, 404);
    } finally {
      await s.close();
    }
  },
});
