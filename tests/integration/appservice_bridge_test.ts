/**
 * An application service written in the test (appservice_bridge.ts) against a real server on
 * loopback with an on-disk KV: the bridge creates its users, is asked about unknown users of
 * its namespace, masquerades as them, receives the rooms' events in order through
 * transactions, and after it was down while events happened and the homeserver restarted, it
 * receives the missed events in order, each exactly once.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { BRIDGE, bridgeRegistrationYaml, TestBridge } from "./appservice_bridge.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";

const SENDER = `@${BRIDGE.senderLocalpart}:localhost`;

Deno.test("appservice: a bridge creates its users, masquerades and gets its events in order, across a restart", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-as-" });
  const bridge = new TestBridge();
  bridge.start();
  const registrationFile = `${dir}/bridge.yaml`;
  await Deno.writeTextFile(
    registrationFile,
    bridgeRegistrationYaml(bridge.url, "receive_ephemeral: true\n"),
  );
  const config = { appservices: { registration_files: [registrationFile] } };
  let server: TestServer = await startTestServer({ dataDir: `${dir}/data`, config });
  bridge.hsUrl = server.baseUrl;
  let alice: TestUser;
  let roomId = "";

  try {
    await t.step("the bridge registers its users without UIA; others may not", async () => {
      alice = await server.register("alice");
      const own = await bridge.client("POST", `${V3}/register`, {
        body: { type: "m.login.application_service", username: "_bridge_bob", inhibit_login: true },
      });
      assertEquals(own.status, 200, JSON.stringify(own.body));
      assertEquals(own.body.user_id, "@_bridge_bob:localhost");
      assertEquals(own.body.access_token, undefined);

      const withDevice = await bridge.client("POST", `${V3}/register`, {
        body: { type: "m.login.application_service", username: "_bridge_dave" },
      });
      assertEquals(withDevice.status, 200);
      assert(typeof withDevice.body.access_token === "string", "a device when not inhibited");

      const outside = await bridge.client("POST", `${V3}/register`, {
        body: { type: "m.login.application_service", username: "mallory", inhibit_login: true },
      });
      assertEquals([outside.status, outside.body.errcode], [400, "M_EXCLUSIVE"]);

      const human = await server.request("POST", `${V3}/register`, {
        body: { username: "_bridge_eve", password: "a password" },
      });
      assertEquals([human.status, human.body.errcode], [400, "M_EXCLUSIVE"]);
      const available = await server.request(
        "GET",
        `${V3}/register/available?username=_bridge_eve`,
      );
      assertEquals(available.body.errcode, "M_EXCLUSIVE");

      const noToken = await server.request("POST", `${V3}/register`, {
        body: { type: "m.login.application_service", username: "_bridge_eve" },
      });
      assertEquals([noToken.status, noToken.body.errcode], [401, "M_MISSING_TOKEN"]);
      const wrongToken = await server.request("POST", `${V3}/register`, {
        token: alice.accessToken,
        body: { type: "m.login.application_service", username: "_bridge_eve" },
      });
      assertEquals([wrongToken.status, wrongToken.body.errcode], [401, "M_UNKNOWN_TOKEN"]);
    });

    await t.step(
      "the as_token acts as the sender, or masquerades as a namespace user",
      async () => {
        const asSender = await bridge.client("GET", `${V3}/account/whoami`);
        assertEquals(asSender.body.user_id, SENDER);
        const asBob = await bridge.client("GET", `${V3}/account/whoami`, {
          as: "@_bridge_bob:localhost",
        });
        assertEquals(asBob.body.user_id, "@_bridge_bob:localhost");
        const asAlice = await bridge.client("GET", `${V3}/account/whoami`, { as: alice.userId });
        assertEquals([asAlice.status, asAlice.body.errcode], [403, "M_FORBIDDEN"]);
        const unregistered = await bridge.client("GET", `${V3}/account/whoami`, {
          as: "@_bridge_nobody:localhost",
        });
        assertEquals(unregistered.status, 403);
        const badDevice = await bridge.client(
          "GET",
          `${V3}/account/whoami?device_id=NOSUCHDEVICE`,
          { as: "@_bridge_bob:localhost" },
        );
        assertEquals([badDevice.status, badDevice.body.errcode], [400, "M_UNKNOWN_DEVICE"]);
      },
    );

    await t.step(
      "an invite of an unknown namespace user asks the bridge, which creates it",
      async () => {
        roomId = await createRoom(server, alice, { preset: "private_chat" });
        bridge.remoteUsers.add("@_bridge_carol:localhost");
        const invite = await server.request("POST", `${V3}/rooms/${enc(roomId)}/invite`, {
          token: alice.accessToken,
          body: { user_id: "@_bridge_carol:localhost" },
        });
        assertEquals(invite.status, 200, JSON.stringify(invite.body));
        assert(bridge.userQueries.includes("@_bridge_carol:localhost"));
        // The invite reaches the bridge: its user is the target.
        await bridge.waitFor(
          "the invite",
          () =>
            bridge.events().some((e) =>
              e.type === "m.room.member" && e.state_key === "@_bridge_carol:localhost" &&
              e.content.membership === "invite"
            ),
        );
        const join = await bridge.client("POST", `${V3}/rooms/${enc(roomId)}/join`, {
          body: {},
          as: "@_bridge_carol:localhost",
        });
        assertEquals(join.status, 200, JSON.stringify(join.body));
        const said = await bridge.client(
          "PUT",
          `${V3}/rooms/${enc(roomId)}/send/m.room.message/bridged-1`,
          { body: { msgtype: "m.text", body: "hello from IRC" }, as: "@_bridge_carol:localhost" },
        );
        assertEquals(said.status, 200, JSON.stringify(said.body));
        const event = await server.request(
          "GET",
          `${V3}/rooms/${enc(roomId)}/event/${enc(said.body.event_id)}`,
          { token: alice.accessToken },
        );
        assertEquals(event.body.sender, "@_bridge_carol:localhost");
      },
    );

    await t.step("events of rooms with bridge users arrive in order", async () => {
      for (let i = 0; i < 5; i++) {
        assertEquals(
          (await send(server, alice, roomId, { msgtype: "m.text", body: `a${i}` })).status,
          200,
        );
      }
      await bridge.waitFor("a0..a4", () => bodies(bridge).includes("a4"));
      assertEquals(
        bodies(bridge).filter((b) => /^a\d$/.test(b)),
        ["a0", "a1", "a2", "a3", "a4"],
      );
      assertEquals(bridge.unauthorised, 0);
      // A room without bridge users is none of its business.
      const other = await createRoom(server, alice, { preset: "private_chat" });
      await send(server, alice, other, { msgtype: "m.text", body: "private" });
      await send(server, alice, roomId, { msgtype: "m.text", body: "marker" });
      await bridge.waitFor("marker", () => bodies(bridge).includes("marker"));
      assert(!bodies(bridge).includes("private"), "events of an unrelated room were pushed");
      assert(!bridge.events().some((e) => e.room_id === other));
    });

    await t.step("receipts and presence reach the bridge (receive_ephemeral)", async () => {
      const last = bridge.events().filter((e) => e.room_id === roomId).at(-1);
      const receipt = await server.request(
        "POST",
        `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(last.event_id)}`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(receipt.status, 200, JSON.stringify(receipt.body));
      await bridge.waitFor(
        "the receipt",
        () =>
          bridge.ephemeral.some((e) =>
            e.type === "m.receipt" && e.room_id === roomId &&
            e.content[last.event_id]?.["m.read"]?.[alice.userId] !== undefined
          ),
      );
      const presence = await server.request(
        "PUT",
        `${V3}/presence/${enc(alice.userId)}/status`,
        { token: alice.accessToken, body: { presence: "online", status_msg: "bridging" } },
      );
      assertEquals(presence.status, 200, JSON.stringify(presence.body));
      await bridge.waitFor(
        "the presence",
        () =>
          bridge.ephemeral.some((e) =>
            e.type === "m.presence" && e.sender === alice.userId &&
            e.content.status_msg === "bridging"
          ),
      );
    });

    await t.step(
      "while the bridge is down and the server restarts, nothing is lost or reordered",
      async () => {
        await bridge.stop();
        for (let i = 0; i < 4; i++) {
          assertEquals(
            (await send(server, alice, roomId, { msgtype: "m.text", body: `b${i}` })).status,
            200,
          );
        }
        // Let the server try (and fail) at least once before it goes down.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await server.close();
        bridge.start();
        server = await startTestServer({ dataDir: `${dir}/data`, config });
        bridge.hsUrl = server.baseUrl;
        alice = await server.login("alice", alice.password);
        await send(server, alice, roomId, { msgtype: "m.text", body: "after restart" });
        await bridge.waitFor("the missed events", () => bodies(bridge).includes("after restart"));
        const seen = bodies(bridge).filter((b) => /^b\d$/.test(b) || b === "after restart");
        assertEquals(seen, ["b0", "b1", "b2", "b3", "after restart"]);
        const ids = bridge.events().map((e) => e.event_id);
        assertEquals(new Set(ids).size, ids.length, "an event was delivered twice");
        const txnIds = bridge.transactions.map((txn) => Number(txn.txnId));
        assertEquals(txnIds, [...txnIds].sort((a, b) => a - b), "transaction IDs go up");
      },
    );

    await t.step("a bridge user logs in with m.login.application_service", async () => {
      const login = await bridge.client("POST", `${V3}/login`, {
        body: {
          type: "m.login.application_service",
          identifier: { type: "m.id.user", user: "_bridge_bob" },
        },
      });
      assertEquals(login.status, 200, JSON.stringify(login.body));
      assertEquals(login.body.user_id, "@_bridge_bob:localhost");
      const whoami = await server.request("GET", `${V3}/account/whoami`, {
        token: login.body.access_token,
      });
      assertEquals(whoami.body.user_id, "@_bridge_bob:localhost");
      const notOurs = await bridge.client("POST", `${V3}/login`, {
        body: {
          type: "m.login.application_service",
          identifier: { type: "m.id.user", user: "alice" },
        },
      });
      assertEquals([notOurs.status, notOurs.body.errcode], [403, "M_EXCLUSIVE"]);
      const noToken = await server.request("POST", `${V3}/login`, {
        body: {
          type: "m.login.application_service",
          identifier: { type: "m.id.user", user: "_bridge_bob" },
        },
      });
      assertEquals([noToken.status, noToken.body.errcode], [401, "M_MISSING_TOKEN"]);
      const flows = await server.request("GET", `${V3}/login`);
      assert(
        flows.body.flows.some((f: { type: string }) => f.type === "m.login.application_service"),
      );
    });
  } finally {
    await server.close();
    await bridge.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

function bodies(bridge: TestBridge): string[] {
  return bridge.events().filter((e) => e.type === "m.room.message").map((e) => e.content.body);
}
