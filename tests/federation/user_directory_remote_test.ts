/**
 * The user directory and a full ID of another server's user: searching `@alice:A` on B, where
 * no room is shared, returns Alice with the profile A gives over federation; an ID A does not
 * know returns nothing.
 *
 * @module
 */

import { assertEquals } from "../unit/assert.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

Deno.test({
  name: "user directory: a full ID of another server's user, with its profile from there",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const named = await a.request(
        "PUT",
        `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/displayname`,
        { token: alice.accessToken, body: { displayname: "Alice Ancienne" } },
      );
      assertEquals(named.status, 200);
      const search = (term: string) =>
        b.request("POST", "/_matrix/client/v3/user_directory/search", {
          token: bob.accessToken,
          body: { search_term: term },
        });
      const found = await search(alice.userId);
      assertEquals(found.status, 200);
      assertEquals(found.body.results, [{ user_id: alice.userId, display_name: "Alice Ancienne" }]);
      const unknown = await search(alice.userId.replace("alice", "nobody"));
      assertEquals(unknown.body.results, []);
    } finally {
      await b.close();
      await a.close();
    }
  },
});
