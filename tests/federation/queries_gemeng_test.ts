/**
 * Queries across two gemeng nodes: a remote user's profile through the client API (asked over
 * federation once, then cached) and in the user directory; OpenID tokens issued on A and checked
 * from B through A's `/openid/userinfo`; a space hierarchy on A with children on A and B, walked
 * from B's client (a child B does not know is asked of A over federation).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { issueOpenIdToken, remoteOpenIdUser } from "../../server/federation/openid.ts";
import { remoteProfileRequests } from "../../server/federation/query_routes.ts";
import { createRoom, join, setState } from "./support/client.ts";
import { type GemengNode, startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless, testCa } from "./support/peers.ts";

const enc = encodeURIComponent;

async function withNodes(fn: (a: GemengNode, b: GemengNode) => Promise<void>): Promise<void> {
  const a = await startGemengNode();
  const b = await startGemengNode();
  try {
    await fn(a, b);
  } finally {
    await b.close();
    await a.close();
  }
}

Deno.test({
  name: "queries: a remote user's profile, cached, and in the user directory",
  ...skipUnless(CA_MISSING),
  async fn() {
    await withNodes(async (a, b) => {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const set = await a.request(
        "PUT",
        `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`,
        {
          token: alice.accessToken,
          body: { displayname: "Alice Ancienne" },
        },
      );
      assertEquals(set.status, 200);

      const before = remoteProfileRequests(b.hs);
      const profile = await b.request("GET", `/_matrix/client/v3/profile/${enc(alice.userId)}`);
      assertEquals(profile.status, 200, JSON.stringify(profile.body));
      assertEquals(profile.body.displayname, "Alice Ancienne");
      const field = await b.request(
        "GET",
        `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`,
      );
      assertEquals(field.body, { displayname: "Alice Ancienne" });
      const missingField = await b.request(
        "GET",
        `/_matrix/client/v3/profile/${enc(alice.userId)}/avatar_url`,
      );
      assertEquals(missingField.status, 404);
      // Three lookups, one request: the rest came from the cache.
      assertEquals(remoteProfileRequests(b.hs) - before, 1);

      const nobody = await b.request(
        "GET",
        `/_matrix/client/v3/profile/${enc(`@nobody:${a.serverName}`)}`,
      );
      assertEquals(nobody.status, 404);
      assertEquals(nobody.body.errcode, "M_NOT_FOUND");
      const unreachable = await b.request(
        "GET",
        `/_matrix/client/v3/profile/${enc("@someone:127.0.0.1:1")}`,
      );
      assertEquals(unreachable.status, 502, JSON.stringify(unreachable.body));

      // Alice's name reaches B's member list and user directory through her member event.
      const roomId = await createRoom(a, alice, { preset: "public_chat" });
      await join(b, bob, roomId, a.serverName);
      const members = await b.request(
        "GET",
        `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`,
        { token: bob.accessToken },
      );
      assertEquals(members.body.joined[alice.userId]?.display_name, "Alice Ancienne");
      const search = await b.request("POST", "/_matrix/client/v3/user_directory/search", {
        token: bob.accessToken,
        body: { search_term: "ancienne" },
      });
      assertEquals(search.status, 200);
      assertEquals(search.body.results, [{
        user_id: alice.userId,
        display_name: "Alice Ancienne",
      }]);
    });
  },
});

Deno.test({
  name: "queries: an OpenID token of A is checked from B; unknown and expired ones are refused",
  ...skipUnless(CA_MISSING),
  async fn() {
    await withNodes(async (a, b) => {
      const alice = await a.register("alice");
      const other = await a.register("other");
      const issued = await a.request(
        "POST",
        `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(issued.status, 200, JSON.stringify(issued.body));
      assertEquals(issued.body.token_type, "Bearer");
      assertEquals(issued.body.matrix_server_name, a.serverName);
      assertEquals(issued.body.expires_in, 3600);
      const token = issued.body.access_token as string;

      const notMine = await a.request(
        "POST",
        `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`,
        { token: other.accessToken, body: {} },
      );
      assertEquals(notMine.status, 403);

      // B asks A over federation, as a third party would.
      assertEquals(await remoteOpenIdUser(b.hs, a.serverName, token), alice.userId);
      assertEquals(await remoteOpenIdUser(b.hs, a.serverName, "not-a-token"), null);
      const expired = await issueOpenIdToken(a.hs, alice.userId, { ttlMs: 1 });
      await new Promise((r) => setTimeout(r, 20));
      assertEquals(await remoteOpenIdUser(b.hs, a.serverName, expired.access_token), null);

      // The endpoint is open: a plain HTTPS request without a signature gets an answer.
      const ca = await testCa();
      const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
      try {
        const url = `${a.federationUrl}/_matrix/federation/v1/openid/userinfo?access_token=`;
        const ok = await fetch(`${url}${enc(token)}`, { client });
        assertEquals(await ok.json(), { sub: alice.userId });
        const refused = await fetch(`${url}nope`, { client });
        assertEquals(refused.status, 401);
        assertEquals((await refused.json()).errcode, "M_UNKNOWN_TOKEN");
      } finally {
        client.close();
      }
    });
  },
});

Deno.test({
  name: "queries: a space on A with children on A and B, walked from B's client",
  ...skipUnless(CA_MISSING),
  async fn() {
    await withNodes(async (a, b) => {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const space = await createRoom(a, alice, {
        preset: "public_chat",
        name: "Commune space",
        creation_content: { type: "m.space" },
      });
      const roomOnA = await createRoom(a, alice, { preset: "public_chat", name: "Room on A" });
      const hidden = await createRoom(a, alice, { preset: "private_chat", name: "Hidden" });
      const roomOnB = await createRoom(b, bob, { preset: "public_chat", name: "Room on B" });
      const child = (roomId: string, via: string, order: string, suggested = false) =>
        setState(a, alice, space, `m.space.child/${enc(roomId)}`, { via: [via], order, suggested });
      await child(roomOnA, a.serverName, "a");
      await child(roomOnB, b.serverName, "b", true);
      await child(hidden, a.serverName, "c");
      await join(b, bob, space, a.serverName);

      const hierarchy = async (query: string) =>
        await b.request("GET", `/_matrix/client/v1/rooms/${enc(space)}/hierarchy${query}`, {
          token: bob.accessToken,
        });
      const all = await hierarchy("");
      assertEquals(all.status, 200, JSON.stringify(all.body));
      // deno-lint-ignore no-explicit-any
      const rooms = all.body.rooms as any[];
      assertEquals(rooms.map((r) => r.room_id), [space, roomOnA, roomOnB]);
      assertEquals(rooms.map((r) => r.name), ["Commune space", "Room on A", "Room on B"]);
      assertEquals(rooms[0].room_type, "m.space");
      assertEquals(rooms[0].children_state.length, 3);
      assertEquals(rooms[1].join_rule, "public");
      assertEquals(all.body.next_batch, undefined);

      // Pages of one room, each pointing at the next.
      const seen: string[] = [];
      let from = "";
      for (let page = 0; page < 5; page++) {
        const res = await hierarchy(`?limit=1${from ? `&from=${enc(from)}` : ""}`);
        assertEquals(res.status, 200, JSON.stringify(res.body));
        seen.push(...res.body.rooms.map((r: { room_id: string }) => r.room_id));
        if (!res.body.next_batch) break;
        from = res.body.next_batch;
      }
      assertEquals(seen, [space, roomOnA, roomOnB]);
      const changed = await hierarchy(`?limit=1&max_depth=0&from=${enc(from || "h1_1_10_0")}`);
      assertEquals(changed.status, 400);
      assertEquals(changed.body.errcode, "M_INVALID_PARAM");

      const shallow = await hierarchy("?max_depth=0");
      assertEquals(shallow.body.rooms.map((r: { room_id: string }) => r.room_id), [space]);
      const suggested = await hierarchy("?suggested_only=true");
      assertEquals(
        suggested.body.rooms.map((r: { room_id: string }) => r.room_id),
        [space, roomOnB],
      );

      // A room B knows nothing about, and that A hides, is refused.
      const unknown = await b.request(
        "GET",
        `/_matrix/client/v1/rooms/${enc(hidden)}/hierarchy`,
        { token: bob.accessToken },
      );
      assertEquals(unknown.status, 403);
      // The same space from A's side, where everything is local.
      const local = await a.request("GET", `/_matrix/client/v1/rooms/${enc(space)}/hierarchy`, {
        token: alice.accessToken,
      });
      assert(local.status === 200, JSON.stringify(local.body));
      assertEquals(
        local.body.rooms.map((r: { room_id: string }) => r.room_id),
        [space, roomOnA, roomOnB, hidden],
      );
    });
  },
});
