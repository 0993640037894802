/** Push rules API paths: a kind's rules, and malformed rule paths answered as Synapse does. */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

Deno.test("push rules: kind listing and malformed paths", async () => {
  const server = await startTestServer();
  try {
    const user = await server.register("ruler");
    const get = (path: string) =>
      server.request("GET", `/_matrix/client/v3/pushrules${path}`, { token: user.accessToken });
    const override = await get("/global/override/");
    assertEquals(override.status, 200);
    assert(Array.isArray(override.body));
    assertEquals(override.body[0].rule_id, ".m.rule.master");
    assertEquals((await get("/global/underride")).status, 200);
    assertEquals((await get("/global/room/")).body, []);
    for (const path of ["", "/not_a_scope/", "/global/room/!a:b/not_an_attr"]) {
      const res = await get(path);
      assertEquals([res.status, res.body?.errcode], [400, "M_UNRECOGNIZED"], path);
    }
    assertEquals((await get("/global/not_a_kind/")).status, 400);
    assertEquals((await get("/global/not_a_kind/foo")).status, 400);
    assertEquals((await get("/global/room/!unknown:localhost")).status, 404);
    const put = await server.request("PUT", "/_matrix/client/v3/pushrules/global/room/", {
      token: user.accessToken,
      body: { actions: ["notify"] },
    });
    assertEquals([put.status, put.body?.errcode], [400, "M_UNRECOGNIZED"]);
    const slash = await server.request(
      "PUT",
      "/_matrix/client/v3/pushrules/global/room/%23foo%2Fbar",
      { token: user.accessToken, body: { actions: ["notify"] } },
    );
    assertEquals(slash.status, 400);
    assertEquals((await get("/")).status, 200);
  } finally {
    await server.close();
  }
});
