/**
 * Hostile input over federation: a real peer (node B, with valid request signatures) sends
 * every Server-Server route of node A malformed parameters and bodies. Each must be answered
 * with a 4xx Matrix error (never a 500), and A's rooms must not change.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

/** Values that break the expectations of path parameters, queries and bodies. */
const BAD_SEGMENTS = ["x", "!nope", "$", "@:", "%00", "a".repeat(300), "!a:b", "$abc", "@u:b"];
const BAD_BODIES: unknown[] = [
  {},
  { pdus: "x" },
  { pdus: [1, "two", null, [], {}], edus: [{}] },
  { pdus: Array.from({ length: 51 }, () => ({})) },
  { room_id: 5, type: [], content: "x", sender: {}, depth: -1 },
  { event: "x", room_version: 99, invite_room_state: {} },
  { earliest_events: "x", latest_events: [1], limit: "ten", min_depth: {} },
  { limit: -5, filter: "x", since: 12 },
  { "": { "": { "": [] } } },
];

Deno.test({
  name: "federation routes answer malformed input with 4xx errors and change nothing",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      const roomId = created.body.room_id as string;
      const before = await a.hs.rooms.head(roomId);

      const routes = a.hs.app.routes
        .filter((r) => r.method !== "ALL" && r.path.startsWith("/_matrix/federation/"))
        .map((r) => ({ method: r.method as "GET" | "PUT" | "POST", path: r.path }));
      const unique = [...new Map(routes.map((r) => [`${r.method} ${r.path}`, r])).values()];
      assert(unique.length >= 15, `only ${unique.length} federation routes`);
      let requests = 0;
      const statuses = new Map<number, number>();
      for (const route of unique) {
        for (let i = 0; i < BAD_SEGMENTS.length; i++) {
          const path = route.path.replace(/:[A-Za-z]+/g, (name) => {
            if (name === ":roomId" && i % 3 === 0) return encodeURIComponent(roomId);
            return encodeURIComponent(BAD_SEGMENTS[(i + name.length) % BAD_SEGMENTS.length]);
          });
          const body = route.method === "GET"
            ? undefined
            : BAD_BODIES[i % BAD_BODIES.length] as Record<string, unknown>;
          const res = await b.hs.federation.client.request(a.serverName, {
            method: route.method,
            path,
            query: { v: "x", limit: "-1", event_id: BAD_SEGMENTS[i], ver: ["99"] },
            body,
          });
          requests++;
          // OpenID userinfo is open by the spec: its 401 is a token's refusal, not ours.
          if (!route.path.includes("/openid/")) {
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
          assert(
            res.status >= 400 && res.status < 500 || res.status === 200,
            `${route.method} ${path} ${JSON.stringify(body)} -> ${res.status} ${
              JSON.stringify(res.json)
            }`,
          );
          if (res.status >= 400) {
            const errcode = (res.json as { errcode?: unknown } | null)?.errcode;
            assert(typeof errcode === "string", `${route.method} ${path}: no errcode`);
          }
        }
      }
      assert(requests > 100);
      // Most requests must reach the handlers (not stop at authentication).
      assert(!statuses.has(401), `unauthenticated: ${JSON.stringify([...statuses])}`);
      assert((statuses.get(200) ?? 0) > 0 && statuses.size >= 3, JSON.stringify([...statuses]));
      assertEquals(await a.hs.rooms.head(roomId), before, "the room changed");
    } finally {
      await b.close();
      await a.close();
    }
  },
});
