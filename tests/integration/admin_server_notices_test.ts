/**
 * Server notices over real HTTP: an admin sends with Synapse's `send_server_notice`; the user is
 * invited by the system account to one tagged, read-only notices room, cannot reject the
 * invite, reads the notices after joining, gets a new room after leaving; transaction IDs make
 * the PUT form idempotent; bad input and non-admins are refused; sends are audited.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";

const SEND = "/_synapse/admin/v1/send_server_notice";
const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

// deno-lint-ignore no-explicit-any
type Json = any;

async function invitedRooms(server: TestServer, user: TestUser): Promise<Record<string, Json>> {
  const res = await server.request("GET", `${V3}/sync?timeout=0`, { token: user.accessToken });
  assertEquals(res.status, 200);
  return res.body.rooms?.invite ?? {};
}

Deno.test("server notices", async (t) => {
  const server = await startTestServer({
    config: { server_notices: { system_localpart: "notices", room_name: "Notices" } },
  });
  try {
    const root = await server.register("root");
    await updateUser(server.hs.kv, root.userId, (user) => ({ ...user, admin: true }));
    const alice = await server.register("alice");
    const token = root.accessToken;
    const system = `@notices:${server.serverName}`;
    const notice = (body: string) => ({
      user_id: alice.userId,
      content: { msgtype: "m.text", body },
    });
    let roomId = "";

    await t.step("refused for non-admins and bad input", async () => {
      const refused = await server.request("POST", SEND, {
        token: alice.accessToken,
        body: notice("x"),
      });
      assertEquals(refused.status, 403);
      assertEquals(refused.body.errcode, "M_FORBIDDEN");
      const cases: [unknown, number][] = [
        [{ content: { body: "x" } }, 400],
        [{ user_id: alice.userId }, 400],
        [{ user_id: alice.userId, content: "text" }, 400],
        [{ user_id: "alice", content: {} }, 400],
        [{ user_id: "@bob:elsewhere.example", content: {} }, 400],
        [{ user_id: `@nobody:${server.serverName}`, content: {} }, 404],
        [{ user_id: alice.userId, content: {}, type: 5 }, 400],
        [{ user_id: alice.userId, content: {}, state_key: "x".repeat(300) }, 400],
        ["{", 400],
      ];
      for (const [body, status] of cases) {
        const res = await server.request("POST", SEND, { token, body });
        assertEquals(res.status, status, JSON.stringify(body));
      }
      assertEquals(Object.keys(await invitedRooms(server, alice)), [], "nothing was sent");
    });

    await t.step("the first notice invites the user to a tagged, read-only room", async () => {
      const sent = await server.request("POST", SEND, {
        token,
        body: notice("Maintenance at 22:00"),
      });
      assertEquals(sent.status, 200, JSON.stringify(sent.body));
      assert(sent.body.event_id.startsWith("$"));
      const invites = await invitedRooms(server, alice);
      const ids = Object.keys(invites);
      assertEquals(ids.length, 1);
      roomId = ids[0];
      const inviteState = invites[roomId].invite_state.events as Json[];
      const member = inviteState.find((e) =>
        e.type === "m.room.member" && e.state_key === alice.userId
      );
      assertEquals(member.sender, system);
      const name = inviteState.find((e) => e.type === "m.room.name");
      assertEquals(name?.content.name, "Notices");
      const tags = await server.request(
        "GET",
        `${V3}/user/${enc(alice.userId)}/rooms/${enc(roomId)}/tags`,
        { token: alice.accessToken },
      );
      assertEquals(tags.body.tags, { "m.server_notice": {} });

      const reject = await server.request("POST", `${V3}/rooms/${enc(roomId)}/leave`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(reject.status, 403);
      assertEquals(reject.body.errcode, "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM");

      const join = await server.request("POST", `${V3}/join/${enc(roomId)}`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(join.status, 200);
      const messages = await server.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
        { token: alice.accessToken },
      );
      const texts = messages.body.chunk.filter((e: Json) => e.type === "m.room.message");
      assertEquals(texts.map((e: Json) => [e.sender, e.content.body]), [
        [system, "Maintenance at 22:00"],
      ]);
      const encryption = messages.body.chunk.find((e: Json) => e.type === "m.room.encryption");
      assertEquals(encryption, undefined, "the server can read what it sends");
      const reply = await server.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/r1`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "ok" } },
      );
      assertEquals(reply.status, 403, "the user cannot write in the notices room");
    });

    await t.step("later notices reuse the room; PUT with a txnId is idempotent", async () => {
      const second = await server.request("POST", SEND, { token, body: notice("Done") });
      assertEquals(second.status, 200);
      const p1 = await server.request("PUT", `${SEND}/txn-1`, { token, body: notice("Once") });
      const p2 = await server.request("PUT", `${SEND}/txn-1`, { token, body: notice("Once") });
      assertEquals(p1.status, 200);
      assertEquals(p2.body.event_id, p1.body.event_id);
      const state = await server.request("POST", SEND, {
        token,
        body: { ...notice("x"), type: "m.room.topic", state_key: "", content: { topic: "Info" } },
      });
      assertEquals(state.status, 200);
      const messages = await server.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
        { token: alice.accessToken },
      );
      const bodies = messages.body.chunk.filter((e: Json) => e.type === "m.room.message")
        .map((e: Json) => e.content.body).reverse();
      assertEquals(bodies, ["Maintenance at 22:00", "Done", "Once"]);
      const topic = await server.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/state/m.room.topic/`,
        { token: alice.accessToken },
      );
      assertEquals(topic.body.topic, "Info");
    });

    await t.step("after leaving, the next notice opens a new room", async () => {
      const left = await server.request("POST", `${V3}/rooms/${enc(roomId)}/leave`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(left.status, 200, "a joined user may leave");
      const again = await server.request("POST", SEND, { token, body: notice("New room") });
      assertEquals(again.status, 200);
      const invites = Object.keys(await invitedRooms(server, alice));
      assertEquals(invites.length, 1);
      assert(invites[0] !== roomId);
    });

    await t.step("the system account cannot log in; sends are audited", async () => {
      const login = await server.request("POST", `${V3}/login`, {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "notices" },
          password: "",
        },
      });
      assert(login.status === 400 || login.status === 403, String(login.status));
      const log = await server.request(
        "GET",
        "/_synapse/admin/v1/gemeng/audit_log?action=server_notice",
        { token },
      );
      assertEquals(log.body.entries.length, 6);
      assertEquals(log.body.entries[0].target, alice.userId);
      assertEquals(log.body.entries[0].details.type, "m.room.message");
      assert(!JSON.stringify(log.body.entries).includes("Maintenance"), "no contents in the log");
    });
  } finally {
    await server.close();
  }
});
