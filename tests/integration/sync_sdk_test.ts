/**
 * The headline test: two matrix-js-sdk clients chat through a real server on loopback and see
 * each other's messages, edits, reactions, replies, threads, redactions, typing, receipts,
 * profile changes, leave, ban and a room upgrade, all through incremental long-poll syncs.
 */
import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { plainSdkClient, startSyncing } from "../support/sdk_client.ts";
import { until as untilWithin } from "../support/until.ts";

// deno-lint-ignore no-explicit-any
const MESSAGE = "m.room.message" as any;
// deno-lint-ignore no-explicit-any
const REACTION = "m.reaction" as any;

/** Waits until `check` returns a truthy value (client state is updated by its sync loop). */
function until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
  return untilWithin(what, check, { timeoutMs: 8000, intervalMs: 15 });
}

function bodies(c: sdk.MatrixClient, roomId: string): string[] {
  const room = c.getRoom(roomId);
  return (room?.getLiveTimeline().getEvents() ?? [])
    .filter((e) => e.getType() === "m.room.message")
    .map((e) => e.getContent().body as string);
}

function findEvent(c: sdk.MatrixClient, roomId: string, eventId: string) {
  return c.getRoom(roomId)?.findEventById(eventId);
}

Deno.test({
  name:
    "matrix-js-sdk: two users chat, edit, react, reply, thread, redact, paginate, leave, ban, upgrade",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // These clients have no crypto, so rooms are not encrypted by default.
    const t = await startTestServer({ config: { e2ee: { default_for: "off" } } });
    const clients: sdk.MatrixClient[] = [];
    try {
      const aliceUser = await t.register("alice");
      const bobUser = await t.register("bob");
      const alice = plainSdkClient(t, aliceUser);
      const bob = plainSdkClient(t, bobUser);
      clients.push(alice, bob);
      await Promise.all([
        startSyncing(alice, { initialSyncLimit: 20 }),
        startSyncing(bob, { initialSyncLimit: 20 }),
      ]);

      // Create, invite, join.
      const { room_id: roomId } = await alice.createRoom({
        name: "Garden",
        preset: sdk.Preset.PrivateChat,
      });
      await alice.invite(roomId, bobUser.userId);
      await until("bob's invite", () => bob.getRoom(roomId)?.getMyMembership() === "invite");
      await bob.joinRoom(roomId);
      await until(
        "bob joined (alice's view)",
        () => alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === "join",
      );

      // Messages, delivered through long-polling syncs within a short time.
      const sentAt = Date.now();
      const { event_id: hello } = await alice.sendTextMessage(roomId, "hello bob");
      await until("bob sees hello", () => bodies(bob, roomId).includes("hello bob"));
      assert(Date.now() - sentAt < 3000, "delivered promptly");
      await bob.sendTextMessage(roomId, "hi alice");
      await until("alice sees hi", () => bodies(alice, roomId).includes("hi alice"));

      // Edit: the server bundles the latest edit; content stays the original.
      await alice.sendEvent(roomId, MESSAGE, {
        msgtype: "m.text",
        body: "* hello bob!",
        "m.new_content": { msgtype: "m.text", body: "hello bob!" },
        "m.relates_to": { rel_type: "m.replace", event_id: hello },
      } as never);
      await until(
        "bob sees the edit",
        () => findEvent(bob, roomId, hello)?.getContent().body === "hello bob!",
      );

      // Reaction, reply, thread.
      const { event_id: reaction } = await bob.sendEvent(roomId, REACTION, {
        "m.relates_to": { rel_type: "m.annotation", event_id: hello, key: "👍" },
      } as never);
      await until("alice sees the reaction", () => findEvent(alice, roomId, reaction));
      const { event_id: reply } = await bob.sendEvent(roomId, MESSAGE, {
        msgtype: "m.text",
        body: "> hello bob!\n\nreplying",
        "m.relates_to": { "m.in_reply_to": { event_id: hello } },
      } as never);
      await until(
        "alice sees the reply",
        () => findEvent(alice, roomId, reply)?.replyEventId === hello,
      );
      const { event_id: threaded } = await alice.sendEvent(roomId, MESSAGE, {
        msgtype: "m.text",
        body: "in a thread",
        "m.relates_to": { rel_type: "m.thread", event_id: hello, is_falling_back: true },
      } as never);
      await until("bob sees the thread reply", () => findEvent(bob, roomId, threaded));

      // Redaction.
      const { event_id: oops } = await bob.sendTextMessage(roomId, "oops, wrong room");
      await until("alice sees oops", () => findEvent(alice, roomId, oops));
      await bob.redactEvent(roomId, oops);
      await until("alice sees the redaction", () => findEvent(alice, roomId, oops)?.isRedacted());

      // Typing and receipts.
      await alice.sendTyping(roomId, true, 10_000);
      await until(
        "bob sees alice typing",
        () => bob.getRoom(roomId)?.getMember(aliceUser.userId)?.typing,
      );
      await alice.sendTyping(roomId, false, 0);
      await until(
        "typing stops",
        () => bob.getRoom(roomId)?.getMember(aliceUser.userId)?.typing === false,
      );
      const { event_id: readMe } = await alice.sendTextMessage(roomId, "read me");
      const readMeEvent = await until("bob sees read me", () => findEvent(bob, roomId, readMe));
      await bob.sendReadReceipt(readMeEvent);
      await until(
        "alice sees bob's receipt",
        () => alice.getRoom(roomId)?.getEventReadUpTo(bobUser.userId) === readMe,
      );
      assertEquals(
        alice.getRoom(roomId)?.getReceiptsForEvent(findEvent(alice, roomId, readMe)!)
          .map((r) => r.userId),
        [bobUser.userId],
      );

      // Profile change reaches the member list.
      await bob.setDisplayName("Bobby");
      await until(
        "alice sees Bobby",
        () => alice.getRoom(roomId)?.getMember(bobUser.userId)?.name === "Bobby",
      );

      // Scrollback: a fresh client with a short initial timeline paginates back to the start.
      for (let i = 0; i < 25; i++) await alice.sendTextMessage(roomId, `filler ${i}`);
      await until("bob sees the fillers", () => bodies(bob, roomId).includes("filler 24"));
      const bob2User = await t.login("bob", bobUser.password);
      const bob2 = plainSdkClient(t, bob2User);
      clients.push(bob2);
      await startSyncing(bob2, { initialSyncLimit: 5 });
      const room2 = bob2.getRoom(roomId)!;
      assert(!bodies(bob2, roomId).includes("hi alice"));
      for (let i = 0; i < 10 && !bodies(bob2, roomId).includes("hi alice"); i++) {
        await bob2.scrollback(room2, 10);
      }
      assert(bodies(bob2, roomId).includes("hi alice"), "scrollback reached the start");
      bob2.stopClient();

      // Room upgrade: both follow the tombstone into the new room.
      const upgraded = await alice.http.authedRequest<{ replacement_room: string }>(
        sdk.Method.Post,
        `/rooms/${encodeURIComponent(roomId)}/upgrade`,
        undefined,
        { new_version: "12" },
      );
      const newRoom = upgraded.replacement_room;
      await until(
        "bob sees the tombstone",
        () =>
          bob.getRoom(roomId)?.currentState.getStateEvents("m.room.tombstone", "")?.getContent()
            .replacement_room === newRoom,
      );
      // The room is invite-only, so alice invites bob along, as clients do after an upgrade.
      await alice.invite(newRoom, bobUser.userId);
      await until(
        "bob's invite to the new room",
        () => bob.getRoom(newRoom)?.getMyMembership() === "invite",
      );
      await bob.joinRoom(newRoom);
      await bob.sendTextMessage(newRoom, "moved in");
      await until(
        "alice sees bob in the new room",
        () => bodies(alice, newRoom).includes("moved in"),
      );

      // Leave, then get banned.
      await bob.leave(newRoom);
      await until(
        "alice sees bob leave",
        () => alice.getRoom(newRoom)?.getMember(bobUser.userId)?.membership === "leave",
      );
      await alice.ban(roomId, bobUser.userId, "testing bans");
      await until("bob sees the ban", () => bob.getRoom(roomId)?.getMyMembership() === "ban");
      // Alice's own sync may deliver the ban a moment after Bob's.
      await until(
        "alice sees the ban",
        () => alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === "ban",
      );
    } finally {
      for (const c of clients) c.stopClient();
      await t.close();
    }
  },
});
