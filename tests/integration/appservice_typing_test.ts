/**
 * Typing notifications for application services with `receive_ephemeral` (spec: Application
 * Service API, "Pushing ephemeral data"), against a real server and a test bridge on loopback:
 * `m.typing` with `room_id` and the room's whole typing set reaches the bridge on start, stop
 * and expiry, for rooms it is interested in (one of its users is a member, or the room's alias
 * is in its namespace), never for other rooms, and never to a service without
 * `receive_ephemeral`.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { bridgeRegistrationYaml, TestBridge } from "./appservice_bridge.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";

const BOB = "@_bridge_bob:localhost";
const QUIET_AS_TOKEN = "quiet-as-token-abcdefghijklmnopqrstu";
const QUIET_HS_TOKEN = "quiet-hs-token-abcdefghijklmnopqrstu";
const QUIET_USER = "@_quiet_zoe:localhost";

/** A service without `receive_ephemeral`: it records what its transactions carry. */
class QuietService {
  // deno-lint-ignore no-explicit-any
  readonly events: any[] = [];
  ephemeralSeen = 0;
  readonly #server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (request.headers.get("authorization") !== `Bearer ${QUIET_HS_TOKEN}`) {
        return Response.json({ errcode: "M_FORBIDDEN" }, { status: 403 });
      }
      if (request.method === "PUT") {
        const body = await request.json();
        this.events.push(...body.events);
        if (body.ephemeral !== undefined) this.ephemeralSeen++;
      } else await request.body?.cancel();
      return Response.json({});
    },
  );

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

const quietYaml = (url: string) => `
id: quiet
url: "${url}"
as_token: "${QUIET_AS_TOKEN}"
hs_token: "${QUIET_HS_TOKEN}"
sender_localpart: _quiet_bot
namespaces:
  users:
    - exclusive: true
      regex: "@_quiet_.*:localhost"
  aliases: []
  rooms: []
`;

async function typing(
  server: TestServer,
  user: TestUser,
  roomId: string,
  body: { typing: boolean; timeout?: number },
): Promise<void> {
  const res = await server.request(
    "PUT",
    `${V3}/rooms/${enc(roomId)}/typing/${enc(user.userId)}`,
    { token: user.accessToken, body },
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
}

/** The `m.typing` sets the bridge got for a room, in order. */
function typingSets(bridge: TestBridge, roomId: string): string[][] {
  return bridge.ephemeral
    .filter((e) => e.type === "m.typing" && e.room_id === roomId)
    .map((e) => e.content.user_ids);
}

Deno.test("appservice: typing notifications reach services with receive_ephemeral", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-as-typing-" });
  const bridge = new TestBridge();
  bridge.start();
  const quiet = new QuietService();
  await Deno.writeTextFile(
    `${dir}/bridge.yaml`,
    bridgeRegistrationYaml(bridge.url, "receive_ephemeral: true\n"),
  );
  await Deno.writeTextFile(`${dir}/quiet.yaml`, quietYaml(quiet.url));
  const config = {
    appservices: { registration_files: [`${dir}/bridge.yaml`, `${dir}/quiet.yaml`] },
  };
  const server = await startTestServer({ config });
  bridge.hsUrl = server.baseUrl;
  let alice: TestUser;
  let carol: TestUser;
  let roomId = "";
  let elsewhere = "";
  let aliased = "";

  try {
    await t.step("setup: a bridged room, a room without the bridge, an aliased room", async () => {
      alice = await server.register("alice");
      carol = await server.register("carol");
      roomId = await createRoom(server, alice, { preset: "public_chat" });
      elsewhere = await createRoom(server, alice, { preset: "public_chat" });
      // No bridge user in it: interesting through its alias in the bridge's namespace.
      aliased = await createRoom(server, carol, { preset: "public_chat" });
      const alias = await bridge.client(
        "PUT",
        `${V3}/directory/room/${enc("#_bridge_portal:localhost")}`,
        {
          body: { room_id: aliased },
        },
      );
      assertEquals(alias.status, 200, JSON.stringify(alias.body));
      const made = await bridge.client("POST", `${V3}/register`, {
        body: { type: "m.login.application_service", username: "_bridge_bob" },
      });
      assertEquals(made.status, 200, JSON.stringify(made.body));
      const join = await bridge.client("POST", `${V3}/join/${enc(roomId)}`, { body: {}, as: BOB });
      assertEquals(join.status, 200, JSON.stringify(join.body));
      const quietMade = await fetch(`${server.baseUrl}${V3}/register`, {
        method: "POST",
        headers: { Authorization: `Bearer ${QUIET_AS_TOKEN}` },
        body: JSON.stringify({
          type: "m.login.application_service",
          username: "_quiet_zoe",
          inhibit_login: true,
        }),
      });
      assertEquals(quietMade.status, 200, await quietMade.text());
      const quietJoin = await fetch(
        `${server.baseUrl}${V3}/join/${enc(roomId)}?user_id=${enc(QUIET_USER)}`,
        { method: "POST", headers: { Authorization: `Bearer ${QUIET_AS_TOKEN}` }, body: "{}" },
      );
      assertEquals(quietJoin.status, 200, await quietJoin.text());
    });

    await t.step("start and stop: the room's typing set with its room_id", async () => {
      await typing(server, alice, roomId, { typing: true, timeout: 30_000 });
      await bridge.waitFor(
        "alice typing",
        () => typingSets(bridge, roomId).some((set) => set.includes(alice.userId)),
      );
      const item = bridge.ephemeral.find((e) => e.type === "m.typing" && e.room_id === roomId);
      assertEquals(item, {
        type: "m.typing",
        room_id: roomId,
        content: { user_ids: [alice.userId] },
      });
      await typing(server, alice, roomId, { typing: false });
      await bridge.waitFor("alice stopped", () => typingSets(bridge, roomId).at(-1)?.length === 0);
    });

    await t.step("the bridge's own user typing (masquerading) is pushed too", async () => {
      const res = await bridge.client("PUT", `${V3}/rooms/${enc(roomId)}/typing/${enc(BOB)}`, {
        body: { typing: true, timeout: 30_000 },
        as: BOB,
      });
      assertEquals(res.status, 200, JSON.stringify(res.body));
      await bridge.waitFor(
        "bob typing",
        () => typingSets(bridge, roomId).at(-1)?.includes(BOB) ?? false,
      );
      await bridge.client("PUT", `${V3}/rooms/${enc(roomId)}/typing/${enc(BOB)}`, {
        body: { typing: false },
        as: BOB,
      });
      await bridge.waitFor("bob stopped", () => typingSets(bridge, roomId).at(-1)?.length === 0);
    });

    await t.step("expiry is pushed as a stop", async () => {
      await typing(server, alice, roomId, { typing: true, timeout: 300 });
      await bridge.waitFor(
        "alice typing again",
        () => typingSets(bridge, roomId).at(-1)?.includes(alice.userId) ?? false,
      );
      await bridge.waitFor("the timeout", () => typingSets(bridge, roomId).at(-1)?.length === 0);
    });

    await t.step("a start and stop at once end as not typing", async () => {
      const before = typingSets(bridge, roomId).length;
      await typing(server, alice, roomId, { typing: true, timeout: 30_000 });
      await typing(server, alice, roomId, { typing: false });
      await bridge.waitFor("the stop", () => {
        const sets = typingSets(bridge, roomId);
        return sets.length > before && sets.at(-1)!.length === 0;
      });
      // A newer set replaces one not yet sent: never more items than changes.
      assert(typingSets(bridge, roomId).length - before <= 2);
    });

    await t.step("rooms the bridge has no interest in stay private", async () => {
      await typing(server, alice, elsewhere, { typing: true, timeout: 30_000 });
      // A later change in an interesting room arrives after it would have.
      await typing(server, carol, aliased, { typing: true, timeout: 30_000 });
      await bridge.waitFor(
        "carol typing in the portal",
        () => typingSets(bridge, aliased).at(-1)?.includes(carol.userId) ?? false,
      );
      assertEquals(typingSets(bridge, elsewhere), [], "no typing of a room without interest");
      await typing(server, alice, elsewhere, { typing: false });
    });

    await t.step("a service without receive_ephemeral gets events only", async () => {
      await typing(server, alice, roomId, { typing: true, timeout: 30_000 });
      const sent = await send(server, alice, roomId, { msgtype: "m.text", body: "marker" });
      assertEquals(sent.status, 200);
      const deadline = Date.now() + 15_000;
      while (!quiet.events.some((e) => e.content?.body === "marker")) {
        assert(Date.now() < deadline, "the quiet service got the message");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assertEquals(quiet.ephemeralSeen, 0);
      await typing(server, alice, roomId, { typing: false });
    });
  } finally {
    await server.close();
    await bridge.stop();
    await quiet.close();
    await Deno.remove(dir, { recursive: true });
  }
});
