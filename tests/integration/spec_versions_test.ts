/**
 * Client-Server features of spec v1.16 to v1.18 that `/versions` depends on, over real HTTP:
 * invite blocking (v1.18, locally and across two servers), room version 12 creators on
 * `createRoom` and `/upgrade` (v1.16), `GET /state/{type}/{key}?format=event` (v1.16), the
 * create event in invite and knock stripped state (v1.16), and reports without `score`
 * (v1.18). Two gemeng nodes are shared by every step.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import {
  type GemengNode,
  type NodeUser,
  startGemengNode,
} from "../federation/support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "../federation/support/peers.ts";
import { eventually } from "../federation/support/rooms.ts";
import { invitesBlocked } from "../../server/client/invite_permission.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;
// deno-lint-ignore no-explicit-any
type Json = any;

async function call(
  node: GemengNode,
  user: NodeUser,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  return await node.request(method, `${V3}${path}`, { token: user.accessToken, body });
}

async function ok(node: GemengNode, user: NodeUser, method: string, path: string, body?: unknown) {
  const res = await call(node, user, method, path, body);
  assertEquals(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

function setInvitePermission(node: GemengNode, user: NodeUser, content: Json) {
  return ok(
    node,
    user,
    "PUT",
    `/user/${enc(user.userId)}/account_data/m.invite_permission_config`,
    content,
  );
}

async function membershipOf(node: GemengNode, roomId: string, userId: string) {
  return (await node.hs.rooms.membership(roomId, userId))?.membership ?? null;
}

async function createEvent(node: GemengNode, user: NodeUser, roomId: string): Promise<Json> {
  return await ok(node, user, "GET", `/rooms/${enc(roomId)}/state/m.room.create?format=event`);
}

async function sync(node: GemengNode, user: NodeUser): Promise<Json> {
  return await ok(node, user, "GET", "/sync?timeout=0");
}

function strippedTypes(section: Json, key: string): string[] {
  return (section?.[key]?.events ?? []).map((e: Json) => e.type);
}

Deno.test({
  name: "spec v1.16-v1.18 client-server features",
  ...skipUnless(CA_MISSING),
  async fn(t) {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await a.register("bob");
      const carol = await a.register("carol");
      const erin = await a.register("erin");
      const dave = await b.register("dave");

      await t.step("invite blocking refuses local invites with M_INVITE_BLOCKED", async () => {
        const roomId = (await ok(a, alice, "POST", "/createRoom", { preset: "private_chat" }))
          .room_id;
        assert(!(await invitesBlocked(a.hs, bob.userId)));
        await setInvitePermission(a, bob, { default_action: "block" });
        assert(await invitesBlocked(a.hs, bob.userId), "the block is seen at once");

        const invite = await call(a, alice, "POST", `/rooms/${enc(roomId)}/invite`, {
          user_id: bob.userId,
        });
        assertEquals(invite.status, 403);
        assertEquals(invite.body.errcode, "M_INVITE_BLOCKED");
        const put = await call(
          a,
          alice,
          "PUT",
          `/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`,
          { membership: "invite" },
        );
        assertEquals(put.status, 403);
        assertEquals(put.body.errcode, "M_INVITE_BLOCKED");
        assertEquals(await membershipOf(a, roomId, bob.userId), null);

        // createRoom: the room is made and the others invited; the answer names the room.
        const created = await call(a, alice, "POST", "/createRoom", {
          preset: "private_chat",
          invite: [bob.userId, carol.userId],
        });
        assertEquals(created.status, 403, JSON.stringify(created.body));
        assertEquals(created.body.errcode, "M_INVITE_BLOCKED");
        const newRoom = created.body.room_id;
        assert(typeof newRoom === "string", "the created room's ID is in the error");
        assertEquals(await membershipOf(a, newRoom, alice.userId), "join");
        assertEquals(await membershipOf(a, newRoom, carol.userId), "invite");
        assertEquals(await membershipOf(a, newRoom, bob.userId), null);

        // Another default_action, or none, lets invites through again.
        await setInvitePermission(a, bob, { default_action: "allow" });
        assert(!(await invitesBlocked(a.hs, bob.userId)));
        await ok(a, alice, "POST", `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        assertEquals(await membershipOf(a, roomId, bob.userId), "invite");
        // An invite from before the block is kept, but /sync hides it while the block lasts.
        assert((await sync(a, bob)).rooms?.invite?.[roomId], "the invite shows");
        await setInvitePermission(a, bob, { default_action: "block" });
        assert(await invitesBlocked(a.hs, bob.userId));
        assert(!(await sync(a, bob)).rooms?.invite?.[roomId], "hidden while blocking");
        await setInvitePermission(a, bob, {});
        assert(!(await invitesBlocked(a.hs, bob.userId)));
        assert((await sync(a, bob)).rooms?.invite?.[roomId], "shown again once unblocked");
        assert(!(await invitesBlocked(a.hs, dave.userId)), "a remote user is never blocked here");
      });

      await t.step("invite blocking across servers (federation invite)", async () => {
        await setInvitePermission(b, dave, { default_action: "block" });
        const roomId = (await ok(a, alice, "POST", "/createRoom", { preset: "private_chat" }))
          .room_id;
        const invite = await call(a, alice, "POST", `/rooms/${enc(roomId)}/invite`, {
          user_id: dave.userId,
        });
        assertEquals(invite.status, 403, JSON.stringify(invite.body));
        assertEquals(invite.body.errcode, "M_INVITE_BLOCKED");
        assertEquals(await membershipOf(a, roomId, dave.userId), null);
        assertEquals(await membershipOf(b, roomId, dave.userId), null);

        const created = await call(a, alice, "POST", "/createRoom", {
          preset: "private_chat",
          invite: [dave.userId, carol.userId],
        });
        assertEquals(created.status, 403, JSON.stringify(created.body));
        assertEquals(created.body.errcode, "M_INVITE_BLOCKED");
        assertEquals(await membershipOf(a, created.body.room_id, carol.userId), "invite");
        assertEquals(await membershipOf(b, created.body.room_id, dave.userId), null);

        // Unblocked, the invite reaches dave with the room's create event in its state.
        await setInvitePermission(b, dave, {});
        await ok(a, alice, "POST", `/rooms/${enc(roomId)}/invite`, { user_id: dave.userId });
        const section = await eventually(
          async () => (await sync(b, dave)).rooms.invite[roomId],
          "dave's invite on B",
        );
        const create = section.invite_state.events.find((e: Json) => e.type === "m.room.create");
        assert(create, "m.room.create in the remote invite's stripped state");
        assertEquals(create.content.room_version, "12");
        // Stripped state carries only the four stripped fields.
        assertEquals(Object.keys(create).sort(), ["content", "sender", "state_key", "type"]);
      });

      await t.step("room version 12 creators: createRoom trusted_private_chat", async () => {
        const roomId = (await ok(a, alice, "POST", "/createRoom", {
          room_version: "12",
          preset: "trusted_private_chat",
          invite: [carol.userId, erin.userId],
          creation_content: { additional_creators: [erin.userId, bob.userId] },
        })).room_id;
        const create = await createEvent(a, alice, roomId);
        assertEquals(
          [...create.content.additional_creators].sort(),
          [bob.userId, carol.userId, erin.userId].sort(),
        );
        const levels = await ok(a, alice, "GET", `/rooms/${enc(roomId)}/state/m.room.power_levels`);
        for (const creator of [alice, bob, carol, erin]) {
          assert(!(creator.userId in levels.users), `${creator.userId} is not in users`);
        }
        // Before v12 the invitees get the creator's power level instead.
        const v11 = (await ok(a, alice, "POST", "/createRoom", {
          room_version: "11",
          preset: "trusted_private_chat",
          invite: [carol.userId],
        })).room_id;
        assertEquals((await createEvent(a, alice, v11)).content.additional_creators, undefined);
        const v11Levels = await ok(a, alice, "GET", `/rooms/${enc(v11)}/state/m.room.power_levels`);
        assertEquals(v11Levels.users[carol.userId], 100);
      });

      await t.step("room version 12 creators: /upgrade additional_creators", async () => {
        const roomId = (await ok(a, alice, "POST", "/createRoom", { room_version: "11" })).room_id;
        const bad = await call(a, alice, "POST", `/rooms/${enc(roomId)}/upgrade`, {
          new_version: "12",
          additional_creators: ["not a user"],
        });
        assertEquals(bad.status, 400);
        assertEquals(bad.body.errcode, "M_INVALID_PARAM");
        const notList = await call(a, alice, "POST", `/rooms/${enc(roomId)}/upgrade`, {
          new_version: "12",
          additional_creators: carol.userId,
        });
        assertEquals(notList.status, 400);
        const tombstone = await call(
          a,
          alice,
          "GET",
          `/rooms/${enc(roomId)}/state/m.room.tombstone`,
        );
        assertEquals(tombstone.status, 404, "a refused upgrade changes nothing");

        const upgraded = await ok(a, alice, "POST", `/rooms/${enc(roomId)}/upgrade`, {
          new_version: "12",
          additional_creators: [carol.userId, carol.userId, alice.userId],
        });
        const create = await createEvent(a, alice, upgraded.replacement_room);
        assertEquals(create.content.additional_creators, [carol.userId]);
        assertEquals(create.content.room_version, "12");

        // Ignored when the new version has no additional creators.
        const old = (await ok(a, alice, "POST", "/createRoom", { room_version: "10" })).room_id;
        const to11 = await ok(a, alice, "POST", `/rooms/${enc(old)}/upgrade`, {
          new_version: "11",
          additional_creators: ["not a user"],
        });
        const create11 = await createEvent(a, alice, to11.replacement_room);
        assertEquals(create11.content.additional_creators, undefined);
      });

      await t.step("GET /state/{type}/{key}?format=event returns the whole event", async () => {
        const roomId = (await ok(a, alice, "POST", "/createRoom", { name: "Formats" })).room_id;
        const path = `/rooms/${enc(roomId)}/state/m.room.name/`;
        assertEquals(await ok(a, alice, "GET", path), { name: "Formats" });
        assertEquals(await ok(a, alice, "GET", `${path}?format=content`), { name: "Formats" });
        const event = await ok(a, alice, "GET", `${path}?format=event`);
        assertEquals(event.type, "m.room.name");
        assertEquals(event.state_key, "");
        assertEquals(event.content, { name: "Formats" });
        assertEquals(event.sender, alice.userId);
        assertEquals(event.room_id, roomId);
        assert(typeof event.event_id === "string" && event.event_id.startsWith("$"));
        assert(typeof event.origin_server_ts === "number");
      });

      await t.step("invites and knocks carry m.room.create in their stripped state", async () => {
        const invited = (await ok(a, alice, "POST", "/createRoom", { name: "Invited" })).room_id;
        await ok(a, alice, "POST", `/rooms/${enc(invited)}/invite`, { user_id: erin.userId });
        const knockable = (await ok(a, alice, "POST", "/createRoom", {
          name: "Knockable",
          initial_state: [{ type: "m.room.join_rules", content: { join_rule: "knock" } }],
        })).room_id;
        await ok(a, bob, "POST", `/knock/${enc(knockable)}`, { reason: "let me in" });

        const erinSync = await sync(a, erin);
        assert(
          strippedTypes(erinSync.rooms.invite[invited], "invite_state").includes("m.room.create"),
          JSON.stringify(erinSync.rooms.invite[invited]),
        );
        const bobSync = await sync(a, bob);
        assert(
          strippedTypes(bobSync.rooms.knock[knockable], "knock_state").includes("m.room.create"),
          JSON.stringify(bobSync.rooms.knock[knockable]),
        );
      });

      await t.step("room reports: score is optional and never refused", async () => {
        const roomId = (await ok(a, alice, "POST", "/createRoom", {})).room_id;
        const eventId = (await ok(
          a,
          alice,
          "PUT",
          `/rooms/${enc(roomId)}/send/m.room.message/t1`,
          { msgtype: "m.text", body: "spam" },
        )).event_id;
        const path = `/rooms/${enc(roomId)}/report/${enc(eventId)}`;
        await ok(a, alice, "POST", path, { reason: "no score" });
        await ok(a, alice, "POST", path, {});
        await ok(a, alice, "POST", path, { reason: "odd score", score: "very bad" });
        await ok(a, alice, "POST", path, { reason: "old score", score: 1000 });
        await ok(a, alice, "POST", path, { reason: "legacy", score: -50 });
      });
    } finally {
      await b.close();
      await a.close();
    }
  },
});
