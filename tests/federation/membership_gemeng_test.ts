/**
 * Membership across gemeng nodes beyond joins (server-server API "Inviting to a room",
 * "Leaving Rooms (Rejecting Invites)", "Knocking upon a room"): a user of B invited to a room
 * on A sees the invite with the room's state and joins through the inviting server; leaves,
 * kicks and bans reach B; an invite rejected on B reaches A; a knock from B is accepted on A
 * with an invite.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { post, sendText, syncNow } from "./support/client.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { eventually, messageBodies } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";
import { forgeEvent, tampered } from "./support/forge.ts";
import { roomStatePdus } from "../../server/federation/invite_routes.ts";

const enc = encodeURIComponent;

/** A user's membership in a room as the node's current state has it. */
async function membershipOn(node: GemengNode, roomId: string, userId: string) {
  return (await node.hs.rooms.membership(roomId, userId))?.membership ?? null;
}

function waitMembership(
  node: GemengNode,
  roomId: string,
  userId: string,
  membership: string,
  where: string,
) {
  return eventually(
    async () => (await membershipOn(node, roomId, userId)) === membership,
    `${userId} ${membership} on ${where}`,
  );
}

async function createRoom(node: GemengNode, user: NodeUser, body: Record<string, unknown>) {
  return (await post(node, user, "/createRoom", body)).room_id as string;
}

for (const version of ["1", "10", "12"]) {
  Deno.test({
    name: `membership across gemeng nodes, room v${version}: invite, join, leave, kick, ban`,
    ...skipUnless(CA_MISSING),
    async fn() {
      const a = await startGemengNode();
      const b = await startGemengNode();
      try {
        const alice = await a.register("alice");
        const bob = await b.register("bob");
        const roomId = await createRoom(a, alice, {
          room_version: version,
          preset: "private_chat",
          name: "Conseil",
        });
        await sendText(a, alice, roomId, "before bob");

        // The invite: A has it in the room, B shows it to bob with the room's state.
        await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        assertEquals(await membershipOn(a, roomId, bob.userId), "invite");
        const invited = await eventually(async () => {
          const s = await syncNow(b, bob);
          return s.rooms.invite[roomId];
        }, "the invite in bob's sync");
        // deno-lint-ignore no-explicit-any
        const state = invited.invite_state.events as any[];
        const name = state.find((e) => e.type === "m.room.name");
        assertEquals(name?.content.name, "Conseil");
        assert(state.some((e) => e.type === "m.room.create"), JSON.stringify(state));
        const own = state.find((e) => e.type === "m.room.member" && e.state_key === bob.userId);
        assertEquals(own?.content.membership, "invite");
        assertEquals(own?.sender, alice.userId);

        // Bob accepts through the inviting server (a v12 room ID names no server).
        await post(b, bob, `/rooms/${enc(roomId)}/join`);
        await waitMembership(a, roomId, bob.userId, "join", "A");
        await sendText(a, alice, roomId, "welcome bob");
        await eventually(
          async () => (await messageBodies(b, bob, roomId)).includes("welcome bob"),
          "alice's message on B",
        );
        await sendText(b, bob, roomId, "thanks alice");
        await eventually(
          async () => (await messageBodies(a, alice, roomId)).includes("thanks alice"),
          "bob's message on A",
        );

        // Bob leaves a room he is joined to: a normal event A hears of.
        await post(b, bob, `/rooms/${enc(roomId)}/leave`);
        await waitMembership(a, roomId, bob.userId, "leave", "A");

        // Invited again and joined; then kicked: B hears of it although no user of B is left.
        await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        await eventually(async () => (await syncNow(b, bob)).rooms.invite[roomId], "second invite");
        await post(b, bob, `/rooms/${enc(roomId)}/join`);
        await waitMembership(a, roomId, bob.userId, "join", "A");
        await waitMembership(b, roomId, bob.userId, "join", "B");
        await post(a, alice, `/rooms/${enc(roomId)}/kick`, {
          user_id: bob.userId,
          reason: "tidying",
        });
        await waitMembership(b, roomId, bob.userId, "leave", "B");
        const afterKick = await syncNow(b, bob);
        assert(!(roomId in afterKick.rooms.join), "kicked bob still sees the room as joined");
        const joinedRooms = await b.request("GET", "/_matrix/client/v3/joined_rooms", {
          token: bob.accessToken,
        });
        assertEquals(joinedRooms.body.joined_rooms, []);

        // Once more, and banned.
        await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
        await eventually(async () => (await syncNow(b, bob)).rooms.invite[roomId], "third invite");
        await post(b, bob, `/rooms/${enc(roomId)}/join`);
        await waitMembership(a, roomId, bob.userId, "join", "A");
        await waitMembership(b, roomId, bob.userId, "join", "B");
        await post(a, alice, `/rooms/${enc(roomId)}/ban`, { user_id: bob.userId });
        await waitMembership(b, roomId, bob.userId, "ban", "B");
        const rejoin = await b.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/join`, {
          token: bob.accessToken,
          body: {},
        });
        assertEquals(rejoin.status, 403, JSON.stringify(rejoin.body));
      } finally {
        await b.close();
        await a.close();
      }
    },
  });
}

Deno.test({
  name: "membership across gemeng nodes: a remote invite rejected on B reaches A",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await createRoom(a, alice, { preset: "private_chat", name: "Secret" });
      await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
      const before = await eventually(async () => {
        const s = await syncNow(b, bob);
        return s.rooms.invite[roomId] ? s : null;
      }, "the invite");

      await post(b, bob, `/rooms/${enc(roomId)}/leave`, { reason: "no thanks" });
      // An incremental sync reports the room as left.
      const next = await b.request(
        "GET",
        `/_matrix/client/v3/sync?timeout=0&since=${enc(before.next_batch)}`,
        { token: bob.accessToken },
      );
      assertEquals(next.status, 200, JSON.stringify(next.body));
      assert(roomId in next.body.rooms.leave, JSON.stringify(next.body.rooms));
      assert(!(roomId in next.body.rooms.invite));
      await waitMembership(a, roomId, bob.userId, "leave", "A");
      const leave = await a.request(
        "GET",
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`,
        { token: alice.accessToken },
      );
      assertEquals(leave.body.membership, "leave");
      assertEquals(leave.body.reason, "no thanks");
      const after = await syncNow(b, bob);
      assert(!(roomId in after.rooms.invite), "the rejected invite is still shown");
      assertEquals(await membershipOn(b, roomId, bob.userId), "leave");

      // An invite for a user B does not have is refused, and A keeps no invite.
      const ghost = `@ghost:${b.serverName}`;
      const res = await a.request("POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, {
        token: alice.accessToken,
        body: { user_id: ghost },
      });
      assert(res.status >= 400, JSON.stringify(res.body));
      assertEquals(await membershipOn(a, roomId, ghost), null);
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "membership across gemeng nodes: a knock from B accepted on A with an invite",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await createRoom(a, alice, {
        room_version: "12",
        preset: "private_chat",
        name: "Knock here",
        initial_state: [{
          type: "m.room.join_rules",
          state_key: "",
          content: { join_rule: "knock" },
        }],
      });
      await post(b, bob, `/knock/${enc(roomId)}?server_name=${enc(a.serverName)}`, {
        reason: "let me in",
      });
      await waitMembership(a, roomId, bob.userId, "knock", "A");
      const knocked = await eventually(
        async () => (await syncNow(b, bob)).rooms.knock[roomId],
        "the knock in bob's sync",
      );
      // deno-lint-ignore no-explicit-any
      const knockState = knocked.knock_state.events as any[];
      assertEquals(knockState.find((e) => e.type === "m.room.name")?.content.name, "Knock here");

      await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
      await eventually(async () => (await syncNow(b, bob)).rooms.invite[roomId], "the invite");
      await post(b, bob, `/rooms/${enc(roomId)}/join`);
      await waitMembership(a, roomId, bob.userId, "join", "A");
      await sendText(b, bob, roomId, "knocked and in");
      await eventually(
        async () => (await messageBodies(a, alice, roomId)).includes("knocked and in"),
        "bob's message on A",
      );

      // A knock retracted: the leave goes through A (a v12 room ID names no server; the
      // knock's room state does).
      const second = await createRoom(a, alice, {
        room_version: "12",
        preset: "private_chat",
        initial_state: [{
          type: "m.room.join_rules",
          state_key: "",
          content: { join_rule: "knock" },
        }],
      });
      await post(b, bob, `/knock/${enc(second)}?server_name=${enc(a.serverName)}`);
      await waitMembership(a, second, bob.userId, "knock", "A");
      await post(b, bob, `/rooms/${enc(second)}/leave`);
      await waitMembership(a, second, bob.userId, "leave", "A");
      assert(!((await syncNow(b, bob)).rooms.knock[second]), "the retracted knock is still shown");

      // A knock on a room that does not allow knocking is refused by A's auth rules.
      const closed = await createRoom(a, alice, { room_version: "12", preset: "private_chat" });
      const refused = await b.request(
        "POST",
        `/_matrix/client/v3/knock/${enc(closed)}?server_name=${enc(a.serverName)}`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(refused.status, 403, JSON.stringify(refused.body));
      assertEquals(await membershipOn(a, closed, bob.userId), null);
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "membership across gemeng nodes: invite to a server already in the room, bob joins there",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const carol = await b.register("carol");
      const roomId = await createRoom(a, alice, { preset: "public_chat", name: "Open" });
      await post(b, carol, `/join/${enc(roomId)}?server_name=${enc(a.serverName)}`);
      await waitMembership(a, roomId, carol.userId, "join", "A");

      // B is in the room: the invite joins B's copy of the room like any event.
      await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
      await waitMembership(b, roomId, bob.userId, "invite", "B");
      const invite = await eventually(
        async () => (await syncNow(b, bob)).rooms.invite[roomId],
        "invite",
      );
      assert(
        // deno-lint-ignore no-explicit-any
        invite.invite_state.events.some((e: any) => e.type === "m.room.name"),
        JSON.stringify(invite),
      );
      const stored = await b.hs.rooms.event(
        (await b.hs.rooms.membership(roomId, bob.userId))!.eventId,
      );
      assertEquals(stored?.meta.outlier, false);
      // Joining is then a local event of B, sent to A.
      await post(b, bob, `/rooms/${enc(roomId)}/join`);
      await waitMembership(a, roomId, bob.userId, "join", "A");
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "membership across gemeng nodes: rejecting an invite while the inviting server is down",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await createRoom(a, alice, { preset: "private_chat" });
      await post(a, alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
      await eventually(async () => (await syncNow(b, bob)).rooms.invite[roomId], "the invite");
      await a.close();
      // Nobody takes the leave: it is kept here, and the invite is gone for bob.
      await post(b, bob, `/rooms/${enc(roomId)}/leave`);
      assertEquals(await membershipOn(b, roomId, bob.userId), "leave");
      assert(!((await syncNow(b, bob)).rooms.invite[roomId]));
    } finally {
      await b.close();
      await a.close().catch(() => {});
    }
  },
});

Deno.test({
  name: "membership across gemeng nodes: PUT /v2/invite refuses what is not a valid invite",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const roomId = await createRoom(a, alice, { room_version: "12", preset: "private_chat" });
      const roomState = await roomStatePdus(a.hs, roomId, alice.userId);
      const key = a.hs.signingKey;
      const invite = (target: string, membership = "invite") =>
        forgeEvent(a, roomId, {
          type: "m.room.member",
          stateKey: target,
          sender: alice.userId,
          content: { membership },
        }, { signingKey: key });
      const put = async (eventId: string, body: Record<string, unknown>) => {
        const res = await a.hs.federation.client.request(b.serverName, {
          method: "PUT",
          path: `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(eventId)}`,
          body,
        });
        return { status: res.status, errcode: (res.json as { errcode?: string })?.errcode };
      };
      const good = await invite(bob.userId);
      const cases: [string, string, Record<string, unknown>, number, string][] = [
        [
          "unknown room version",
          good.event.eventId,
          {
            room_version: "99",
            event: good.event.pdu,
            invite_room_state: roomState,
          },
          400,
          "M_INCOMPATIBLE_ROOM_VERSION",
        ],
        [
          "changed after signing",
          good.event.eventId,
          {
            room_version: "12",
            event: tampered(good, { content: { membership: "invite", extra: "x" } }),
            invite_room_state: roomState,
          },
          400,
          "M_INVALID_PARAM",
        ],
        [
          "event ID not the path's",
          "$other",
          {
            room_version: "12",
            event: good.event.pdu,
            invite_room_state: roomState,
          },
          400,
          "M_INVALID_PARAM",
        ],
        [
          "v12 without the create event",
          good.event.eventId,
          {
            room_version: "12",
            event: good.event.pdu,
            invite_room_state: roomState.filter((e) => e.type !== "m.room.create"),
          },
          400,
          "M_MISSING_PARAM",
        ],
      ];
      const join = await invite(bob.userId, "join");
      cases.push([
        "not an invite",
        join.event.eventId,
        {
          room_version: "12",
          event: join.event.pdu,
          invite_room_state: roomState,
        },
        400,
        "M_INVALID_PARAM",
      ]);
      const ghost = await invite(`@ghost:${b.serverName}`);
      cases.push([
        "unknown user",
        ghost.event.eventId,
        {
          room_version: "12",
          event: ghost.event.pdu,
          invite_room_state: roomState,
        },
        404,
        "M_NOT_FOUND",
      ]);
      const elsewhere = await invite(`@bob:${a.serverName}`);
      cases.push([
        "user of another server",
        elsewhere.event.eventId,
        {
          room_version: "12",
          event: elsewhere.event.pdu,
          invite_room_state: roomState,
        },
        400,
        "M_INVALID_PARAM",
      ]);
      for (const [what, eventId, body, status, errcode] of cases) {
        const res = await put(eventId, body);
        assertEquals([res.status, res.errcode], [status, errcode], what);
      }
      assertEquals(await membershipOn(b, roomId, bob.userId), null);
      assertEquals(await b.hs.rooms.room(roomId), null);

      // The valid one is countersigned and kept.
      const ok = await a.hs.federation.client.request(b.serverName, {
        method: "PUT",
        path: `/_matrix/federation/v2/invite/${enc(roomId)}/${enc(good.event.eventId)}`,
        body: { room_version: "12", event: good.event.pdu, invite_room_state: roomState },
      });
      assertEquals(ok.status, 200);
      // deno-lint-ignore no-explicit-any
      const signatures = (ok.json as any).event.signatures;
      assert(a.serverName in signatures && b.serverName in signatures);
      assertEquals(await membershipOn(b, roomId, bob.userId), "invite");
    } finally {
      await b.close();
      await a.close();
    }
  },
});
