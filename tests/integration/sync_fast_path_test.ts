/**
 * `GET /v3/sync` is answered before hono (server/client/sync_fast_path.ts); the legacy `r0`
 * path still goes through hono's route. Both must give the same answers, headers and errors.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { makeRoom, send, text } from "../support/sync_support.ts";

const FAST = "/_matrix/client/v3/sync";
const HONO = "/_matrix/client/r0/sync";

Deno.test("sync fast path: the same answers, headers and errors as the hono route", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.register("alice");
    const roomId = await makeRoom(t, alice);
    await send(t, roomId, alice, text("hello"));
    const auth = { Authorization: `Bearer ${alice.accessToken}` };
    const get = async (path: string, query: string, headers: Record<string, string> = auth) => {
      const res = await fetch(`${t.baseUrl}${path}?${query}`, { headers });
      return { status: res.status, headers: res.headers, body: await res.json() };
    };
    const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 1 } } }));
    const cases: [string, string, Record<string, string>?][] = [
      ["an initial sync with a filter", `filter=${filter}&timeout=0`],
      ["a filter hono decodes leniently", `filter=%7B%zz&timeout=0`],
      ["a bad timeout", "timeout=soon"],
      ["a bad set_presence", "set_presence=away"],
      ["no token", "timeout=0", {}],
      ["an unknown token", "timeout=0", { Authorization: "Bearer nope" }],
      ["a malformed Authorization header", "timeout=0", { Authorization: "Basic x" }],
    ];
    for (const [what, query, headers] of cases) {
      const fast = await get(FAST, query, headers);
      const hono = await get(HONO, query, headers);
      assertEquals(fast.status, hono.status, what);
      for (const name of ["content-type", "access-control-allow-origin"]) {
        assertEquals(fast.headers.get(name), hono.headers.get(name), `${what}: ${name}`);
      }
      if (fast.status === 200) {
        // `unsigned.age` differs by the time between the two requests.
        const timeline = (body: { rooms: { join: Record<string, { timeline: unknown }> } }) =>
          JSON.parse(
            JSON.stringify(
              body.rooms.join[roomId].timeline,
              (key, value) => key === "age" ? undefined : value,
            ),
          );
        assertEquals(timeline(fast.body), timeline(hono.body), what);
      } else {
        assertEquals(fast.body, hono.body, what);
      }
    }
    const ok = await get(FAST, `filter=${filter}&timeout=0`);
    assertEquals(ok.headers.get("access-control-allow-origin"), "*");
    const events = ok.body.rooms.join[roomId].timeline.events;
    assertEquals(events.at(-1).content.body, "hello");
    assertEquals((await get(FAST, "timeout=0", {})).body.errcode, "M_MISSING_TOKEN");

    // Other methods still reach hono (405), and an incremental long-poll wakes as before.
    const post = await fetch(`${t.baseUrl}${FAST}`, { method: "POST", headers: auth });
    await post.body?.cancel();
    assertEquals(post.status, 405);
    const since = ok.body.next_batch;
    const waiting = get(FAST, `since=${encodeURIComponent(since)}&timeout=10000`);
    while (t.hs.notifier.waiterCount === 0) await new Promise((r) => setTimeout(r, 10));
    await send(t, roomId, alice, text("later"));
    const woke = await waiting;
    assert(woke.body.next_batch !== since);
    assertEquals(woke.body.rooms.join[roomId].timeline.events.at(-1).content.body, "later");
  } finally {
    await t.close();
  }
});
