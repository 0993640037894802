/**
 * The pure pieces of the federation queries: the order of a space's children (the spec's
 * example), the hierarchy's pagination tokens, and the checks of other servers' answers
 * (room summaries, profiles).
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { checkedSummary, childLinks, type ChildState } from "../../server/federation/hierarchy.ts";
import {
  hierarchyPosition,
  hierarchyToken,
  parseHierarchyToken,
} from "../../server/client/hierarchy.ts";
import { checkedRemoteProfile } from "../../server/federation/query_routes.ts";
import { MatrixError } from "../../server/errors.ts";

function child(roomId: string, ts: number, content: Record<string, unknown>): ChildState {
  return {
    type: "m.space.child",
    state_key: roomId,
    content,
    sender: "@alice:example.org",
    origin_server_ts: ts,
  };
}

Deno.test("hierarchy: children are ordered as in the spec's example", () => {
  const via = ["example.org"];
  const links = childLinks([
    child("!b:example.org", 1640341000000, { order: " ", via }),
    child("!a:example.org", 1640141000000, { order: "aaaa", via }),
    child("!c:example.org", 1640841000000, { order: "first", via }),
    child("!e:example.org", 1640641000000, { via }),
    child("!d:example.org", 1640741000000, { via }),
  ]);
  assertEquals(links.map((l) => l.roomId), [
    "!b:example.org",
    "!a:example.org",
    "!c:example.org",
    "!e:example.org",
    "!d:example.org",
  ]);
});

Deno.test("hierarchy: invalid links and orders are ignored, ties go by timestamp then ID", () => {
  const via = ["example.org"];
  const links = childLinks([
    child("!gone:example.org", 1, { via: [] }),
    child("!novia:example.org", 1, {}),
    child("!badvia:example.org", 1, { via: [42] }),
    child("not a room", 1, { via }),
    child("!long:example.org", 5, { order: "x".repeat(51), via }),
    child("!ctl:example.org", 4, { order: "\u0001", via }),
    child("!z:example.org", 3, { order: "same", via }),
    child("!y:example.org", 3, { order: "same", via }),
  ]);
  assertEquals(links.map((l) => l.roomId), [
    "!y:example.org",
    "!z:example.org",
    "!ctl:example.org",
    "!long:example.org",
  ]);
  const suggested = childLinks([
    child("!s:example.org", 1, { via, suggested: true }),
    child("!t:example.org", 1, { via, suggested: "yes" }),
  ], { suggestedOnly: true });
  assertEquals(suggested.map((l) => l.roomId), ["!s:example.org"]);
});

Deno.test("hierarchy: pagination tokens keep max_depth and suggested_only", () => {
  const token = hierarchyToken({ skip: 7, maxDepth: 3, suggestedOnly: true });
  assertEquals(parseHierarchyToken(token), { skip: 7, maxDepth: 3, suggestedOnly: true });
  assertEquals(parseHierarchyToken("h1_1_99_0"), null);
  assertEquals(parseHierarchyToken("garbage"), null);
  assertEquals(hierarchyPosition({ from: token }), { skip: 7, maxDepth: 3, suggestedOnly: true });
  assertEquals(hierarchyPosition({ max_depth: "500" }).maxDepth, 10);
  const refused = [
    { from: token, max_depth: "4" },
    { from: token, suggested_only: "false" },
    { from: "nope" },
    { max_depth: "-1" },
    { suggested_only: "maybe" },
  ];
  for (const query of refused) {
    assertThrows(() => hierarchyPosition(query), MatrixError);
  }
});

Deno.test("hierarchy: another server's room summary is checked", () => {
  assertEquals(checkedSummary("x"), null);
  assertEquals(checkedSummary({ room_id: "not a room" }), null);
  const summary = checkedSummary({
    room_id: "!r:example.org",
    num_joined_members: -3,
    world_readable: "yes",
    guest_can_join: true,
    name: 7,
    topic: "t",
    allowed_room_ids: ["!a:example.org", 5, "bad"],
    children_state: [
      {
        type: "m.space.child",
        state_key: "!c:example.org",
        content: { via: ["x"] },
        sender: "@a:x",
        origin_server_ts: 5,
      },
      { type: "m.room.name", state_key: "", content: {}, sender: "@a:x", origin_server_ts: 5 },
      { type: "m.space.child", state_key: "!d:example.org", content: {}, sender: "@a:x" },
    ],
  });
  assert(summary !== null);
  assertEquals(summary.num_joined_members, 0);
  assertEquals(summary.world_readable, false);
  assertEquals(summary.guest_can_join, true);
  assertEquals(summary.name, undefined);
  assertEquals(summary.topic, "t");
  assertEquals(summary.allowed_room_ids, ["!a:example.org"]);
  assertEquals(summary.children_state.map((c) => c.state_key), ["!c:example.org"]);
});

Deno.test("profiles: another server's profile answer is checked", () => {
  assertEquals(checkedRemoteProfile(null), null);
  assertEquals(checkedRemoteProfile([1]), null);
  assertEquals(
    checkedRemoteProfile({ displayname: 5, avatar_url: "mxc://x/y", "m.tz": "Europe/Luxembourg" }),
    { avatar_url: "mxc://x/y", "m.tz": "Europe/Luxembourg" },
  );
  assertEquals(checkedRemoteProfile({ displayname: "x".repeat(3000) }), {});
});
