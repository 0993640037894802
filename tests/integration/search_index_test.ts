/**
 * The search index is written behind the events (server/search/indexer.ts): postings wait in
 * memory, then go to KV in blocks. A search must find a message as soon as its send returns,
 * a redaction must take its target's text out of a block, and postings lost with the process
 * are written again at start-up.
 */
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { isSearchBlock, type SearchBlock, type SearchPosting } from "../../server/search/index.ts";
import { SEARCH_MARKER_KEY } from "../../server/search/indexer.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";

async function sendOk(t: TestServer, user: TestUser, roomId: string, body: string) {
  const res = await send(t, user, roomId, { msgtype: "m.text", body });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

async function found(t: TestServer, user: TestUser, term: string): Promise<string[]> {
  const res = await t.request("POST", `${V3}/search`, {
    token: user.accessToken,
    body: { search_categories: { room_events: { search_term: term, order_by: "recent" } } },
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.search_categories.room_events.results.map(
    (r: { result: { event_id: string } }) => r.result.event_id,
  );
}

/** The positions indexed under `term` in KV (blocks and single postings). */
async function storedPositions(kv: Deno.Kv, roomId: string, term: string): Promise<number[]> {
  const out: number[] = [];
  for await (
    const entry of kv.list<SearchPosting | SearchBlock>({ prefix: ["search", roomId, term] })
  ) {
    if (isSearchBlock(entry.value)) out.push(...entry.value.postings.map(([pos]) => pos));
    else out.push(entry.key[3] as number);
  }
  return out;
}

async function marker(kv: Deno.Kv): Promise<number> {
  return Number((await kv.get<Deno.KvU64>(SEARCH_MARKER_KEY)).value?.value ?? 0n);
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("search index: found right after the send, written in blocks, redaction rewrites the block", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.register("alice");
    const roomId = await createRoom(t, alice);
    const ids = await Promise.all(
      ["apple pie", "apple tart", "apple juice", "pear"].map((body) =>
        sendOk(t, alice, roomId, body)
      ),
    );
    // Searchable before the postings reached KV.
    assertEquals(new Set(await found(t, alice, "apple")), new Set(ids.slice(0, 3)));
    assertEquals(await found(t, alice, "tart"), [ids[1]]);

    // Written a little later, the three "apple" postings in one block.
    await waitFor(async () => (await storedPositions(t.hs.kv, roomId, "apple")).length === 3);
    const blocks = await Array.fromAsync(
      t.hs.kv.list<SearchBlock>({ prefix: ["search", roomId, "apple"] }),
    );
    assertEquals(blocks.length, 1);
    assert(isSearchBlock(blocks[0].value));
    const positions = blocks[0].value.postings.map(([pos]) => pos);
    assertEquals(positions, [...positions].sort((a, b) => a - b));
    assert((await marker(t.hs.kv)) >= positions[2]);

    // Redacting the middle one rewrites the block without it; the others stay findable.
    const middle = (await t.hs.rooms.event(ids[1]))!.meta.pos!;
    const redact = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/redact/${enc(ids[1])}/r1`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(redact.status, 200);
    assertEquals(new Set(await found(t, alice, "apple")), new Set([ids[0], ids[2]]));
    assertEquals(await found(t, alice, "tart"), []);
    assertEquals(
      (await storedPositions(t.hs.kv, roomId, "apple")).includes(middle),
      false,
    );
    assertEquals(await storedPositions(t.hs.kv, roomId, "tart"), []);

    // A redaction of an event whose postings are still in memory waits for them, then
    // removes them.
    const fresh = await sendOk(t, alice, roomId, "apple crumble");
    const gone = await t.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/redact/${enc(fresh)}/r2`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(gone.status, 200);
    assertEquals(await found(t, alice, "crumble"), []);
    assertEquals(await storedPositions(t.hs.kv, roomId, "crumble"), []);
  } finally {
    await t.close();
  }
});

Deno.test("search index: postings lost before their write are indexed again at start-up", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const first = await startTestServer({ kv });
    const alice = await first.register("alice");
    const roomId = await createRoom(first, alice);
    const kept = await sendOk(first, alice, roomId, "quince early");
    const keptPos = (await first.hs.rooms.event(kept))!.meta.pos!;
    await waitFor(async () => (await marker(kv)) >= keptPos);
    const before = await marker(kv);
    const lost = [
      await sendOk(first, alice, roomId, "quince late"),
      await sendOk(first, alice, roomId, "medlar late"),
    ];
    const redacted = await sendOk(first, alice, roomId, "quince redacted");
    const redaction = await first.request(
      "PUT",
      `${V3}/rooms/${enc(roomId)}/redact/${enc(redacted)}/r1`,
      { token: alice.accessToken, body: {} },
    );
    assertEquals(redaction.status, 200);
    await first.close();
    // As if the process had died before writing the postings of the events after `kept`: no
    // postings above the marker, and the marker where it was.
    for await (const entry of kv.list<SearchPosting | SearchBlock>({ prefix: ["search"] })) {
      if (!isSearchBlock(entry.value)) continue;
      const postings = entry.value.postings.filter(([pos]) => pos <= before);
      if (postings.length === 0) await kv.delete(entry.key);
      else await kv.set(entry.key, { postings });
    }
    await kv.set(SEARCH_MARKER_KEY, new Deno.KvU64(BigInt(before)));
    assertEquals(await storedPositions(kv, roomId, "late"), []);

    const second = await startTestServer({ kv });
    try {
      const again = await second.login("alice", alice.password);
      assertEquals(new Set(await found(second, again, "quince")), new Set([lost[0], kept]));
      assertEquals(await found(second, again, "medlar"), [lost[1]]);
      // The redacted event stays out of the index.
      assertEquals(await found(second, again, "redacted"), []);
      assertEquals(await storedPositions(kv, roomId, "redacted"), []);
      assert((await marker(kv)) > before);
    } finally {
      await second.close();
    }
  } finally {
    kv.close();
  }
});
