/**
 * Typing, read receipts and presence between two gemeng nodes sharing a room: each side's
 * typing and receipts (threaded ones too) reach the other side's `/sync`, presence reaches the
 * servers sharing a room with the user and no other.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import {
  createRoom,
  join,
  joined,
  type Peer,
  room,
  send,
  syncNow,
  text,
  type User,
} from "./support/client.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The ephemeral events of a room in a user's initial sync. */
async function ephemeral(peer: Peer, user: User, roomId: string): Promise<Json[]> {
  const res = await peer.request("GET", "/_matrix/client/v3/sync?timeout=0", {
    token: user.accessToken,
  });
  if (res.status !== 200) return [];
  return res.body.rooms?.join?.[roomId]?.ephemeral?.events ?? [];
}

async function typingUsers(peer: Peer, user: User, roomId: string): Promise<string[]> {
  const typing = (await ephemeral(peer, user, roomId)).find((e) => e.type === "m.typing");
  return typing?.content.user_ids ?? [];
}

/** The receipt data of `who` on `eventId` in a user's sync, or undefined. */
async function receiptOf(
  peer: Peer,
  user: User,
  where: { roomId: string; eventId: string; who: string },
): Promise<Json | undefined> {
  for (const e of await ephemeral(peer, user, where.roomId)) {
    if (e.type !== "m.receipt") continue;
    const data = e.content[where.eventId]?.["m.read"]?.[where.who];
    if (data) return data;
  }
  return undefined;
}

async function setTyping(peer: Peer, user: User, roomId: string, typing: boolean) {
  const res = await peer.request(
    "PUT",
    `${room(roomId)}/typing/${encodeURIComponent(user.userId)}`,
    { token: user.accessToken, body: typing ? { typing, timeout: 20_000 } : { typing } },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

async function receipt(
  peer: Peer,
  user: User,
  where: { roomId: string; eventId: string; type?: string; threadId?: string },
) {
  const res = await peer.request(
    "POST",
    `${room(where.roomId)}/receipt/${where.type ?? "m.read"}/${encodeURIComponent(where.eventId)}`,
    {
      token: user.accessToken,
      body: where.threadId === undefined ? {} : { thread_id: where.threadId },
    },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

async function setPresence(peer: Peer, user: User, presence: string, statusMsg: string) {
  const res = await peer.request(
    "PUT",
    `/_matrix/client/v3/presence/${encodeURIComponent(user.userId)}/status`,
    { token: user.accessToken, body: { presence, status_msg: statusMsg } },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

/** Two nodes, alice on A hosting a room bob on B joined. */
async function sharedRoom(): Promise<{
  a: GemengNode;
  b: GemengNode;
  alice: User;
  bob: User;
  roomId: string;
}> {
  const a = await startGemengNode();
  const b = await startGemengNode();
  const alice = await a.register("alice");
  const bob = await b.register("bob");
  const roomId = await createRoom(a, alice, { preset: "public_chat", room_version: "11" });
  await join(b, bob, roomId, a.serverName);
  await eventually(() => joined(a, alice, roomId, bob.userId), "bob's join on A");
  return { a, b, alice, bob, roomId };
}

Deno.test({
  name: "gemeng to gemeng: typing both ways shows in the other side's sync, and stops",
  ...skipUnless(CA_MISSING),
  async fn() {
    const { a, b, alice, bob, roomId } = await sharedRoom();
    try {
      await setTyping(a, alice, roomId, true);
      await eventually(
        async () => (await typingUsers(b, bob, roomId)).includes(alice.userId),
        "alice typing on B",
      );
      await setTyping(b, bob, roomId, true);
      await eventually(
        async () => (await typingUsers(a, alice, roomId)).includes(bob.userId),
        "bob typing on A",
      );
      await setTyping(a, alice, roomId, false);
      await eventually(
        async () => !(await typingUsers(b, bob, roomId)).includes(alice.userId),
        "alice's stop on B",
      );
      assert((await typingUsers(b, bob, roomId)).includes(bob.userId));
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "gemeng to gemeng: read receipts both ways, threaded too; private ones stay home",
  ...skipUnless(CA_MISSING),
  async fn() {
    const { a, b, alice, bob, roomId } = await sharedRoom();
    try {
      const first = await send(a, alice, roomId, text("first"));
      await eventually(
        () =>
          b.request("GET", `${room(roomId)}/event/${encodeURIComponent(first)}`, {
            token: bob.accessToken,
          }).then((r) => r.status === 200),
        "the message on B",
      );

      // B -> A, unthreaded.
      await receipt(b, bob, { roomId, eventId: first });
      const onA = await eventually(
        () => receiptOf(a, alice, { roomId, eventId: first, who: bob.userId }),
        "bob's receipt on A",
      );
      assertEquals(typeof onA.ts, "number");
      assertEquals(onA.thread_id, undefined);

      // A -> B, threaded: a reply in a thread rooted at `first`.
      const reply = await send(a, alice, roomId, {
        ...text("in the thread"),
        "m.relates_to": { rel_type: "m.thread", event_id: first },
      });
      await eventually(
        () =>
          b.request("GET", `${room(roomId)}/event/${encodeURIComponent(reply)}`, {
            token: bob.accessToken,
          }).then((r) => r.status === 200),
        "the reply on B",
      );
      await receipt(a, alice, { roomId, eventId: reply, threadId: first });
      const threaded = await eventually(
        () => receiptOf(b, bob, { roomId, eventId: reply, who: alice.userId }),
        "alice's threaded receipt on B",
      );
      assertEquals(threaded.thread_id, first);

      // A private receipt is never sent: after a public one that follows it arrives, B still
      // has nothing private from alice.
      const second = await send(a, alice, roomId, text("second"));
      const third = await send(a, alice, roomId, text("third"));
      await receipt(a, alice, { roomId, eventId: second, type: "m.read.private" });
      await receipt(a, alice, { roomId, eventId: third, threadId: "main" });
      await eventually(
        () => receiptOf(b, bob, { roomId, eventId: third, who: alice.userId }),
        "alice's receipt on the main timeline on B",
      );
      const onB = await ephemeral(b, bob, roomId);
      assert(
        !JSON.stringify(onB).includes("m.read.private"),
        `a private receipt reached B: ${JSON.stringify(onB)}`,
      );
      const stored = await b.hs.kv.get(["receipt", roomId, alice.userId, "m.read.private", ""]);
      assertEquals(stored.value, null);
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "gemeng to gemeng: presence reaches servers sharing a room with the user, no other",
  ...skipUnless(CA_MISSING),
  async fn() {
    const { a, b, alice, bob } = await sharedRoom();
    try {
      // carol (on A) shares no room with anyone on B.
      const carol = await a.register("carol");
      await setPresence(a, carol, "online", "carol is here");
      await setPresence(a, alice, "online", "at the commune");

      const seen = await eventually(async () => {
        const res = await b.request(
          "GET",
          `/_matrix/client/v3/presence/${encodeURIComponent(alice.userId)}/status`,
          { token: bob.accessToken },
        );
        return res.status === 200 && res.body.status_msg === "at the commune" && res.body;
      }, "alice's presence on B");
      assertEquals(seen.presence, "online");
      assertEquals(typeof seen.last_active_ago, "number");

      // bob's presence reaches A the other way.
      await setPresence(b, bob, "unavailable", "in a meeting");
      await eventually(async () => {
        const res = await a.request(
          "GET",
          `/_matrix/client/v3/presence/${encodeURIComponent(bob.userId)}/status`,
          { token: alice.accessToken },
        );
        return res.status === 200 && res.body.presence === "unavailable" &&
          res.body.status_msg === "in a meeting";
      }, "bob's presence on A");

      // alice's presence reached B's store; carol's, sent before it, never did (nor was
      // queued for B).
      assertEquals((await b.hs.kv.get(["presence", carol.userId])).value, null);
      assert((await b.hs.kv.get(["presence", alice.userId])).value !== null);
      for await (const entry of a.hs.kv.list<string>({ prefix: ["fed_edu", b.serverName] })) {
        assert(!entry.value.includes(carol.userId), "carol's presence queued for B");
      }
      // The same stays true after another change of carol's.
      await setPresence(a, carol, "unavailable", "carol is away");
      await setPresence(a, alice, "unavailable", "lunch");
      await eventually(async () => {
        const res = await b.request(
          "GET",
          `/_matrix/client/v3/presence/${encodeURIComponent(alice.userId)}/status`,
          { token: bob.accessToken },
        );
        return res.status === 200 && res.body.status_msg === "lunch";
      }, "alice's second presence on B");
      assertEquals((await b.hs.kv.get(["presence", carol.userId])).value, null);
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "gemeng to gemeng: a remote user's presence shows in the sync of users sharing a room",
  ignore: CA_MISSING !== null,
  async fn() {
    const { a, b, alice, bob } = await sharedRoom();
    try {
      const since = (await syncNow(b, bob)).next_batch as string;
      await setPresence(a, alice, "online", "at the commune");
      const hasAlice = (body: Json) =>
        (body.presence?.events ?? []).some((e: Json) =>
          e.sender === alice.userId && e.content.status_msg === "at the commune"
        );
      // An incremental sync (woken by the change) and an initial one both carry it.
      const incremental = await b.request(
        "GET",
        `/_matrix/client/v3/sync?timeout=10000&since=${encodeURIComponent(since)}`,
        { token: bob.accessToken },
      );
      assertEquals(incremental.status, 200);
      await eventually(async () => {
        if (hasAlice(incremental.body)) return true;
        const next = await b.request(
          "GET",
          `/_matrix/client/v3/sync?timeout=0&since=${encodeURIComponent(since)}`,
          { token: bob.accessToken },
        );
        return hasAlice(next.body);
      }, "alice's presence in bob's incremental sync");
      assert(hasAlice(await syncNow(b, bob)), "alice's presence in bob's initial sync");
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "gemeng: inbound typing, receipts and presence from a server are checked",
  ...skipUnless(CA_MISSING),
  async fn() {
    const { a, b, alice, bob, roomId } = await sharedRoom();
    try {
      const eventId = await send(a, alice, roomId, text("hello"));
      const origin = b.serverName;
      const stranger = `@mallory:${origin}`;
      const typingEdu = (userId: string, extra: Json = {}) => ({
        edu_type: "m.typing",
        content: { room_id: roomId, user_id: userId, typing: true, ...extra },
      });
      const receiptEdu = (userId: string, type = "m.read", ids: unknown = [eventId]) => ({
        edu_type: "m.receipt",
        content: { [roomId]: { [type]: { [userId]: { event_ids: ids, data: { ts: 1 } } } } },
      });
      const presenceEdu = (userId: string, presence = "online") => ({
        edu_type: "m.presence",
        content: { push: [{ user_id: userId, presence, last_active_ago: 5 }] },
      });

      // Refused: a user of another server than the origin, a user not in the room, bad shapes.
      await a.hs.edus.dispatch(origin, [
        typingEdu(alice.userId),
        typingEdu(stranger),
        { edu_type: "m.typing", content: { room_id: roomId, user_id: bob.userId, typing: "y" } },
        receiptEdu(alice.userId),
        receiptEdu(stranger),
        receiptEdu(bob.userId, "m.read.private"),
        receiptEdu(bob.userId, "m.read", ["$unknown:example.org"]),
        receiptEdu(bob.userId, "m.read", "not a list"),
        { edu_type: "m.receipt", content: { [roomId]: ["nonsense"] } },
        presenceEdu(alice.userId, "unavailable"),
        presenceEdu(stranger),
        presenceEdu(bob.userId, "dancing"),
        { edu_type: "m.presence", content: { push: "nonsense" } },
      ]);
      await a.hs.edus.dispatch("other.example", [typingEdu(bob.userId), presenceEdu(bob.userId)]);
      assertEquals(await typingUsers(a, alice, roomId), []);
      const receipts = await Array.fromAsync(a.hs.kv.list({ prefix: ["receipt", roomId] }));
      assertEquals(receipts.filter((r) => r.key[2] !== alice.userId), []);
      assertEquals((await a.hs.kv.get(["presence", stranger])).value, null);
      assertEquals((await a.hs.kv.get(["presence", bob.userId])).value, null);
      const aliceOnA = await a.hs.kv.get<{ presence: string }>(["presence", alice.userId]);
      assert(aliceOnA.value?.presence !== "unavailable", "B set alice's presence");

      // Accepted: bob's own typing (with a short timeout, which expires), receipt, presence.
      await a.hs.edus.dispatch(origin, [
        typingEdu(bob.userId, { timeout: 300 }),
        receiptEdu(bob.userId),
        presenceEdu(bob.userId),
      ]);
      assertEquals(await typingUsers(a, alice, roomId), [bob.userId]);
      assert(await receiptOf(a, alice, { roomId, eventId, who: bob.userId }));
      assert((await a.hs.kv.get(["presence", bob.userId])).value !== null);
      await eventually(
        async () => (await typingUsers(a, alice, roomId)).length === 0,
        "bob's typing to expire",
      );
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "gemeng to gemeng: a server joining a room hears the presence of the members there",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      await setPresence(a, alice, "unavailable", "set before bob came");
      await setPresence(b, bob, "online", "bob, before joining");
      const roomId = await createRoom(a, alice, { preset: "public_chat", room_version: "11" });
      await join(b, bob, roomId, a.serverName);
      await eventually(async () => {
        const res = await b.request(
          "GET",
          `/_matrix/client/v3/presence/${encodeURIComponent(alice.userId)}/status`,
          { token: bob.accessToken },
        );
        return res.status === 200 && res.body.status_msg === "set before bob came";
      }, "alice's earlier presence on B");
      await eventually(async () => {
        const res = await a.request(
          "GET",
          `/_matrix/client/v3/presence/${encodeURIComponent(bob.userId)}/status`,
          { token: alice.accessToken },
        );
        return res.status === 200 && res.body.status_msg === "bob, before joining";
      }, "bob's earlier presence on A");
    } finally {
      await b.close();
      await a.close();
    }
  },
});
