/**
 * The rest of the application service surface against a real server on loopback: exclusive
 * alias namespaces and alias queries, a second (non-exclusive) service interested through an
 * alias, third-party lookups passed through to the bridge, the bridge's room directory in
 * `/publicRooms`, the ping, the catch-up of events that never reached the queue, and
 * registration files that stop start-up.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { BRIDGE, bridgeRegistrationYaml, TestBridge } from "./appservice_bridge.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";
import { ConfigError } from "../../server/config.ts";

const LOGGER_YAML = (url: string) => `
id: logger
url: ${url}
as_token: logger-as-token-abcdefghijklmnop
hs_token: logger-hs-token-abcdefghijklmnop
sender_localpart: logbot
namespaces:
  users: []
  aliases:
    - exclusive: false
      regex: "#_watch_.*:localhost"
`;

/** A second service that only records transactions (authenticated with its own hs_token). */
function startLogger() {
  const events: { room_id: string; type: string; content: Record<string, unknown> }[] = [];
  let refused = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (req.headers.get("authorization") !== "Bearer logger-hs-token-abcdefghijklmnop") {
      refused++;
      return Response.json({ errcode: "M_FORBIDDEN" }, { status: 403 });
    }
    if (
      req.method === "PUT" && new URL(req.url).pathname.startsWith("/_matrix/app/v1/transactions/")
    ) {
      events.push(...(await req.json()).events);
      return Response.json({});
    }
    return Response.json({ errcode: "M_UNRECOGNIZED" }, { status: 404 });
  });
  return { server, events, refused: () => refused, url: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("appservice: aliases, lookups, directories, ping and catch-up", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-as-api-" });
  const bridge = new TestBridge();
  bridge.start();
  const logger = startLogger();
  await Deno.writeTextFile(`${dir}/bridge.yaml`, bridgeRegistrationYaml(bridge.url));
  await Deno.writeTextFile(`${dir}/logger.yaml`, LOGGER_YAML(logger.url));
  const config = {
    appservices: { registration_files: [`${dir}/bridge.yaml`, `${dir}/logger.yaml`] },
  };
  const kv = await Deno.openKv(":memory:");
  let server: TestServer = await startTestServer({ kv, config });
  bridge.hsUrl = server.baseUrl;
  let alice: TestUser;

  try {
    await t.step("exclusive aliases are the bridge's; unknown ones are asked for", async () => {
      alice = await server.register("alice");
      const roomId = await createRoom(server, alice);
      const squat = await server.request(
        "PUT",
        `${V3}/directory/room/${enc("#_bridge_x:localhost")}`,
        {
          token: alice.accessToken,
          body: { room_id: roomId },
        },
      );
      assertEquals([squat.status, squat.body.errcode], [400, "M_EXCLUSIVE"]);
      const viaCreate = await server.request("POST", `${V3}/createRoom`, {
        token: alice.accessToken,
        body: { room_alias_name: "_bridge_y" },
      });
      assertEquals([viaCreate.status, viaCreate.body.errcode], [400, "M_EXCLUSIVE"]);

      const resolved = await server.request(
        "GET",
        `${V3}/directory/room/${enc("#_bridge_libera:localhost")}`,
      );
      assertEquals(resolved.status, 200, JSON.stringify(resolved.body));
      assert(bridge.aliasQueries.includes("#_bridge_libera:localhost"));
      const joined = await server.request("POST", `${V3}/join/${enc("#_bridge_oftc:localhost")}`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      const unknown = await server.request(
        "GET",
        `${V3}/directory/room/${enc("#nothing:localhost")}`,
      );
      assertEquals(unknown.status, 404);
    });

    await t.step(
      "a service interested through a non-exclusive alias gets the room's events",
      async () => {
        const roomId = await createRoom(server, alice, { room_alias_name: "_watch_news" });
        await send(server, alice, roomId, { msgtype: "m.text", body: "watched" });
        const quiet = await createRoom(server, alice);
        await send(server, alice, quiet, { msgtype: "m.text", body: "unwatched" });
        await send(server, alice, roomId, { msgtype: "m.text", body: "watched again" });
        await bridge.waitFor(
          "the logger's events",
          () => logger.events.some((e) => e.content.body === "watched again"),
        );
        assert(
          !logger.events.some((e) => e.room_id === quiet),
        );
        assertEquals(logger.refused(), 0);
        // Not one of the bridge's rooms.
        assert(!bridge.events().some((e) => e.room_id === roomId));
      },
    );

    await t.step("a service manages the aliases of its namespace, and only those", async () => {
      const roomId = await createRoom(server, alice);
      const put = (alias: string) =>
        bridge.client("PUT", `${V3}/directory/room/${enc(alias)}`, { body: { room_id: roomId } });
      // Not joined to the room, yet its namespace's alias is the service's to create.
      assertEquals((await put("#_bridge_alice_room:localhost")).status, 200);
      const outside = await put("#elsewhere:localhost");
      assertEquals([outside.status, outside.body.errcode], [400, "M_EXCLUSIVE"]);
      // Alice made #_watch_news (a non-exclusive namespace); its service may delete it.
      const loggerToken = "logger-as-token-abcdefghijklmnop";
      const byAlice = await server.request(
        "PUT",
        `${V3}/directory/room/${enc("#plain:localhost")}`,
        {
          token: alice.accessToken,
          body: { room_id: roomId },
        },
      );
      assertEquals(byAlice.status, 200);
      const notTheirs = await server.request(
        "DELETE",
        `${V3}/directory/room/${enc("#plain:localhost")}`,
        {
          token: loggerToken,
        },
      );
      assertEquals([notTheirs.status, notTheirs.body.errcode], [400, "M_EXCLUSIVE"]);
      const deleted = await server.request(
        "DELETE",
        `${V3}/directory/room/${enc("#_watch_news:localhost")}`,
        { token: loggerToken },
      );
      assertEquals(deleted.status, 200, JSON.stringify(deleted.body));
      const gone = await server.request(
        "GET",
        `${V3}/directory/room/${enc("#_watch_news:localhost")}`,
      );
      assertEquals(gone.status, 404);
    });

    await t.step("third-party lookups are answered by the bridge", async () => {
      const protocols = await server.request("GET", `${V3}/thirdparty/protocols`, {
        token: alice.accessToken,
      });
      assertEquals(protocols.status, 200);
      assertEquals(protocols.body.irc.instances[0].instance_id, `${BRIDGE.id}|libera`);
      assertEquals(protocols.body.irc.location_fields, ["network", "channel"]);
      const one = await server.request("GET", `${V3}/thirdparty/protocol/irc`, {
        token: alice.accessToken,
      });
      assertEquals(one.body.user_fields, ["network", "nickname"]);
      const none = await server.request("GET", `${V3}/thirdparty/protocol/xmpp`, {
        token: alice.accessToken,
      });
      assertEquals(none.status, 404);
      const location = await server.request(
        "GET",
        `${V3}/thirdparty/location/irc?network=libera&channel=${enc("#deno")}`,
        { token: alice.accessToken },
      );
      assertEquals(location.body, [{
        alias: "#_bridge_deno:localhost",
        protocol: "irc",
        fields: { network: "libera", channel: "#deno" },
      }]);
      const user = await server.request(
        "GET",
        `${V3}/thirdparty/user?userid=${enc("@x:localhost")}`,
        {
          token: alice.accessToken,
        },
      );
      assertEquals(user.body[0].userid, "@x:localhost");
      const missing = await server.request("GET", `${V3}/thirdparty/location`, {
        token: alice.accessToken,
      });
      assertEquals(missing.body.errcode, "M_MISSING_PARAM");
      const anonymous = await server.request("GET", `${V3}/thirdparty/protocols`);
      assertEquals(anonymous.status, 401);
    });

    await t.step("the bridge's room directory is listed per network", async () => {
      const portal = await bridge.client("POST", `${V3}/createRoom`, {
        body: { preset: "public_chat", name: "Portal to #deno" },
      });
      const roomId = portal.body.room_id;
      const path = `${V3}/directory/list/appservice/libera/${enc(roomId)}`;
      const byAlice = await server.request("PUT", path, {
        token: alice.accessToken,
        body: { visibility: "public" },
      });
      assertEquals(byAlice.status, 403);
      const listed = await bridge.client("PUT", path, { body: { visibility: "public" } });
      assertEquals(listed.status, 200, JSON.stringify(listed.body));
      const list = (body: Record<string, unknown>) =>
        server.request("POST", `${V3}/publicRooms`, { token: alice.accessToken, body });
      const network = await list({ third_party_instance_id: `${BRIDGE.id}|libera` });
      assertEquals(network.body.chunk.map((r: { room_id: string }) => r.room_id), [roomId]);
      const main = await list({});
      assert(!main.body.chunk.some((r: { room_id: string }) => r.room_id === roomId));
      const all = await list({ include_all_networks: true });
      assert(all.body.chunk.some((r: { room_id: string }) => r.room_id === roomId));
      const byGet = await server.request(
        "GET",
        `${V3}/publicRooms?third_party_instance_id=${enc(`${BRIDGE.id}|libera`)}`,
      );
      assertEquals(byGet.body.chunk.map((r: { room_id: string }) => r.room_id), [roomId]);
      const bad = await list({ third_party_instance_id: "nonsense" });
      assertEquals(bad.status, 400);
      await bridge.client("PUT", path, { body: { visibility: "private" } });
      const after = await list({ third_party_instance_id: `${BRIDGE.id}|libera` });
      assertEquals(after.body.chunk, []);
    });

    await t.step("ping", async () => {
      const ping = await bridge.client("POST", `/_matrix/client/v1/appservice/${BRIDGE.id}/ping`, {
        body: { transaction_id: "meow" },
      });
      assertEquals(ping.status, 200, JSON.stringify(ping.body));
      assert(typeof ping.body.duration_ms === "number");
      const other = await bridge.client("POST", "/_matrix/client/v1/appservice/logger/ping", {
        body: {},
      });
      assertEquals(other.status, 403);
      const human = await server.request(
        "POST",
        `/_matrix/client/v1/appservice/${BRIDGE.id}/ping`,
        {
          token: alice.accessToken,
          body: {},
        },
      );
      assertEquals(human.status, 403);
    });

    await t.step(
      "events committed but never queued (a crash) are queued at the next start",
      async () => {
        const bob = await bridge.client("POST", `${V3}/register`, {
          body: {
            type: "m.login.application_service",
            username: "_bridge_bob",
            inhibit_login: true,
          },
        });
        assertEquals(bob.status, 200);
        const roomId = await createRoom(server, alice, { invite: ["@_bridge_bob:localhost"] });
        await bridge.client("POST", `${V3}/rooms/${enc(roomId)}/join`, {
          body: {},
          as: "@_bridge_bob:localhost",
        });
        await send(server, alice, roomId, { msgtype: "m.text", body: "before the crash" });
        await bridge.waitFor(
          "the first message",
          () => bodies(bridge).includes("before the crash"),
        );
        await bridge.stop();
        const mark = (await kv.get<number>(["appservice", "enqueued"])).value!;
        for (const body of ["lost 1", "lost 2"]) {
          await send(server, alice, roomId, { msgtype: "m.text", body });
        }
        await server.close();
        // Undo what the subscriber wrote after the events' commits, as if it never ran.
        for await (const entry of kv.list({ prefix: ["appservice", "queue"] })) {
          await kv.delete(entry.key);
        }
        await kv.delete(["appservice", "txn", BRIDGE.id]);
        await kv.set(["appservice", "enqueued"], mark);
        bridge.start();
        server = await startTestServer({ kv, config });
        bridge.hsUrl = server.baseUrl;
        await bridge.waitFor("the events of the crash", () => bodies(bridge).includes("lost 2"));
        assertEquals(bodies(bridge).slice(-2), ["lost 1", "lost 2"]);
      },
    );

    await t.step("bad registration files stop start-up", async () => {
      await Deno.writeTextFile(`${dir}/broken.yaml`, "id: broken\nurl: null\nhs_token: x\n");
      await assertRejects(
        () =>
          startTestServer({
            config: { appservices: { registration_files: [`${dir}/broken.yaml`] } },
          }),
        ConfigError,
      );
      await assertRejects(
        () =>
          startTestServer({
            config: {
              appservices: { registration_files: [`${dir}/bridge.yaml`, `${dir}/bridge.yaml`] },
            },
          }),
        ConfigError,
      );
      await assertRejects(
        () =>
          startTestServer({
            config: { appservices: { registration_files: [`${dir}/none.yaml`] } },
          }),
        ConfigError,
      );
    });
  } finally {
    await server.close();
    kv.close();
    await bridge.stop();
    await logger.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

function bodies(bridge: TestBridge): string[] {
  return bridge.events().filter((e) => e.type === "m.room.message").map((e) => e.content.body);
}

Deno.test("appservice: rate_limited: false spares the bridge's users, not the others", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-as-rl-" });
  const bridge = new TestBridge();
  bridge.start();
  await Deno.writeTextFile(`${dir}/bridge.yaml`, bridgeRegistrationYaml(bridge.url));
  const server = await startTestServer({
    config: {
      appservices: { registration_files: [`${dir}/bridge.yaml`] },
      rate_limits: { send: { per_second: 0.01, burst: 2 } },
    },
  });
  bridge.hsUrl = server.baseUrl;
  try {
    const user = "@_bridge_fast:localhost";
    await bridge.client("POST", `${V3}/register`, {
      body: { type: "m.login.application_service", username: "_bridge_fast", inhibit_login: true },
    });
    const room = await bridge.client("POST", `${V3}/createRoom`, { body: {}, as: user });
    const bridged: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await bridge.client(
        "PUT",
        `${V3}/rooms/${enc(room.body.room_id)}/send/m.room.message/t${i}`,
        { body: { msgtype: "m.text", body: `${i}` }, as: user },
      );
      bridged.push(res.status);
    }
    assertEquals(bridged, [200, 200, 200, 200, 200]);
    const alice = await server.register("alice");
    const roomId = await createRoom(server, alice);
    const human: number[] = [];
    for (let i = 0; i < 5; i++) {
      human.push((await send(server, alice, roomId, { msgtype: "m.text", body: `${i}` })).status);
    }
    assert(human.includes(429), `a human is rate-limited: ${human}`);
  } finally {
    await server.close();
    await bridge.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
