/**
 * What application services may do beyond ordinary clients, against a real server on
 * loopback: `ts` on `/send` and `/state` (timestamp massaging), devices created with
 * `PUT /devices/{deviceId}`, device deletion, cross-signing key replacement and deactivation
 * without user-interactive auth, whoami without a device, and user and alias queries to a
 * service that hangs, fails for a while, or is not there at all.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { BRIDGE, bridgeRegistrationYaml, TestBridge } from "./appservice_bridge.ts";
import { CrossSigning } from "./e2ee_support.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";
import { appservicesOf } from "../../server/appservice/registry.ts";

const BOB = "@_bridge_bob:localhost";
const CAROL = "@_bridge_carol:localhost";
const SENDER = `@${BRIDGE.senderLocalpart}:localhost`;
const FLAKY_AS_TOKEN = "flaky-as-token-abcdefghijklmnopqrstu";
const FLAKY_HS_TOKEN = "flaky-hs-token-abcdefghijklmnopqrstu";

const registrationYaml = (id: string, url: string, prefix: string, tokens: string[]) => `
id: ${id}
url: "${url}"
as_token: "${tokens[0]}"
hs_token: "${tokens[1]}"
sender_localpart: ${prefix}bot
namespaces:
  users:
    - exclusive: true
      regex: "@${prefix}.*:localhost"
  aliases:
    - exclusive: true
      regex: "#${prefix}.*:localhost"
  rooms: []
`;

/**
 * A service whose queries hang (`hang`), or fail with 503 `failures` times before it creates
 * the user or room (`fail`). It counts the queries it got, per path.
 */
class FlakyService {
  mode: "hang" | "fail" = "hang";
  failures = 0;
  hsUrl = "";
  readonly attempts = new Map<string, number>();
  readonly #held: (() => void)[] = [];
  readonly #server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => this.#handle(request),
  );

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  count(path: string): number {
    return this.attempts.get(path) ?? 0;
  }

  async close(): Promise<void> {
    for (const release of this.#held.splice(0)) release();
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    if (request.headers.get("authorization") !== `Bearer ${FLAKY_HS_TOKEN}`) {
      return Response.json({ errcode: "M_FORBIDDEN" }, { status: 403 });
    }
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (request.method === "PUT") return Response.json({}); // transactions
    this.attempts.set(path, this.count(path) + 1);
    if (this.mode === "hang") {
      await new Promise<void>((resolve) => this.#held.push(resolve));
      return Response.json({});
    }
    if (this.failures > 0) {
      this.failures--;
      return Response.json({ errcode: "M_UNKNOWN" }, { status: 503 });
    }
    const id = path.slice(path.lastIndexOf("/") + 1);
    const localpart = id.slice(1, id.indexOf(":"));
    const res = await fetch(
      `${this.hsUrl}${V3}/${id.startsWith("@") ? "register" : "createRoom"}`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${FLAKY_AS_TOKEN}` },
        body: JSON.stringify(
          id.startsWith("@")
            ? { type: "m.login.application_service", username: localpart, inhibit_login: true }
            : { room_alias_name: localpart, preset: "public_chat" },
        ),
      },
    );
    await res.body?.cancel();
    return Response.json({}, { status: res.ok ? 200 : 500 });
  }
}

/** Fetches an event as Alice sees it. */
async function eventOf(server: TestServer, user: TestUser, roomId: string, eventId: string) {
  const res = await server.request("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`, {
    token: user.accessToken,
  });
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

Deno.test("appservice: timestamps, devices, UIA-free operations, whoami and query failures", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-as-extra-" });
  const bridge = new TestBridge();
  bridge.start();
  const flaky = new FlakyService();
  await Deno.writeTextFile(`${dir}/bridge.yaml`, bridgeRegistrationYaml(bridge.url));
  await Deno.writeTextFile(
    `${dir}/flaky.yaml`,
    registrationYaml("flaky", flaky.url, "_flaky_", [FLAKY_AS_TOKEN, FLAKY_HS_TOKEN]),
  );
  // A port that was free a moment ago: nothing listens, connections are refused at once.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const gonePort = probe.addr.port;
  probe.close();
  await Deno.writeTextFile(
    `${dir}/gone.yaml`,
    registrationYaml("gone", `http://127.0.0.1:${gonePort}`, "_gone_", [
      "gone-as-token-0123456789abc",
      "gone-hs-token-0123456789abc",
    ]),
  );
  const config = {
    limits: { max_devices_per_user: 3 },
    appservices: {
      registration_files: [`${dir}/bridge.yaml`, `${dir}/flaky.yaml`, `${dir}/gone.yaml`],
    },
  };
  const server = await startTestServer({ config });
  bridge.hsUrl = server.baseUrl;
  flaky.hsUrl = server.baseUrl;
  let alice: TestUser;
  let roomId = "";

  try {
    await t.step("setup: the bridge's users join Alice's room", async () => {
      alice = await server.register("alice");
      roomId = await createRoom(server, alice, {
        preset: "public_chat",
        power_level_content_override: { state_default: 0 },
      });
      for (const user of [BOB, CAROL]) {
        const made = await bridge.client("POST", `${V3}/register`, {
          body: {
            type: "m.login.application_service",
            username: user.slice(1, user.indexOf(":")),
            inhibit_login: true,
          },
        });
        assertEquals(made.status, 200, JSON.stringify(made.body));
        const join = await bridge.client("POST", `${V3}/join/${enc(roomId)}`, {
          body: {},
          as: user,
        });
        assertEquals(join.status, 200, JSON.stringify(join.body));
      }
    });

    await t.step("ts sets origin_server_ts of a service's events, not of others'", async () => {
      const sent = await bridge.client(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/ts-1?ts=1234567890123`,
        { body: { msgtype: "m.text", body: "said on IRC a while ago" }, as: BOB },
      );
      assertEquals(sent.status, 200, JSON.stringify(sent.body));
      assertEquals(
        (await eventOf(server, alice, roomId, sent.body.event_id)).origin_server_ts,
        1234567890123,
      );
      // The transaction is the same one whatever the timestamp.
      const repeat = await bridge.client(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/ts-1?ts=5`,
        { body: { msgtype: "m.text", body: "said on IRC a while ago" }, as: BOB },
      );
      assertEquals(repeat.body.event_id, sent.body.event_id);

      const state = await bridge.client(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/state/org.example.bridge/${enc(BOB)}?ts=1600000000000`,
        { body: { network: "libera" }, as: BOB },
      );
      assertEquals(state.status, 200, JSON.stringify(state.body));
      assertEquals(
        (await eventOf(server, alice, roomId, state.body.event_id)).origin_server_ts,
        1600000000000,
      );

      // An ordinary client's ts is ignored (as Synapse does).
      const before = Date.now();
      const own = await server.request(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/alice-ts?ts=5`,
        { token: alice.accessToken, body: { msgtype: "m.text", body: "now" } },
      );
      assertEquals(own.status, 200);
      const ownTs = (await eventOf(server, alice, roomId, own.body.event_id)).origin_server_ts;
      assert(ownTs >= before - 1000, `alice's event kept the clock (${ownTs})`);

      // A ts that origin_server_ts cannot hold is a 400, and nothing is sent.
      for (const bad of ["abc", "-1", "1.5", "99999999999999999", ""]) {
        const res = await bridge.client(
          "PUT",
          `${V3}/rooms/${enc(roomId)}/send/m.room.message/bad-${bad}?ts=${bad}`,
          { body: { msgtype: "m.text", body: "bad ts" }, as: BOB },
        );
        assertEquals([res.status, res.body.errcode], [400, "M_INVALID_PARAM"], `ts=${bad}`);
      }
      const badState = await bridge.client(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/state/org.example.bridge/x?ts=never`,
        { body: { network: "x" }, as: BOB },
      );
      assertEquals([badState.status, badState.body.errcode], [400, "M_INVALID_PARAM"]);
      const last = await server.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=1`,
        { token: alice.accessToken },
      );
      assertEquals(last.body.chunk[0].event_id, own.body.event_id);
    });

    await t.step("whoami leaves device_id out for a service without a device", async () => {
      const asSender = await bridge.client("GET", `${V3}/account/whoami`);
      assertEquals(asSender.status, 200);
      assertEquals(asSender.body.user_id, SENDER);
      assert(!("device_id" in asSender.body), JSON.stringify(asSender.body));
      const own = await server.request("GET", `${V3}/account/whoami`, {
        token: alice.accessToken,
      });
      assertEquals(own.body.device_id, alice.deviceId);
    });

    await t.step("a service creates its users' devices with PUT /devices", async () => {
      const created = await bridge.client("PUT", `${V3}/devices/BRIDGEDEV`, {
        body: { display_name: "Bridge (IRC)" },
        as: BOB,
      });
      assertEquals(created.status, 201, JSON.stringify(created.body));
      assertEquals(created.body, {});
      const listed = await bridge.client("GET", `${V3}/devices`, { as: BOB });
      assertEquals(
        listed.body.devices.map((d: { device_id: string; display_name?: string }) => [
          d.device_id,
          d.display_name,
        ]),
        [["BRIDGEDEV", "Bridge (IRC)"]],
      );
      // Now the service may act on that device.
      const who = await bridge.client("GET", `${V3}/account/whoami?device_id=BRIDGEDEV`, {
        as: BOB,
      });
      assertEquals([who.status, who.body.device_id], [200, "BRIDGEDEV"]);
      // A second PUT updates: 200.
      const renamed = await bridge.client("PUT", `${V3}/devices/BRIDGEDEV`, {
        body: { display_name: "Bridge" },
        as: BOB,
      });
      assertEquals(renamed.status, 200);
      const one = await bridge.client("GET", `${V3}/devices/BRIDGEDEV`, { as: BOB });
      assertEquals(one.body.display_name, "Bridge");
      // Ordinary clients only update their devices.
      const human = await server.request("PUT", `${V3}/devices/NEWDEVICE`, {
        token: alice.accessToken,
        body: { display_name: "made up" },
      });
      assertEquals(human.status, 404);
      const aliceDevices = await server.request("GET", `${V3}/devices`, {
        token: alice.accessToken,
      });
      assertEquals(aliceDevices.body.devices.length, 1);
      // The new device is announced to users sharing a room (device_lists.changed).
      const sync = await server.request(
        "GET",
        `${V3}/sync?timeout=0`,
        { token: alice.accessToken },
      );
      const next = await server.request(
        "GET",
        `${V3}/sync?timeout=0&since=${enc(sync.body.next_batch)}`,
        { token: alice.accessToken },
      );
      assertEquals(next.status, 200);
      await bridge.client("PUT", `${V3}/devices/SECONDDEV`, { body: {}, as: BOB });
      const changed = await server.request(
        "GET",
        `${V3}/sync?timeout=5000&since=${enc(next.body.next_batch)}`,
        { token: alice.accessToken },
      );
      assert(
        changed.body.device_lists?.changed?.includes(BOB),
        JSON.stringify(changed.body.device_lists),
      );
    });

    await t.step("a service deletes devices without user-interactive auth", async () => {
      await bridge.client("PUT", `${V3}/devices/THIRDDEV`, { body: {}, as: BOB });
      // max_devices_per_user holds for services too.
      const fourth = await bridge.client("PUT", `${V3}/devices/FOURTHDEV`, { body: {}, as: BOB });
      assertEquals([fourth.status, fourth.body.errcode], [403, "M_FORBIDDEN"]);
      const one = await bridge.client("DELETE", `${V3}/devices/BRIDGEDEV`, { as: BOB });
      assertEquals(one.status, 200, JSON.stringify(one.body));
      const gone = await bridge.client("GET", `${V3}/devices/BRIDGEDEV`, { as: BOB });
      assertEquals(gone.status, 404);
      const many = await bridge.client("POST", `${V3}/delete_devices`, {
        body: { devices: ["SECONDDEV", "THIRDDEV"] },
        as: BOB,
      });
      assertEquals(many.status, 200, JSON.stringify(many.body));
      const left = await bridge.client("GET", `${V3}/devices`, { as: BOB });
      assertEquals(left.body.devices, []);
      // Ordinary clients still go through UIA.
      const human = await server.request("DELETE", `${V3}/devices/${alice.deviceId}`, {
        token: alice.accessToken,
      });
      assertEquals(human.status, 401);
      const humanMany = await server.request("POST", `${V3}/delete_devices`, {
        token: alice.accessToken,
        body: { devices: [alice.deviceId] },
      });
      assertEquals(humanMany.status, 401);
    });

    await t.step(
      "a service replaces cross-signing keys without user-interactive auth",
      async () => {
        const path = `${V3}/keys/device_signing/upload`;
        const first = await (await CrossSigning.create(BOB)).uploadBody();
        const up = await bridge.client("POST", path, { body: first, as: BOB });
        assertEquals(up.status, 200, JSON.stringify(up.body));
        const second = await (await CrossSigning.create(BOB)).uploadBody();
        const replaced = await bridge.client("POST", path, { body: second, as: BOB });
        assertEquals(replaced.status, 200, JSON.stringify(replaced.body));
        const query = await server.request("POST", `${V3}/keys/query`, {
          token: alice.accessToken,
          body: { device_keys: { [BOB]: [] } },
        });
        assertEquals(query.body.master_keys[BOB].keys, second.master_key.keys);
        // Alice replaces hers only with UIA.
        const mine = await (await CrossSigning.create(alice.userId)).uploadBody();
        const mineUp = await server.request("POST", path, { token: alice.accessToken, body: mine });
        assertEquals(mineUp.status, 200);
        const mine2 = await (await CrossSigning.create(alice.userId)).uploadBody();
        const challenged = await server.request("POST", path, {
          token: alice.accessToken,
          body: mine2,
        });
        assertEquals(challenged.status, 401);
      },
    );

    await t.step("a service deactivates its users without UIA, but not its sender", async () => {
      const deactivated = await bridge.client("POST", `${V3}/account/deactivate`, {
        body: {},
        as: CAROL,
      });
      assertEquals(deactivated.status, 200, JSON.stringify(deactivated.body));
      const after = await bridge.client("GET", `${V3}/account/whoami`, { as: CAROL });
      assertEquals([after.status, after.body.errcode], [403, "M_USER_DEACTIVATED"]);
      const sender = await bridge.client("POST", `${V3}/account/deactivate`, { body: {} });
      assertEquals([sender.status, sender.body.errcode], [403, "M_FORBIDDEN"]);
      assertEquals((await bridge.client("GET", `${V3}/account/whoami`)).status, 200);
      const human = await server.request("POST", `${V3}/account/deactivate`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(human.status, 401);
      assertEquals(
        (await send(server, alice, roomId, { msgtype: "m.text", body: "hi" })).status,
        200,
      );
    });

    await t.step("a query that hangs, fails or finds no service means not found", async () => {
      appservicesOf(server.hs).queryTiming = {
        attemptMs: 300,
        deadlineMs: 1_500,
        retryDelayMs: 50,
        maxAttempts: 3,
      };
      // Hanging: retried, then a 404 after the deadline; concurrent askers share the query.
      const hungUser = "@_flaky_hung:localhost";
      const started = Date.now();
      const [a, b] = await Promise.all(
        [1, 2].map(() =>
          server.request("GET", `${V3}/profile/${enc(hungUser)}`, { token: alice.accessToken })
        ),
      );
      const took = Date.now() - started;
      for (const res of [a, b]) {
        assertEquals([res.status, res.body.errcode], [404, "M_NOT_FOUND"]);
      }
      assert(took < 3_000, `gave up in time (${took} ms)`);
      assertEquals(flaky.count(`/_matrix/app/v1/users/${hungUser}`), 3);
      const hungAlias = "#_flaky_hung:localhost";
      const join = await server.request("POST", `${V3}/join/${enc(hungAlias)}`, {
        token: alice.accessToken,
        body: {},
      });
      assertEquals(join.status, 404, JSON.stringify(join.body));
      assertEquals(flaky.count(`/_matrix/app/v1/rooms/${hungAlias}`), 3);

      // Failing twice, then creating the user: the retry finds it.
      // (Longer attempts: the service registers the user within one.)
      appservicesOf(server.hs).queryTiming = {
        attemptMs: 3_000,
        deadlineMs: 6_000,
        retryDelayMs: 50,
        maxAttempts: 3,
      };
      flaky.mode = "fail";
      flaky.failures = 2;
      const lateUser = "@_flaky_late:localhost";
      const late = await server.request("GET", `${V3}/profile/${enc(lateUser)}`, {
        token: alice.accessToken,
      });
      assertEquals(late.status, 200, JSON.stringify(late.body));
      assertEquals(flaky.count(`/_matrix/app/v1/users/${lateUser}`), 3);
      flaky.failures = 1;
      const lateAlias = "#_flaky_late:localhost";
      const resolved = await server.request("GET", `${V3}/directory/room/${enc(lateAlias)}`, {
        token: alice.accessToken,
      });
      assertEquals(resolved.status, 200, JSON.stringify(resolved.body));
      assert(resolved.body.room_id.startsWith("!"));

      // A service nobody listens for: a quick 404.
      const goneStart = Date.now();
      const gone = await server.request("GET", `${V3}/profile/${enc("@_gone_x:localhost")}`, {
        token: alice.accessToken,
      });
      assertEquals([gone.status, gone.body.errcode], [404, "M_NOT_FOUND"]);
      assert(Date.now() - goneStart < 1_500);
    });
  } finally {
    await server.close();
    await flaky.close();
    await bridge.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
