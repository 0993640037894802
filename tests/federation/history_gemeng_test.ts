/**
 * History and the directory across gemeng nodes on loopback TLS: a user of node B joins a
 * room of node A by its alias (federation directory query), paginates `/messages` backwards
 * past its join through A's 60 earlier messages (backfilled from A), and forwards and
 * backwards with the tokens across the boundary between backfilled and received events; B's
 * user lists A's public rooms (`/publicRooms?server=A`, over federation).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { eventually } from "./support/rooms.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

const V3 = "/_matrix/client/v3";
const room = (id: string) => `${V3}/rooms/${encodeURIComponent(id)}`;

// deno-lint-ignore no-explicit-any
type Event = any;

/** Pages `/messages` from `from` in `dir` to the end; the pages' events and end tokens. */
async function paginate(
  node: GemengNode,
  user: NodeUser,
  roomId: string,
  options: { dir: "b" | "f"; from?: string; limit: number; maxPages?: number },
): Promise<{ events: Event[]; ends: string[] }> {
  const events: Event[] = [];
  const ends: string[] = [];
  let from = options.from;
  for (let page = 0; page < (options.maxPages ?? 50); page++) {
    const query = new URLSearchParams({ dir: options.dir, limit: String(options.limit) });
    if (from !== undefined) query.set("from", from);
    const res = await node.request("GET", `${room(roomId)}/messages?${query}`, {
      token: user.accessToken,
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    events.push(...res.body.chunk);
    // Backwards, the last page has no end; forwards, an empty page says nothing is newer.
    if (res.body.end === undefined || res.body.chunk.length === 0) return { events, ends };
    ends.push(res.body.end);
    from = res.body.end;
  }
  return { events, ends };
}

const bodies = (events: Event[]) =>
  events.filter((e) => e.type === "m.room.message").map((e) => e.content.body as string);

Deno.test({
  name: "history across gemeng nodes: join by alias, backfill on /messages, remote publicRooms",
  ...skipUnless(CA_MISSING),
  async fn(t) {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const created = await a.request("POST", `${V3}/createRoom`, {
        token: alice.accessToken,
        body: {
          preset: "public_chat",
          visibility: "public",
          name: "Archive communale",
          room_alias_name: "history",
        },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const roomId = created.body.room_id as string;
      const alias = `#history:${a.serverName}`;
      const sent: string[] = [];
      for (let i = 1; i <= 60; i++) sent.push(`m${i}`);
      for (const body of sent) await sendText(a, alice, roomId, body);

      await t.step("the alias resolves over federation, and B joins by it", async () => {
        const resolved = await b.request(
          "GET",
          `${V3}/directory/room/${encodeURIComponent(alias)}`,
        );
        assertEquals(resolved.status, 200, JSON.stringify(resolved.body));
        assertEquals(resolved.body.room_id, roomId);
        assertEquals(resolved.body.servers[0], a.serverName);
        const unknown = await b.request(
          "GET",
          `${V3}/directory/room/${encodeURIComponent(`#nothing:${a.serverName}`)}`,
        );
        assertEquals(unknown.status, 404);
        assertEquals(unknown.body.errcode, "M_NOT_FOUND");

        const joined = await b.request("POST", `${V3}/join/${encodeURIComponent(alias)}`, {
          token: bob.accessToken,
          body: {},
        });
        assertEquals(joined.status, 200, JSON.stringify(joined.body));
        assertEquals(joined.body.room_id, roomId);
        // A now names both servers, itself first.
        await eventually(async () => {
          const again = await b.request(
            "GET",
            `${V3}/directory/room/${encodeURIComponent(alias)}`,
          );
          return again.body.servers?.includes(b.serverName);
        }, "B among the room's servers");
      });

      let backwards: { events: Event[]; ends: string[] } = { events: [], ends: [] };
      await t.step("paginating back on B fetches A's history, in order", async () => {
        backwards = await paginate(b, bob, roomId, { dir: "b", limit: 10 });
        const history = backwards.events.slice().reverse();
        assertEquals(bodies(history), sent);
        assertEquals(history[0].type, "m.room.create");
        assertEquals(history.at(-1).type, "m.room.member");
        assertEquals(history.at(-1).state_key, bob.userId);
        const ids = history.map((e: Event) => e.event_id);
        assertEquals(new Set(ids).size, ids.length, "no event twice");
        // A second pass reads what is stored now, the same.
        const again = await paginate(b, bob, roomId, { dir: "b", limit: 25 });
        assertEquals(again.events.map((e) => e.event_id), backwards.events.map((e) => e.event_id));
      });

      await t.step("tokens work forwards and backwards across the boundary", async () => {
        // Three pages back: 30 events, the newest of them received, the older backfilled.
        const token = backwards.ends[2];
        const newest30 = backwards.events.slice(0, 30).map((e) => e.event_id);
        const forwards = await paginate(b, bob, roomId, { dir: "f", from: token, limit: 7 });
        assertEquals(forwards.events.map((e) => e.event_id), newest30.slice().reverse());
        const bounded = await b.request(
          "GET",
          `${room(roomId)}/messages?dir=b&limit=100&to=${encodeURIComponent(token)}`,
          { token: bob.accessToken },
        );
        assertEquals(bounded.status, 200);
        assertEquals(bounded.body.chunk.map((e: Event) => e.event_id), newest30);
        // Backwards again from a backfilled position.
        const older = await paginate(b, bob, roomId, { dir: "b", from: token, limit: 10 });
        assertEquals(
          older.events.map((e) => e.event_id),
          backwards.events.slice(30).map((e) => e.event_id),
        );
        // A message after the join follows on from the backfilled history.
        await sendText(a, alice, roomId, "m61");
        await eventually(async () => {
          const next = await paginate(b, bob, roomId, { dir: "f", from: token, limit: 50 });
          return bodies(next.events).at(-1) === "m61";
        }, "m61 on B");
        // Context and lazily loaded members work on backfilled events too.
        const m30 = backwards.events.find((e) => e.content?.body === "m30");
        const context = await b.request(
          "GET",
          `${room(roomId)}/context/${encodeURIComponent(m30.event_id)}?limit=10`,
          { token: bob.accessToken },
        );
        assertEquals(context.status, 200, JSON.stringify(context.body));
        assertEquals(bodies(context.body.events_before), ["m29", "m28", "m27", "m26", "m25"]);
        assertEquals(bodies(context.body.events_after), ["m31", "m32", "m33", "m34", "m35"]);
        const filter = encodeURIComponent(JSON.stringify({ lazy_load_members: true }));
        const lazy = await b.request(
          "GET",
          `${room(roomId)}/messages?dir=b&limit=5&from=${
            encodeURIComponent(token)
          }&filter=${filter}`,
          { token: bob.accessToken },
        );
        assertEquals(lazy.status, 200);
        assertEquals(
          lazy.body.state.map((e: Event) => [e.type, e.state_key, e.content.membership]),
          [["m.room.member", alice.userId, "join"]],
        );
        const bad = await b.request("GET", `${room(roomId)}/messages?dir=b&from=s-x1`, {
          token: bob.accessToken,
        });
        assertEquals(bad.status, 400);
        assertEquals(bad.body.errcode, "M_INVALID_PARAM");
      });

      await t.step("B lists A's public rooms over federation", async () => {
        const server = encodeURIComponent(a.serverName);
        const listed = await b.request("GET", `${V3}/publicRooms?server=${server}`, {
          token: bob.accessToken,
        });
        assertEquals(listed.status, 200, JSON.stringify(listed.body));
        const entry = listed.body.chunk.find((r: Event) => r.room_id === roomId);
        assert(entry, JSON.stringify(listed.body));
        assertEquals(entry.name, "Archive communale");
        assertEquals(entry.canonical_alias, alias);
        assert(entry.num_joined_members >= 2);
        const searched = await b.request("POST", `${V3}/publicRooms?server=${server}`, {
          token: bob.accessToken,
          body: { filter: { generic_search_term: "communale" }, limit: 5 },
        });
        assertEquals(searched.status, 200, JSON.stringify(searched.body));
        assertEquals(searched.body.chunk.map((r: Event) => r.room_id), [roomId]);
        const none = await b.request("POST", `${V3}/publicRooms?server=${server}`, {
          token: bob.accessToken,
          body: { filter: { generic_search_term: "nowhere-to-be-found" } },
        });
        assertEquals(none.body.chunk, []);
        // Anonymous listing of another server's rooms is refused (it costs a request there).
        const anonymous = await b.request("GET", `${V3}/publicRooms?server=${server}`);
        assertEquals(anonymous.status, 401);
        // B's own directory does not list A's room.
        const own = await b.request("GET", `${V3}/publicRooms`);
        assertEquals(own.body.chunk, []);
      });

      await t.step("A's directory endpoints answer B's signed requests", async () => {
        const ask = (
          method: "GET" | "POST",
          path: string,
          options: { query?: Record<string, string>; body?: Record<string, unknown> } = {},
        ) =>
          b.hs.federation.client.request(a.serverName, {
            method,
            path: `/_matrix/federation/v1/${path}`,
            ...options,
          });
        // deno-lint-ignore no-explicit-any
        const json = (res: { json: unknown }) => res.json as any;
        const found = await ask("GET", "query/directory", { query: { room_alias: alias } });
        assertEquals(found.status, 200);
        assertEquals(json(found).room_id, roomId);
        assertEquals(json(found).servers, [a.serverName, b.serverName]);
        const foreign = await ask("GET", "query/directory", {
          query: { room_alias: `#history:${b.serverName}` },
        });
        assertEquals([foreign.status, json(foreign).errcode], [400, "M_INVALID_PARAM"]);
        const missing = await ask("GET", "query/directory");
        assertEquals([missing.status, json(missing).errcode], [400, "M_MISSING_PARAM"]);

        const listed = await ask("GET", "publicRooms", { query: { limit: "0" } });
        assertEquals(listed.status, 200);
        assertEquals(json(listed).chunk.map((r: Event) => r.room_id), [roomId]);
        assertEquals(json(listed).total_room_count_estimate, 1);
        const spaces = await ask("POST", "publicRooms", {
          body: { filter: { room_types: ["m.space"] } },
        });
        assertEquals(json(spaces).chunk, []);
        const untyped = await ask("POST", "publicRooms", {
          body: { filter: { room_types: [null] } },
        });
        assertEquals(json(untyped).chunk.map((r: Event) => r.room_id), [roomId]);
        const bad = await ask("POST", "publicRooms", { body: { limit: "ten" } });
        assertEquals([bad.status, json(bad).errcode], [400, "M_BAD_JSON"]);
      });
    } finally {
      await b.close();
      await a.close();
    }
  },
});

Deno.test({
  name: "history across gemeng nodes: a backfill answer's forged events are dropped or redacted",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const created = await a.request("POST", `${V3}/createRoom`, {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      const roomId = created.body.room_id as string;
      const ids: string[] = [];
      for (let i = 1; i <= 25; i++) ids.push(await sendText(a, alice, roomId, `m${i}`));
      const joined = await b.request(
        "POST",
        `${V3}/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(a.serverName)}`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(joined.status, 200, JSON.stringify(joined.body));

      // A turns hostile: what it serves of m10 carries a bad signature, and m20's content was
      // changed after it was hashed (its signature, over the redacted form, still holds).
      const tamper = async (eventId: string, change: (pdu: Event) => void) => {
        const stored = (await a.hs.rooms.event(eventId))!;
        const pdu = structuredClone(stored.event.pdu);
        change(pdu);
        a.hs.rooms.cacheEvent({ ...stored, event: { ...stored.event, pdu } });
      };
      await tamper(ids[9], (pdu) => {
        const keyId = Object.keys(pdu.signatures[a.serverName])[0];
        pdu.signatures[a.serverName][keyId] = "A".repeat(86);
      });
      await tamper(ids[19], (pdu) => pdu.content = { msgtype: "m.text", body: "forged" });

      const { events } = await paginate(b, bob, roomId, { dir: "b", limit: 6 });
      const history = events.reverse();
      const messages = history.filter((e) => e.type === "m.room.message");
      assert(!messages.some((e) => e.event_id === ids[9]), "the badly signed event is dropped");
      const redacted = messages.find((e) => e.event_id === ids[19]);
      assert(redacted, "the event with a bad hash is kept, redacted");
      assertEquals(redacted.content, {});
      const expected = ids.map((_, i) => `m${i + 1}`).filter((body) =>
        body !== "m10" && body !== "m20"
      );
      assertEquals(bodies(messages).filter((body) => body !== undefined), expected);
      assertEquals(history[0].type, "m.room.create");
    } finally {
      await b.close();
      await a.close();
    }
  },
});
