/**
 * The r0 and api/v1 prefixes over real HTTP: an older client registers, logs in and chats with
 * plain fetch on `/_matrix/client/r0` and `/_matrix/media/r0`; endpoints introduced after r0
 * answer 404 M_UNRECOGNIZED there while they work on v3.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { legacyAwarePath } from "../../server/client/legacy_paths.ts";
import { startTestServer } from "../support/test_server.ts";

const R0 = "/_matrix/client/r0";

// deno-lint-ignore no-explicit-any
type Json = any;

/** One request with plain fetch, as a client of the r0 era sends it. */
async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: Uint8Array; type?: string } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined;
  if (options.raw) {
    body = options.raw as Uint8Array<ArrayBuffer>;
    headers["Content-Type"] = options.type ?? "application/octet-stream";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: Json = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

Deno.test("legacy paths: r0 and api/v1 are v3 for r0-era endpoints only", async (t) => {
  const server = await startTestServer();
  const base = server.baseUrl;
  try {
    let alice = "";
    let bob = "";
    let roomId = "";

    await t.step("register and log in on r0", async () => {
      const first = await call(base, "POST", `${R0}/register`, {
        body: { username: "olda", password: "old-client-pw" },
      });
      assertEquals(first.status, 401, JSON.stringify(first.body));
      const done = await call(base, "POST", `${R0}/register`, {
        body: {
          username: "olda",
          password: "old-client-pw",
          auth: { type: "m.login.dummy", session: first.body.session },
        },
      });
      assertEquals(done.status, 200, JSON.stringify(done.body));
      const flows = await call(base, "GET", `${R0}/login`);
      assertEquals(flows.status, 200);
      assert(flows.body.flows.some((flow: Json) => flow.type === "m.login.password"));
      const login = await call(base, "POST", `${R0}/login`, {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "olda" },
          password: "old-client-pw",
        },
      });
      assertEquals(login.status, 200, JSON.stringify(login.body));
      alice = login.body.access_token;
      // The r0-era body: `user` instead of `identifier`.
      const oldBody = await call(base, "POST", `${R0}/login`, {
        body: { type: "m.login.password", user: "olda", password: "old-client-pw" },
      });
      assertEquals(oldBody.status, 200, JSON.stringify(oldBody.body));
      const whoami = await call(base, "GET", `${R0}/account/whoami`, { token: alice });
      assertEquals(whoami.body.user_id, `@olda:${server.serverName}`);
      bob = (await server.register("oldb")).accessToken;
    });

    await t.step("create a room, join, send and read back on r0", async () => {
      const created = await call(base, "POST", `${R0}/createRoom`, {
        token: alice,
        body: { preset: "public_chat", name: "r0 room" },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      roomId = created.body.room_id;
      const room = encodeURIComponent(roomId);
      const joined = await call(base, "POST", `${R0}/join/${room}`, { token: bob, body: {} });
      assertEquals(joined.status, 200, JSON.stringify(joined.body));
      const sent = await call(base, "PUT", `${R0}/rooms/${room}/send/m.room.message/t1`, {
        token: alice,
        body: { msgtype: "m.text", body: "hello from r0" },
      });
      assertEquals(sent.status, 200, JSON.stringify(sent.body));
      const posted = await call(base, "POST", `${R0}/rooms/${room}/send/m.room.message`, {
        token: bob,
        body: { msgtype: "m.text", body: "reply without txn" },
      });
      assertEquals(posted.status, 200, JSON.stringify(posted.body));

      const sync = await call(base, "GET", `${R0}/sync?timeout=0`, { token: bob });
      assertEquals(sync.status, 200);
      const timeline = sync.body.rooms.join[roomId].timeline.events.map((e: Json) =>
        e.content.body
      );
      assert(timeline.includes("hello from r0"), JSON.stringify(timeline));
      assert(timeline.includes("reply without txn"), JSON.stringify(timeline));

      const messages = await call(base, "GET", `${R0}/rooms/${room}/messages?dir=b&limit=5`, {
        token: alice,
      });
      assertEquals(messages.status, 200);
      assertEquals(
        messages.body.chunk.slice(0, 2).map((e: Json) => e.content.body),
        ["reply without txn", "hello from r0"],
      );
      // The pre-r0 prefix still reads rooms, as Synapse's does.
      const v1 = await call(base, "GET", `/_matrix/client/api/v1/rooms/${room}/messages?dir=b`, {
        token: alice,
      });
      assertEquals(v1.status, 200);
      assertEquals(v1.body.chunk[0].content.body, "reply without txn");
      const state = await call(base, "GET", `${R0}/rooms/${room}/state/m.room.name/`, {
        token: bob,
      });
      assertEquals(state.body, { name: "r0 room" });
    });

    await t.step("media r0: upload and config", async () => {
      const config = await call(base, "GET", "/_matrix/media/r0/config", { token: alice });
      assertEquals(config.status, 200);
      const head = await fetch(`${base}/_matrix/media/r0/config`, {
        method: "HEAD",
        headers: { Authorization: `Bearer ${alice}` },
      });
      await head.body?.cancel();
      assertEquals(head.status, 200);
      assert(typeof config.body["m.upload.size"] === "number");
      const upload = await call(base, "POST", "/_matrix/media/r0/upload?filename=a.txt", {
        token: alice,
        raw: new TextEncoder().encode("old file"),
        type: "text/plain",
      });
      assertEquals(upload.status, 200, JSON.stringify(upload.body));
      assert(String(upload.body.content_uri).startsWith("mxc://"));
      const mediaId = String(upload.body.content_uri).split("/").at(-1);
      const got = await fetch(
        `${base}/_matrix/client/v1/media/download/${server.serverName}/${mediaId}`,
        {
          headers: { Authorization: `Bearer ${alice}` },
        },
      );
      assertEquals(await got.text(), "old file");
    });

    await t.step("endpoints introduced after r0 are not on r0", async () => {
      const room = encodeURIComponent(roomId);
      const user = encodeURIComponent(`@olda:${server.serverName}`);
      const postR0: [string, string, unknown?][] = [
        ["GET", `${R0}/room_keys/version`],
        ["POST", `${R0}/keys/device_signing/upload`, {}],
        ["POST", `${R0}/keys/signatures/upload`, {}],
        ["POST", `${R0}/knock/${room}`, {}],
        ["POST", `${R0}/refresh`, { refresh_token: "x" }],
        ["POST", `${R0}/rooms/${room}/report`, { reason: "x" }],
        ["DELETE", `${R0}/profile/${user}/displayname`],
        ["GET", `${R0}/profile/${user}/m.custom_field`],
        ["GET", `${R0}/login/sso/redirect/some-idp`],
        ["GET", `${R0}/no_such_endpoint`],
        ["POST", "/_matrix/client/api/v1/register", {}],
        ["GET", "/_matrix/client/api/v1/sync"],
        ["PUT", `/_matrix/media/r0/upload/${server.serverName}/abc`, {}],
      ];
      for (const [method, path, body] of postR0) {
        const res = await call(base, method, path, { token: alice, body });
        assertEquals(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assertEquals(res.body.errcode, "M_UNRECOGNIZED", `${method} ${path}`);
      }
      // The same endpoints exist on v3.
      const v3 = await call(base, "GET", "/_matrix/client/v3/room_keys/version", { token: alice });
      assert(v3.body.errcode !== "M_UNRECOGNIZED", JSON.stringify(v3.body));
      const sync = await call(base, "GET", "/_matrix/client/v3/sync?timeout=0", { token: alice });
      assertEquals(sync.status, 200);
    });

    await t.step("path parameters are checked on r0 as on v3", async () => {
      const res = await call(base, "GET", `${R0}/rooms/not-a-room/messages`, { token: alice });
      assertEquals(res.status, 400);
      assertEquals(res.body.errcode, "M_INVALID_PARAM");
      const noAuth = await call(base, "GET", `${R0}/joined_rooms`);
      assertEquals(noAuth.status, 401);
      assertEquals(noAuth.body.errcode, "M_MISSING_TOKEN");
    });
  } finally {
    await server.close();
  }
});

Deno.test("legacy paths: the rewrite leaves current paths alone", () => {
  const path = (method: string, url: string) =>
    legacyAwarePath(new Request(`http://h${url}`, { method }));
  assertEquals(
    path("PUT", "/_matrix/client/v3/rooms/!a:b/send/m.x/1"),
    "/_matrix/client/v3/rooms/!a:b/send/m.x/1",
  );
  assertEquals(
    path("PUT", "/_matrix/client/r0/rooms/%21a%3Ab/send/m.x/1?x=1"),
    "/_matrix/client/v3/rooms/!a%3Ab/send/m.x/1",
  );
  assertEquals(path("GET", "/_matrix/client/r0/pushrules/"), "/_matrix/client/v3/pushrules/");
  assertEquals(path("HEAD", "/_matrix/media/r0/config"), "/_matrix/media/v3/config");
  assertEquals(
    path("GET", "/_matrix/client/r0/room_keys/keys"),
    "/_matrix/client/r0/room_keys/keys",
  );
  assertEquals(path("GET", "/_matrix/federation/v1/version"), "/_matrix/federation/v1/version");
  assertEquals(path("GET", "/index.html"), "/index.html");
});
