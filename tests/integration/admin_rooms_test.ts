/**
 * The Synapse-compatible rooms and event reports admin API over real HTTP: the room list with
 * its orders, filters and pagination, details (members, size), members, state, block (joins
 * refused), delete v2 (users moved to a new room, aliases follow, purge leaves nothing of the
 * room in KV) with its statuses, and event reports (filters, details with event_json,
 * deletion). Non-admins get 403 M_FORBIDDEN everywhere, bad input 400. One server.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";

const V3 = "/_matrix/client/v3";
const A1 = "/_synapse/admin/v1";
const A2 = "/_synapse/admin/v2";
const enc = encodeURIComponent;

let server: TestServer | null = null;
let users: Record<string, TestUser> = {};

async function setUp(): Promise<TestServer> {
  if (server) return server;
  server = await startTestServer();
  for (const name of ["admin", "alice", "bob", "carol"]) {
    users[name] = await server.register(name);
  }
  await updateUser(server.hs.kv, users.admin.userId, (u) => ({ ...u, admin: true }));
  return server;
}

async function call(method: string, path: string, token: string, body?: unknown) {
  return await server!.request(method, path, { token, body });
}

async function createRoom(user: TestUser, body: Record<string, unknown>): Promise<string> {
  const res = await call("POST", `${V3}/createRoom`, user.accessToken, body);
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

async function join(user: TestUser, roomId: string) {
  return await call("POST", `${V3}/join/${enc(roomId)}`, user.accessToken, {});
}

async function say(user: TestUser, roomId: string, body: string): Promise<string> {
  const res = await call(
    "PUT",
    `${V3}/rooms/${enc(roomId)}/send/m.room.message/${crypto.randomUUID()}`,
    user.accessToken,
    { msgtype: "m.text", body },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

Deno.test({
  name: "admin rooms: list, details, members, state, block, reports, delete v2 with purge",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await setUp();
    try {
      const { admin, alice, bob, carol } = users;
      const token = admin.accessToken;
      const alpha = await createRoom(alice, {
        preset: "public_chat",
        visibility: "public",
        name: "Alpha square",
        topic: "news",
        room_alias_name: "alpha",
      });
      assertEquals((await join(bob, alpha)).status, 200);
      const spam = await say(bob, alpha, "buy cheap things");
      await say(alice, alpha, "hello");
      const beta = await createRoom(carol, { preset: "public_chat", name: "Beta" });

      // Server admins only.
      for (
        const [method, path] of [
          ["GET", `${A1}/rooms`],
          ["GET", `${A1}/rooms/${enc(alpha)}`],
          ["GET", `${A1}/rooms/${enc(alpha)}/members`],
          ["GET", `${A1}/rooms/${enc(alpha)}/state`],
          ["GET", `${A1}/rooms/${enc(alpha)}/block`],
          ["PUT", `${A1}/rooms/${enc(alpha)}/block`],
          ["DELETE", `${A2}/rooms/${enc(alpha)}`],
          ["GET", `${A2}/rooms/${enc(alpha)}/delete_status`],
          ["GET", `${A1}/event_reports`],
        ]
      ) {
        const res = await call(method, path, carol.accessToken, method === "GET" ? undefined : {});
        assertEquals([res.status, res.body?.errcode], [403, "M_FORBIDDEN"], `${method} ${path}`);
      }

      // The list: default order by name, Synapse's fields, pagination.
      const list = await call("GET", `${A1}/rooms`, token);
      assertEquals(list.status, 200, JSON.stringify(list.body));
      assertEquals(list.body.total_rooms, 2);
      assertEquals(list.body.offset, 0);
      assertEquals(list.body.rooms.map((r: { name: string }) => r.name), ["Alpha square", "Beta"]);
      const first = list.body.rooms[0];
      assertEquals(first.room_id, alpha);
      assertEquals(first.canonical_alias, `#alpha:${t.serverName}`);
      assertEquals(first.joined_members, 2);
      assertEquals(first.joined_local_members, 2);
      assertEquals(first.creator, alice.userId);
      assertEquals(first.public, true);
      assertEquals(first.join_rules, "public");
      assertEquals(first.federatable, true);
      assertEquals(first.encryption, null);
      assertEquals(first.room_type, null);
      assert(first.state_events >= 6, JSON.stringify(first));
      assert(first.events >= 8 && first.size_bytes > 1000, JSON.stringify(first));
      const page = await call("GET", `${A1}/rooms?limit=1&order_by=joined_members`, token);
      assertEquals(page.body.rooms[0].room_id, alpha);
      assertEquals(page.body.next_batch, 1);
      const page2 = await call("GET", `${A1}/rooms?limit=1&from=1&order_by=joined_members`, token);
      assertEquals(page2.body.rooms[0].room_id, beta);
      assertEquals([page2.body.prev_batch, page2.body.next_batch], [0, undefined]);
      const reversed = await call("GET", `${A1}/rooms?dir=b`, token);
      assertEquals(reversed.body.rooms[0].room_id, beta);
      const search = await call("GET", `${A1}/rooms?search_term=ALPHA`, token);
      assertEquals(search.body.rooms.map((r: { room_id: string }) => r.room_id), [alpha]);
      const bySize = await call("GET", `${A1}/rooms?order_by=size_bytes`, token);
      assertEquals(bySize.body.rooms[0].room_id, alpha);
      const publicOnly = await call("GET", `${A1}/rooms?public_rooms=true`, token);
      assertEquals(publicOnly.body.total_rooms, 1);
      for (const bad of ["order_by=nope", "limit=0", "limit=abc", "from=-1", "dir=x"]) {
        const res = await call("GET", `${A1}/rooms?${bad}`, token);
        assertEquals([res.status, res.body.errcode], [400, "M_INVALID_PARAM"], bad);
      }

      // Details, members, state.
      const details = await call("GET", `${A1}/rooms/${enc(alpha)}`, token);
      assertEquals(details.status, 200);
      assertEquals(details.body.topic, "news");
      assertEquals(details.body.joined_local_devices, 2);
      assertEquals(details.body.forgotten, false);
      assert(details.body.size_bytes >= first.size_bytes);
      assertEquals(
        (await call("GET", `${A1}/rooms/${enc("!nope:" + t.serverName)}`, token)).status,
        404,
      );
      assertEquals(
        (await call("GET", `${A1}/rooms/not-a-room`, token)).body.errcode,
        "M_INVALID_PARAM",
      );
      const members = await call("GET", `${A1}/rooms/${enc(alpha)}/members`, token);
      assertEquals(members.body.members.sort(), [alice.userId, bob.userId].sort());
      assertEquals(members.body.total, 2);
      const state = await call("GET", `${A1}/rooms/${enc(alpha)}/state?type=m.room.name`, token);
      assertEquals(state.body.state.length, 1);
      assertEquals(state.body.state[0].content.name, "Alpha square");
      assertEquals(state.body.state[0].room_id, alpha);

      // Event reports: filters, details, deletion.
      const reported = await call(
        "POST",
        `${V3}/rooms/${enc(alpha)}/report/${enc(spam)}`,
        alice.accessToken,
        { reason: "spam" },
      );
      assertEquals(reported.status, 200);
      await call("POST", `${V3}/rooms/${enc(beta)}/report`, alice.accessToken, { reason: "bad" });
      const reports = await call("GET", `${A1}/event_reports`, token);
      assertEquals(reports.body.total, 2);
      assertEquals(reports.body.event_reports[0].kind, "room"); // newest first
      const byRoom = await call("GET", `${A1}/event_reports?room_id=${enc(alpha)}`, token);
      assertEquals(byRoom.body.total, 1);
      const report = byRoom.body.event_reports[0];
      assertEquals(report.event_id, spam);
      assertEquals(report.sender, bob.userId);
      assertEquals(report.user_id, alice.userId);
      assertEquals(report.name, "Alpha square");
      assertEquals(report.canonical_alias, `#alpha:${t.serverName}`);
      const bySender = await call(
        "GET",
        `${A1}/event_reports?event_sender_user_id=${enc(bob.userId)}`,
        token,
      );
      assertEquals(bySender.body.total, 1);
      const oldest = await call("GET", `${A1}/event_reports?dir=f&limit=1`, token);
      assertEquals([oldest.body.event_reports[0].id, oldest.body.next_token], [report.id, 1]);
      const detail = await call("GET", `${A1}/event_reports/${enc(report.id)}`, token);
      assertEquals(detail.body.event_json.type, "m.room.message");
      assertEquals(detail.body.event_json.content.body, "buy cheap things");
      assertEquals(detail.body.event_json.sender, bob.userId);
      const roomReport = reports.body.event_reports[0].id;
      assertEquals(
        (await call("DELETE", `${A1}/event_reports/${enc(roomReport)}`, token)).body,
        {},
      );
      assertEquals(
        (await call("GET", `${A1}/event_reports/${enc(roomReport)}`, token)).status,
        404,
      );
      assertEquals(
        (await call("DELETE", `${A1}/event_reports/${enc(roomReport)}`, token)).status,
        404,
      );
      assertEquals((await call("GET", `${A1}/event_reports`, token)).body.total, 1);

      // Block: joins refused, unblock lets them in.
      assertEquals((await call("GET", `${A1}/rooms/${enc(beta)}/block`, token)).body, {
        block: false,
      });
      const blocked = await call("PUT", `${A1}/rooms/${enc(beta)}/block`, token, { block: true });
      assertEquals(blocked.body, { block: true });
      assertEquals((await call("GET", `${A1}/rooms/${enc(beta)}/block`, token)).body, {
        block: true,
        user_id: admin.userId,
      });
      const refused = await join(bob, beta);
      assertEquals([refused.status, refused.body.errcode], [403, "M_FORBIDDEN"]);
      const badBlock = await call("PUT", `${A1}/rooms/${enc(beta)}/block`, token, { block: 1 });
      assertEquals([badBlock.status, badBlock.body.errcode], [400, "M_BAD_JSON"]);
      await call("PUT", `${A1}/rooms/${enc(beta)}/block`, token, { block: false });
      assertEquals((await join(bob, beta)).status, 200);

      // Delete v2: bad input first, then a real deletion.
      const badDelete = await call("DELETE", `${A2}/rooms/${enc(alpha)}`, token, {
        new_room_user_id: "@someone:elsewhere.example",
      });
      assertEquals([badDelete.status, badDelete.body.errcode], [400, "M_INVALID_PARAM"]);
      const badFlag = await call("DELETE", `${A2}/rooms/${enc(alpha)}`, token, { purge: "yes" });
      assertEquals(badFlag.body.errcode, "M_BAD_JSON");
      const unknown = await call(
        "DELETE",
        `${A2}/rooms/${enc("!gone:" + t.serverName)}`,
        token,
        {},
      );
      assertEquals(unknown.status, 400);
      const started = await call("DELETE", `${A2}/rooms/${enc(alpha)}`, token, {
        new_room_user_id: admin.userId,
        room_name: "Moved",
        message: "Alpha was closed.",
        block: true,
      });
      assertEquals(started.status, 200, JSON.stringify(started.body));
      const deleteId = started.body.delete_id as string;
      let status = null;
      for (let i = 0; i < 200; i++) {
        status = (await call("GET", `${A2}/rooms/delete_status/${enc(deleteId)}`, token)).body;
        if (status.status === "complete" || status.status === "failed") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(status.status, "complete", JSON.stringify(status));
      assertEquals(status.room_id, alpha);
      const shutdown = status.shutdown_room;
      assertEquals(shutdown.kicked_users.sort(), [alice.userId, bob.userId].sort());
      assertEquals(shutdown.failed_to_kick_users, []);
      assertEquals(shutdown.local_aliases, [`#alpha:${t.serverName}`]);
      const byRoomStatus = await call("GET", `${A2}/rooms/${enc(alpha)}/delete_status`, token);
      assertEquals(byRoomStatus.body.results[0].delete_id, deleteId);

      // The users are in the new room, which the alias names now.
      const newRoom = shutdown.new_room_id as string;
      const joined = await call("GET", `${V3}/joined_rooms`, bob.accessToken);
      assert(joined.body.joined_rooms.includes(newRoom), JSON.stringify(joined.body));
      assert(!joined.body.joined_rooms.includes(alpha));
      const alias = await call(
        "GET",
        `${V3}/directory/room/${enc(`#alpha:${t.serverName}`)}`,
        token,
      );
      assertEquals(alias.body.room_id, newRoom);

      // Purged: nothing of the room is left in KV; it is blocked.
      assertEquals((await call("GET", `${A1}/rooms/${enc(alpha)}`, token)).status, 404);
      const kv = t.hs.kv;
      assertEquals((await kv.get(["event", spam])).value, null);
      for (const prefix of ["room_timeline", "room_state", "room_depth", "search"]) {
        const left = await Array.fromAsync(kv.list({ prefix: [prefix, alpha] }));
        assertEquals(left.length, 0, prefix);
      }
      assertEquals((await kv.get(["user_room", bob.userId, alpha])).value, null);
      let groups = 0;
      for await (const entry of kv.list<{ roomId: string }>({ prefix: ["state_group"] })) {
        if (entry.value.roomId === alpha) groups++;
      }
      assertEquals(groups, 0);
      const rejoin = await join(bob, alpha);
      assertEquals([rejoin.status, rejoin.body.errcode], [403, "M_FORBIDDEN"]);
      const list2 = await call("GET", `${A1}/rooms?search_term=alpha`, token);
      assertEquals(list2.body.total_rooms, 0);
      // The report survives the room, its event is gone.
      const after = await call("GET", `${A1}/event_reports/${enc(report.id)}`, token);
      assertEquals([after.status, after.body.event_json], [200, null]);

      // Without purge the room stays, emptied of local users.
      const started2 = await call("DELETE", `${A2}/rooms/${enc(beta)}`, token, { purge: false });
      const id2 = started2.body.delete_id as string;
      for (let i = 0; i < 200; i++) {
        status = (await call("GET", `${A2}/rooms/delete_status/${enc(id2)}`, token)).body;
        if (status.status === "complete" || status.status === "failed") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(status.status, "complete", JSON.stringify(status));
      const betaDetails = await call("GET", `${A1}/rooms/${enc(beta)}`, token);
      assertEquals([betaDetails.body.joined_members, betaDetails.body.forgotten], [0, true]);
      assertEquals(
        (await call("GET", `${A2}/rooms/delete_status/unknown`, token)).status,
        404,
      );

      // Synapse's synchronous v1 answers when the deletion is over.
      const gamma = await createRoom(carol, { preset: "private_chat", name: "Gamma" });
      const v1 = await call("DELETE", `${A1}/rooms/${enc(gamma)}`, token, {});
      assertEquals(v1.status, 200, JSON.stringify(v1.body));
      assertEquals(v1.body, {
        kicked_users: [carol.userId],
        failed_to_kick_users: [],
        local_aliases: [],
        new_room_id: null,
      });
      assertEquals((await call("GET", `${A1}/rooms/${enc(gamma)}`, token)).status, 404);

      // Every change was audited, read-only requests were not.
      const audit = await call("GET", `${A1}/gemeng/audit_log?dir=f`, token);
      assertEquals(
        audit.body.entries.map((e: { action: string; target: string }) => [e.action, e.target]),
        [
          ["event_report.delete", roomReport],
          ["room.block", beta],
          ["room.unblock", beta],
          ["room.delete", alpha],
          ["room.delete", beta],
          ["room.delete", gamma],
        ],
      );
      const deletion = audit.body.entries[3];
      assertEquals(deletion.actor, admin.userId);
      assertEquals(deletion.details.delete_id, deleteId);
      assertEquals([deletion.details.block, deletion.details.purge], [true, true]);
    } finally {
      await server?.close();
      server = null;
      users = {};
    }
  },
});
