/**
 * The web app's join-a-room model: reading what the user typed (aliases, room IDs with and
 * without a server part, links, servers to join through), how failures are worded, the servers
 * an invitation is accepted through, and the form against a real server (joined rooms open,
 * an unknown alias and a refusal are explained, a malformed address never reaches the server).
 */

import * as sdk from "matrix-js-sdk";
import { isServerName, serverNameOf } from "../../web/src/matrix/identifiers.ts";
import {
  inviteVia,
  type JoinHost,
  joinProblemOf,
  JoinRoomForm,
  type JoinTarget,
  parseJoinTarget,
} from "../../web/src/state/join_room.ts";
import { isUserId } from "../../web/src/state/user_picker.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("web join: server names", () => {
  for (
    const name of ["example.org", "example.org:8448", "127.0.0.1:41235", "[::1]:8448", "[::1]"]
  ) {
    assert(isServerName(name), name);
  }
  for (
    const name of [
      "",
      "exa mple.org",
      "example.org:",
      "example.org:0",
      "example.org:70000",
      "::1",
      "a/b",
    ]
  ) {
    assert(!isServerName(name), name);
  }
  assertEquals(serverNameOf("@bob:127.0.0.1:8448"), "127.0.0.1:8448");
  assertEquals(serverNameOf("!abcdef"), null);
  assert(isUserId("@bob:[::1]:8448"), "IPv6 literal servers");
  assert(isUserId("@bob:127.0.0.1:41235"));
  assert(!isUserId("@bob:"));
});

Deno.test("web join: aliases and room IDs", () => {
  assertEquals(parseJoinTarget("  #commune:127.0.0.1:8448 "), {
    ok: true,
    target: { kind: "alias", id: "#commune:127.0.0.1:8448", via: [] },
  });
  assertEquals(parseJoinTarget("!abc:example.org", "other.org, third.org other.org"), {
    ok: true,
    target: { kind: "roomId", id: "!abc:example.org", via: ["other.org", "third.org"] },
  });
  // Room version 12: no server part; the servers come from the via field.
  const v12 = "!" + "a".repeat(43);
  assertEquals(parseJoinTarget(v12, "example.org"), {
    ok: true,
    target: { kind: "roomId", id: v12, via: ["example.org"] },
  });
});

Deno.test("web join: links carry the address and their servers", () => {
  assertEquals(parseJoinTarget("https://matrix.to/#/%23commune%3Aexample.org"), {
    ok: true,
    target: { kind: "alias", id: "#commune:example.org", via: [] },
  });
  assertEquals(parseJoinTarget("https://matrix.to/#/!abc:example.org?via=a.org&via=b.org"), {
    ok: true,
    target: { kind: "roomId", id: "!abc:example.org", via: ["a.org", "b.org"] },
  });
  assertEquals(parseJoinTarget("matrix:r/commune:example.org"), {
    ok: true,
    target: { kind: "alias", id: "#commune:example.org", via: [] },
  });
  assertEquals(parseJoinTarget("matrix:roomid/abc:example.org/e/$event?via=a.org&via=bad/x"), {
    ok: true,
    target: { kind: "roomId", id: "!abc:example.org", via: ["a.org"] },
  });
  // At most three servers go to the server (the typed ones first).
  const many = parseJoinTarget("https://matrix.to/#/!abc:x.org?via=a.org&via=b.org", "c.org d.org");
  assert(many.ok);
  assertEquals(many.target.via, ["c.org", "d.org", "a.org"]);
});

Deno.test("web join: what is not an address is explained before asking", () => {
  const key = (address: string, via = "") => {
    const parsed = parseJoinTarget(address, via);
    return parsed.ok ? null : parsed.key;
  };
  assertEquals(key("   "), "rooms.join.missing");
  assertEquals(key("commune"), "rooms.join.notAnAddress");
  assertEquals(key("@bob:example.org"), "rooms.join.notAnAddress");
  assertEquals(key("#commune"), "rooms.join.invalid");
  assertEquals(key("#:example.org"), "rooms.join.invalid");
  assertEquals(key("#commune:bad server"), "rooms.join.invalid");
  assertEquals(key("!:example.org"), "rooms.join.invalid");
  assertEquals(key("!abc:exa/mple"), "rooms.join.invalid");
  assertEquals(key("#" + "a".repeat(255) + ":example.org"), "rooms.join.invalid");
  assertEquals(key("#commune:example.org", "not a/server"), "rooms.join.badServer");
  assertEquals(key("https://matrix.to/#/%E0%A4%A"), "rooms.join.notAnAddress");
});

Deno.test("web join: failures in plain words", () => {
  const alias: JoinTarget = { kind: "alias", id: "#x:a.org", via: [] };
  const roomId: JoinTarget = { kind: "roomId", id: "!x:a.org", via: [] };
  const withVia: JoinTarget = { ...roomId, via: ["b.org"] };
  const error = (errcode: string, status: number, error = "the server's words") =>
    new sdk.MatrixError({ errcode, error }, status);
  assertEquals(joinProblemOf(error("M_NOT_FOUND", 404), alias), {
    key: "rooms.join.unknownAlias",
    message: "the server's words",
  });
  assertEquals(joinProblemOf(error("M_NOT_FOUND", 404), roomId).key, "rooms.join.unknownRoomNoVia");
  assertEquals(joinProblemOf(error("M_NOT_FOUND", 404), withVia).key, "rooms.join.unknownRoom");
  assertEquals(joinProblemOf(error("M_FORBIDDEN", 403), alias).key, "rooms.join.refused");
  assertEquals(joinProblemOf(error("M_UNKNOWN", 502), alias).key, "rooms.join.unreachable");
  assertEquals(joinProblemOf(error("M_INVALID_PARAM", 400), alias).key, "rooms.join.invalid");
  assertEquals(
    joinProblemOf(error("M_UNSUPPORTED_ROOM_VERSION", 400), alias).key,
    "rooms.join.unsupported",
  );
  assertEquals(joinProblemOf(error("M_LIMIT_EXCEEDED", 429), alias).key, "rooms.error.rateLimited");
  assertEquals(
    joinProblemOf(new sdk.ConnectionError("fetch failed"), alias).key,
    "rooms.join.offline",
  );
  assertEquals(joinProblemOf(error("M_UNKNOWN", 500), alias).key, "rooms.error.failed");
});

Deno.test("web join: an invitation from another server is accepted through it", () => {
  assertEquals(inviteVia("@alice:a.org:8448", "@carol:b.org"), ["a.org:8448"]);
  assertEquals(inviteVia("@alice:b.org", "@carol:b.org"), [], "our own server needs no via");
  assertEquals(inviteVia(null, "@carol:b.org"), []);
});

/** A join form whose host records the room it finished with. */
function formFor(client: sdk.MatrixClient) {
  const finished: string[] = [];
  const host: JoinHost = { client, finish: (_form, roomId) => finished.push(roomId) };
  return { form: new JoinRoomForm(host), finished };
}

function clientOf(server: TestServer, user: TestUser): sdk.MatrixClient {
  return sdk.createClient({
    baseUrl: server.baseUrl,
    userId: user.userId,
    accessToken: user.accessToken,
    deviceId: user.deviceId,
  });
}

Deno.test({
  name: "web join: the form joins by alias, explains an unknown alias and a refusal",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startTestServer();
    try {
      const owner = await server.register("owner");
      const guest = await server.register("guest");
      const open = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: owner.accessToken,
        body: { preset: "public_chat", room_alias_name: "square" },
      });
      assertEquals(open.status, 200, JSON.stringify(open.body));
      const closed = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: owner.accessToken,
        body: { preset: "private_chat", room_alias_name: "office" },
      });
      assertEquals(closed.status, 200, JSON.stringify(closed.body));
      const client = clientOf(server, guest);
      const domain = server.serverName;

      const { form, finished } = formFor(client);
      form.address.value = "#nowhere:" + domain;
      await form.join();
      assertEquals(form.task.problem.value?.key, "rooms.join.unknownAlias");
      assertEquals(finished, []);

      form.address.value = "#office:" + domain;
      await form.join();
      assertEquals(form.task.problem.value?.key, "rooms.join.refused");
      assert(form.task.problem.value?.message, "the server's words are shown too");

      form.address.value = "office";
      await form.join();
      assertEquals(form.task.problem.value?.key, "rooms.join.notAnAddress");

      form.address.value = `https://matrix.to/#/%23square%3A${encodeURIComponent(domain)}`;
      await form.join();
      assertEquals(form.task.problem.value, null);
      assertEquals(finished, [open.body.room_id]);
      const members = await server.request(
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(open.body.room_id)}/joined_members`,
        { token: owner.accessToken },
      );
      assert(guest.userId in members.body.joined, "the guest is in the room");
      client.stopClient();
    } finally {
      await server.close();
    }
  },
});
