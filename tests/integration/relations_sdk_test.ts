/**
 * matrix-js-sdk as the client of `/relations`, `/threads`, `/search` and bundled
 * aggregations (its own request builders and response parsing, over real HTTP).
 */
import * as sdk from "matrix-js-sdk";
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { plainSdkClient } from "../support/sdk_client.ts";

// deno-lint-ignore no-explicit-any
const MESSAGE = "m.room.message" as any;
// deno-lint-ignore no-explicit-any
const REACTION = "m.reaction" as any;

Deno.test({
  name: "matrix-js-sdk: relations, threads list, search and bundled edits",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestServer();
    const aliceUser = await t.register("alice");
    const bobUser = await t.register("bob");
    const alice = plainSdkClient(t, aliceUser);
    const bob = plainSdkClient(t, bobUser);
    try {
      const { room_id: roomId } = await alice.createRoom({
        // deno-lint-ignore no-explicit-any
        preset: "public_chat" as any,
      });
      await bob.joinRoom(roomId);
      const { event_id: root } = await alice.sendEvent(roomId, MESSAGE, {
        msgtype: "m.text",
        body: "Shall we plant rhubarb?",
      });
      const { event_id: editId } = await alice.sendEvent(roomId, MESSAGE, {
        msgtype: "m.text",
        body: "* Shall we plant rhubarb and leeks?",
        "m.new_content": { msgtype: "m.text", body: "Shall we plant rhubarb and leeks?" },
        "m.relates_to": { rel_type: "m.replace", event_id: root },
      });
      const { event_id: reply } = await bob.sendEvent(roomId, MESSAGE, {
        msgtype: "m.text",
        body: "Yes, rhubarb by the wall",
        "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true },
      });
      const { event_id: reaction } = await bob.sendEvent(roomId, REACTION, {
        "m.relates_to": { rel_type: "m.annotation", event_id: root, key: "🌱" },
      });

      // /relations through the SDK.
      const thread = await bob.relations(roomId, root, "m.thread", null);
      assertEquals(thread.events.map((e) => e.getId()), [reply]);
      assertEquals(thread.originalEvent?.getId(), root);
      const reactions = await bob.relations(roomId, root, "m.annotation", "m.reaction");
      assertEquals(reactions.events.map((e) => e.getId()), [reaction]);

      // Bundled aggregations on the raw event.
      const raw = await bob.fetchRoomEvent(roomId, root);
      const relations = raw.unsigned?.["m.relations"] as Record<string, Record<string, unknown>>;
      assertEquals((relations["m.replace"] as { event_id: string }).event_id, editId);
      assertEquals(relations["m.thread"].count, 1);
      assertEquals(relations["m.thread"].current_user_participated, true);

      // /threads through the SDK, which finds stable thread support in /versions (as its
      // startClient does).
      const support = await bob.doesServerSupportThread();
      assertEquals(support.list, sdk.FeatureSupport.Stable);
      sdk.Thread.setServerSideListSupport(support.list);
      const threads = await bob.createThreadListMessagesRequest(roomId, null, 10);
      assertEquals(threads.chunk.map((e) => e.event_id), [root]);

      // /search through the SDK (order recent, context with profiles).
      const results = await bob.searchRoomEvents({ term: "rhubarb" });
      const found = results.results.map((r) => r.context.getEvent().getId());
      assertEquals(found, [reply, editId, root]);
      assert(results.highlights.includes("rhubarb"));
      assertEquals(results.count, 3);
    } finally {
      alice.stopClient();
      bob.stopClient();
      await t.close();
    }
  },
});
