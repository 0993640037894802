/**
 * The user directory with `[user_directory] search_all_users` (the default): every local user is
 * found by display name and user name, guests and deactivated accounts are not, registrations
 * show at once, a full ID of another server's user is returned, a search among 5,000 users
 * stays fast, and `search_all_users = false` keeps Synapse's shared-rooms-only behaviour.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { createUser } from "../../server/store/accounts.ts";
import { createDefaultProfile } from "../../server/store/profiles.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;
const STAFF = 5000;

interface Result {
  user_id: string;
  display_name?: string;
}

function searcher(t: TestServer, user: TestUser) {
  return async (term: string, limit?: number) => {
    const res = await t.request("POST", `${V3}/user_directory/search`, {
      token: user.accessToken,
      body: limit === undefined ? { search_term: term } : { search_term: term, limit },
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    return res.body as { results: Result[]; limited: boolean };
  };
}

const ids = (answer: { results: Result[] }) => answer.results.map((r) => r.user_id);

function setName(t: TestServer, user: TestUser, name: string) {
  return t.request("PUT", `${V3}/profile/${enc(user.userId)}/displayname`, {
    token: user.accessToken,
    body: { displayname: name },
  });
}

Deno.test("user directory: every local user of the server, by name and user name", async (t) => {
  const s = await startTestServer({ config: { registration: { allow_guests: true } } });
  try {
    // A commune's staff, written straight through the account store before any search.
    for (let i = 0; i < STAFF; i++) {
      const userId = `@staff${i}:localhost`;
      await createUser(s.hs.kv, { userId, passwordHash: null });
      await createDefaultProfile(s.hs, userId);
    }
    const anna = await s.register("anna");
    const ben = await s.register("ben");
    await setName(s, ben, "Ben Weber");
    const guest = await s.request("POST", `${V3}/register?kind=guest`, { body: {} });
    assertEquals(guest.status, 200);
    const search = searcher(s, anna);

    await t.step("people who share no room are found by name and user name", async () => {
      assertEquals(ids(await search("ben")), [ben.userId]);
      assertEquals((await search("weber")).results, [
        { user_id: ben.userId, display_name: "Ben Weber" },
      ]);
      assertEquals(ids(await search("BEN WEB")), [ben.userId]);
      assertEquals(ids(await search(ben.userId)), [ben.userId]);
      assertEquals(ids(await search("staff4711")), ["@staff4711:localhost"]);
      const many = await search("staff", 20);
      assertEquals(many.results.length, 20);
      assertEquals(many.limited, true);
    });

    await t.step("guests and deactivated accounts are not listed", async () => {
      assertEquals(ids(await search(guest.body.user_id)), []);
      const gone = await s.register("benedikt", { password: "pw" });
      assertEquals(ids(await search("benedikt")), [gone.userId]); // registered after the index
      const path = `${V3}/account/deactivate`;
      const session = (await s.request("POST", path, { token: gone.accessToken, body: {} }))
        .body.session;
      const res = await s.request("POST", path, {
        token: gone.accessToken,
        body: {
          auth: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "benedikt" },
            password: "pw",
            session,
          },
        },
      });
      assertEquals(res.status, 200, JSON.stringify(res.body));
      assertEquals(ids(await search("benedikt")), []);
      assertEquals(ids(await search("ben")), [ben.userId]);
    });

    await t.step("a new name is shown at once, a name given up no longer matches", async () => {
      await setName(s, ben, "Benoît Weber");
      assertEquals((await search("weber")).results, [
        { user_id: ben.userId, display_name: "Benoît Weber" },
      ]);
      await setName(s, ben, "Robert Weber");
      assertEquals(ids(await search("benoit")), []);
    });

    await t.step("a full ID of another server's user is returned as it is", async () => {
      // Its server cannot be reached (private address, not allowed): the bare ID.
      const remote = "@ben:127.0.0.1:9";
      assertEquals((await search(remote)).results, [{ user_id: remote }]);
      assertEquals(ids(await search("@ben:")), [ben.userId]);
    });

    await t.step(`a search among ${STAFF + 3} users answers within 50 ms`, async () => {
      const times: number[] = [];
      for (const term of ["ben", "staff12", "weber", "nobody-at-all", "st", "anna"]) {
        const started = performance.now();
        await search(term);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      console.log(`directory search over ${STAFF + 3} users: median ${median.toFixed(1)} ms`);
      assert(median < 50, `median ${median} ms`);
    });
  } finally {
    await s.close();
  }
});

Deno.test("user directory: search_all_users = false finds only people sharing a room", async () => {
  const s = await startTestServer({ config: { user_directory: { search_all_users: false } } });
  try {
    const anna = await s.register("anna");
    const ben = await s.register("ben");
    const search = searcher(s, anna);
    assertEquals(ids(await search("ben")), []);
    const room = await s.request("POST", `${V3}/createRoom`, {
      token: anna.accessToken,
      body: { preset: "private_chat", invite: [ben.userId] },
    });
    await s.request("POST", `${V3}/join/${enc(room.body.room_id)}`, {
      token: ben.accessToken,
      body: {},
    });
    assertEquals(ids(await search("ben")), [ben.userId]);
  } finally {
    await s.close();
  }
});
