import { assert, assertEquals } from "../unit/assert.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { text } from "../support/sync_support.ts";
import {
  createJoinedHistoryRoom,
  createRoom,
  enc,
  getEvent,
  roomPost,
  sendOk,
  V3,
  withRoomServer,
} from "./rooms_support.ts";

const V1 = "/_matrix/client/v1";

function edit(target: string, body: string): Record<string, unknown> {
  return {
    msgtype: "m.text",
    body: `* ${body}`,
    "m.new_content": { msgtype: "m.text", body },
    "m.relates_to": { rel_type: "m.replace", event_id: target },
  };
}

function inThread(root: string, body: string): Record<string, unknown> {
  return text(body, {
    "m.relates_to": {
      rel_type: "m.thread",
      event_id: root,
      is_falling_back: true,
      "m.in_reply_to": { event_id: root },
    },
  });
}

/** A room with alice and bob joined. */
async function twoUsers(t: TestServer) {
  const alice = await t.register("alice");
  const bob = await t.register("bob");
  const roomId = await createRoom(t, alice, { preset: "public_chat" });
  assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
  return { alice, bob, roomId };
}

Deno.test("relations: bundled aggregations on /event, /messages, /context and /sync", () =>
  withRoomServer(async (t) => {
    const { alice, bob, roomId } = await twoUsers(t);
    const original = await sendOk(t, alice, roomId, text("helo"));
    await sendOk(t, alice, roomId, edit(original, "hello"));
    const lastEdit = await sendOk(t, alice, roomId, edit(original, "hello!"));
    // An edit by another user is not an edit of alice's message.
    await sendOk(t, bob, roomId, edit(original, "hijacked"));
    const root = await sendOk(t, alice, roomId, text("thread root"));
    await sendOk(t, bob, roomId, inThread(root, "first reply"));
    const latest = await sendOk(t, bob, roomId, inThread(root, "second reply"));
    const ref = await sendOk(t, bob, roomId, {
      msgtype: "m.text",
      body: "see above",
      "m.relates_to": { rel_type: "m.reference", event_id: original },
    });
    await sendOk(t, bob, roomId, {
      "m.relates_to": { rel_type: "m.annotation", event_id: original, key: "👍" },
    }, { type: "m.reaction" });

    const check = (ev: Record<string, unknown>, _viewer: string) => {
      const rel = (ev.unsigned as Record<string, Record<string, unknown>>)?.["m.relations"];
      assert(rel, `no m.relations on ${ev.event_id}`);
      return rel as Record<string, Record<string, unknown>>;
    };

    // /event
    const origRes = await getEvent(t, bob, roomId, original);
    assertEquals(origRes.status, 200);
    let rel = check(origRes.body, bob.userId);
    assertEquals(rel["m.replace"].event_id, lastEdit);
    assertEquals(rel["m.reference"].chunk, [{ event_id: ref }]);
    // Content is never replaced by the server.
    assertEquals(origRes.body.content.body, "helo");
    assertEquals(rel["m.annotation"], undefined);

    const rootForBob = check((await getEvent(t, bob, roomId, root)).body, bob.userId);
    assertEquals(rootForBob["m.thread"].count, 2);
    assertEquals((rootForBob["m.thread"].latest_event as { event_id: string }).event_id, latest);
    assertEquals(rootForBob["m.thread"].current_user_participated, true);
    const carol = await t.register("carol");
    assertEquals((await roomPost(t, carol, roomId, "join")).status, 200);
    const rootForCarol = check((await getEvent(t, carol, roomId, root)).body, carol.userId);
    assertEquals(rootForCarol["m.thread"].current_user_participated, false);
    // The root's sender took part in the thread.
    const rootForAlice = check((await getEvent(t, alice, roomId, root)).body, alice.userId);
    assertEquals(rootForAlice["m.thread"].current_user_participated, true);

    // /messages
    const messages = await t.request(
      "GET",
      `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
      { token: bob.accessToken },
    );
    assertEquals(messages.status, 200);
    const byId = new Map<string, Record<string, unknown>>(
      messages.body.chunk.map((e: { event_id: string }) => [e.event_id, e]),
    );
    rel = check(byId.get(original)!, bob.userId);
    assertEquals(rel["m.replace"].event_id, lastEdit);
    assertEquals(check(byId.get(root)!, bob.userId)["m.thread"].count, 2);

    // /context
    const context = await t.request(
      "GET",
      `${V3}/rooms/${enc(roomId)}/context/${enc(root)}?limit=2`,
      { token: carol.accessToken },
    );
    assertEquals(context.status, 200);
    assertEquals(
      check(context.body.event, carol.userId)["m.thread"].current_user_participated,
      false,
    );

    // /sync
    const synced = await t.request(
      "GET",
      `${V3}/sync?filter=${enc(JSON.stringify({ room: { timeline: { limit: 50 } } }))}`,
      { token: bob.accessToken },
    );
    assertEquals(synced.status, 200);
    const timeline = synced.body.rooms.join[roomId].timeline.events as Record<string, unknown>[];
    const syncedOriginal = timeline.find((e) => e.event_id === original)!;
    assertEquals(check(syncedOriginal, bob.userId)["m.replace"].event_id, lastEdit);
    const syncedRoot = timeline.find((e) => e.event_id === root)!;
    assertEquals(check(syncedRoot, bob.userId)["m.thread"].count, 2);

    // An edit of another event type is not valid, nor is an edit of an edit.
    const notice = await sendOk(t, alice, roomId, { msgtype: "m.notice", body: "n" });
    await sendOk(t, alice, roomId, {
      "m.new_content": { body: "x" },
      "m.relates_to": { rel_type: "m.replace", event_id: notice },
    }, { type: "org.example.other" });
    assertEquals((await getEvent(t, bob, roomId, notice)).body.unsigned["m.relations"], undefined);
    await sendOk(t, alice, roomId, edit(lastEdit, "edit of an edit"));
    assertEquals(
      (await getEvent(t, bob, roomId, lastEdit)).body.unsigned["m.relations"],
      undefined,
    );

    // A redacted edit no longer counts: the previous edit becomes the latest.
    const redact = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/redact/${enc(lastEdit)}/r1`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(redact.status, 200);
    rel = check((await getEvent(t, bob, roomId, original)).body, bob.userId);
    assert(rel["m.replace"].event_id !== lastEdit);
  }));

function relations(
  t: TestServer,
  user: TestUser,
  roomId: string,
  path: string,
  query: Record<string, string> = {},
) {
  const qs = new URLSearchParams(query).toString();
  return t.request(
    "GET",
    `${V1}/rooms/${enc(roomId)}/relations/${path}${qs ? `?${qs}` : ""}`,
    { token: user.accessToken },
  );
}

Deno.test("relations: /relations filters by type, paginates both ways, recurses", () =>
  withRoomServer(async (t) => {
    const { alice, bob, roomId } = await twoUsers(t);
    const root = await sendOk(t, alice, roomId, text("root"));
    const replies: string[] = [];
    for (let i = 0; i < 5; i++) replies.push(await sendOk(t, bob, roomId, inThread(root, `r${i}`)));
    const reaction = await sendOk(t, alice, roomId, {
      "m.relates_to": { rel_type: "m.annotation", event_id: root, key: "🎉" },
    }, { type: "m.reaction" });
    // A reaction to a thread reply: an indirect relation of the root.
    const nested = await sendOk(t, alice, roomId, {
      "m.relates_to": { rel_type: "m.annotation", event_id: replies[0], key: "👀" },
    }, { type: "m.reaction" });

    const all = await relations(t, bob, roomId, enc(root));
    assertEquals(all.status, 200, JSON.stringify(all.body));
    assertEquals(all.body.chunk.map((e: { event_id: string }) => e.event_id), [
      reaction,
      ...[...replies].reverse(),
    ]);
    assertEquals(all.body.next_batch, undefined);
    assertEquals(all.body.recursion_depth, undefined);

    const threadOnly = await relations(t, bob, roomId, `${enc(root)}/m.thread`);
    assertEquals(threadOnly.body.chunk.length, 5);
    const reactions = await relations(t, bob, roomId, `${enc(root)}/m.annotation/m.reaction`);
    assertEquals(reactions.body.chunk.map((e: { event_id: string }) => e.event_id), [reaction]);
    assertEquals(reactions.body.chunk[0].content["m.relates_to"].key, "🎉");
    const noneOfType = await relations(t, bob, roomId, `${enc(root)}/m.thread/m.reaction`);
    assertEquals(noneOfType.body.chunk, []);

    // Backwards in pages of 2.
    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await relations(t, bob, roomId, `${enc(root)}/m.thread`, {
        limit: "2",
        ...(from ? { from } : {}),
      });
      assertEquals(res.status, 200);
      seen.push(...res.body.chunk.map((e: { event_id: string }) => e.event_id));
      from = res.body.next_batch;
      if (!from) break;
    }
    assertEquals(seen, [...replies].reverse());
    // Forwards.
    const forwards: string[] = [];
    from = undefined;
    for (let page = 0; page < 5; page++) {
      const res = await relations(t, bob, roomId, `${enc(root)}/m.thread`, {
        limit: "2",
        dir: "f",
        ...(from ? { from } : {}),
      });
      forwards.push(...res.body.chunk.map((e: { event_id: string }) => e.event_id));
      from = res.body.next_batch;
      if (!from) break;
    }
    assertEquals(forwards, replies);

    // recurse=true includes the reaction to a reply.
    const deep = await relations(t, bob, roomId, enc(root), { recurse: "true" });
    assertEquals(deep.status, 200);
    assert(deep.body.chunk.some((e: { event_id: string }) => e.event_id === nested));
    assertEquals(deep.body.recursion_depth, 2);
    const deepReactions = await relations(t, bob, roomId, `${enc(root)}/m.annotation`, {
      recurse: "true",
    });
    assertEquals(
      new Set(deepReactions.body.chunk.map((e: { event_id: string }) => e.event_id)),
      new Set([reaction, nested]),
    );

    // A redacted reply is no longer a child: gone from /relations and the thread's count.
    const redacted = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/redact/${enc(replies[4])}/r1`,
      { token: bob.accessToken, body: {} },
    );
    assertEquals(redacted.status, 200);
    const afterRedaction = await relations(t, bob, roomId, `${enc(root)}/m.thread`);
    assertEquals(
      afterRedaction.body.chunk.map((e: { event_id: string }) => e.event_id),
      replies.slice(0, 4).reverse(),
    );
    const rootEvent = await getEvent(t, bob, roomId, root);
    assertEquals(rootEvent.body.unsigned["m.relations"]["m.thread"].count, 4);
    assertEquals(
      rootEvent.body.unsigned["m.relations"]["m.thread"].latest_event.event_id,
      replies[3],
    );

    // Errors: unknown event 404, outsider 403, bad parameters 400.
    assertEquals((await relations(t, bob, roomId, enc("$nope"))).status, 404);
    const eve = await t.register("eve");
    assertEquals((await relations(t, eve, roomId, enc(root))).status, 403);
    assertEquals(
      (await relations(t, bob, roomId, enc(root), { dir: "x" })).body.errcode,
      "M_INVALID_PARAM",
    );
    assertEquals((await relations(t, bob, roomId, enc(root), { from: "zz" })).status, 400);
  }));

Deno.test("relations: history visibility hides children sent before a join", () =>
  withRoomServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const roomId = await createJoinedHistoryRoom(t, alice);
    const root = await sendOk(t, alice, roomId, text("root"));
    await sendOk(t, alice, roomId, inThread(root, "before bob"));
    assertEquals((await roomPost(t, bob, roomId, "join")).status, 200);
    const after = await sendOk(t, alice, roomId, inThread(root, "after bob"));
    // Bob may not see the root.
    assertEquals((await relations(t, bob, roomId, enc(root))).status, 404);
    const forAlice = await relations(t, alice, roomId, enc(root));
    assertEquals(forAlice.body.chunk.length, 2);
    const threads = await t.request("GET", `${V1}/rooms/${enc(roomId)}/threads`, {
      token: bob.accessToken,
    });
    assertEquals(threads.status, 200);
    assertEquals(threads.body.chunk, []);
    void after;
  }));

Deno.test("threads: /threads lists roots by latest activity, participated, pagination", () =>
  withRoomServer(async (t) => {
    const { alice, bob, roomId } = await twoUsers(t);
    const carol = await t.register("carol");
    assertEquals((await roomPost(t, carol, roomId, "join")).status, 200);
    const a = await sendOk(t, alice, roomId, text("thread A"));
    const b = await sendOk(t, carol, roomId, text("thread B"));
    const c = await sendOk(t, carol, roomId, text("thread C"));
    await sendOk(t, bob, roomId, inThread(a, "a1"));
    await sendOk(t, carol, roomId, inThread(b, "b1"));
    await sendOk(t, carol, roomId, inThread(c, "c1"));
    await sendOk(t, carol, roomId, inThread(a, "a2")); // A is now the most recent thread

    const threads = (query = "", user = bob) =>
      t.request("GET", `${V1}/rooms/${enc(roomId)}/threads${query}`, { token: user.accessToken });
    const all = await threads();
    assertEquals(all.status, 200, JSON.stringify(all.body));
    assertEquals(all.body.chunk.map((e: { event_id: string }) => e.event_id), [a, c, b]);
    assertEquals(all.body.chunk[0].unsigned["m.relations"]["m.thread"].count, 2);
    assertEquals(all.body.next_batch, undefined);

    const mine = await threads("?include=participated");
    assertEquals(mine.body.chunk.map((e: { event_id: string }) => e.event_id), [a]);
    const alices = await threads("?include=participated", alice);
    assertEquals(alices.body.chunk.map((e: { event_id: string }) => e.event_id), [a]);

    const page1 = await threads("?limit=2");
    assertEquals(page1.body.chunk.map((e: { event_id: string }) => e.event_id), [a, c]);
    assert(page1.body.next_batch);
    const page2 = await threads(`?limit=2&from=${enc(page1.body.next_batch)}`);
    assertEquals(page2.body.chunk.map((e: { event_id: string }) => e.event_id), [b]);
    assertEquals(page2.body.next_batch, undefined);

    assertEquals((await threads("?include=some")).status, 400);
    assertEquals((await threads("?from=bogus")).body.errcode, "M_INVALID_PARAM");
    assertEquals((await threads("?limit=0")).status, 400);
    const eve = await t.register("eve");
    assertEquals((await threads("", eve)).status, 403);
  }));

Deno.test("relations: a relation from another room is not counted", () =>
  withRoomServer(async (t) => {
    const { alice, bob, roomId } = await twoUsers(t);
    const root = await sendOk(t, alice, roomId, text("root"));
    const elsewhere = await createRoom(t, bob);
    await sendOk(t, bob, elsewhere, inThread(root, "from another room"));
    await sendOk(t, bob, elsewhere, edit(root, "not an edit"));
    const res = await getEvent(t, alice, roomId, root);
    assertEquals(res.body.unsigned["m.relations"], undefined);
    assertEquals((await relations(t, alice, roomId, enc(root))).body.chunk, []);
    const threads = await t.request("GET", `${V1}/rooms/${enc(roomId)}/threads`, {
      token: alice.accessToken,
    });
    assertEquals(threads.body.chunk, []);
  }));
