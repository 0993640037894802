/**
 * Bad input at the edge (issue 11): over-long identifiers in paths and bodies, JSON nested
 * thousands of levels deep and lone surrogates are refused with a 400 and the spec's errcode
 * before they reach storage, canonical JSON or the event pipeline; nothing is written.
 */
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { PARAM_RULES } from "../../server/path_params.ts";

const V3 = "/_matrix/client/v3";
const LONG = "x".repeat(3000);
const enc = encodeURIComponent;

/** A JSON text nested `levels` deep (built as text: JSON.stringify would recurse). */
function deepJson(levels: number): string {
  return '{"a":'.repeat(levels) + "1" + "}".repeat(levels);
}

async function withServer(fn: (t: TestServer, alice: TestUser) => Promise<void>) {
  const t = await startTestServer();
  try {
    await fn(t, await t.register("alice"));
  } finally {
    await t.close();
  }
}

function expect400(
  res: { status: number; body: { errcode?: string } },
  errcode: string,
  what: string,
) {
  assertEquals([res.status, res.body?.errcode], [400, errcode], what);
}

Deno.test("long identifiers in paths are 400 M_INVALID_PARAM on client and admin routes", async () => {
  await withServer(async (t, alice) => {
    const room = (await t.request("POST", `${V3}/createRoom`, {
      token: alice.accessToken,
      body: {},
    })).body.room_id as string;
    const r = enc(room);
    const me = enc(alice.userId);
    const longRoom = enc(`!${LONG}:localhost`);
    const longUser = enc(`@${LONG}:localhost`);
    const cases: [string, string][] = [
      ["GET", `${V3}/rooms/${longRoom}/state`],
      ["GET", `${V3}/rooms/${r}/state/${LONG}/`],
      ["PUT", `${V3}/rooms/${r}/state/m.room.topic/${LONG}`],
      ["PUT", `${V3}/rooms/${r}/send/${LONG}/txn1`],
      ["PUT", `${V3}/rooms/${r}/send/m.room.message/${LONG}`],
      ["GET", `${V3}/rooms/${r}/event/${enc("$" + LONG)}`],
      ["GET", `${V3}/rooms/${r}/context/${enc("$" + LONG)}`],
      ["POST", `${V3}/rooms/${r}/receipt/${LONG}/${enc("$abc")}`],
      ["GET", `/_matrix/client/v1/rooms/${r}/relations/${enc("$abc")}/${LONG}`],
      ["GET", `${V3}/profile/${longUser}`],
      ["PUT", `${V3}/user/${me}/account_data/${LONG}`],
      ["PUT", `${V3}/user/${me}/rooms/${r}/account_data/${LONG}`],
      ["PUT", `${V3}/user/${me}/rooms/${r}/tags/${LONG}`],
      ["GET", `${V3}/devices/${LONG}`],
      ["PUT", `${V3}/directory/room/${enc(`#${LONG}:localhost`)}`],
      ["POST", `${V3}/join/${enc(`#${LONG}:localhost`)}`],
      ["PUT", `${V3}/sendToDevice/${LONG}/t1`],
      ["PUT", `${V3}/pushrules/global/override/${LONG}`],
      ["GET", `/_matrix/client/v1/media/download/localhost/${LONG}`],
      ["DELETE", `/_synapse/admin/v1/media/localhost/${LONG}`],
      ["DELETE", `/_synapse/admin/v1/users/${longUser}/media`],
      ["PUT", `${V3}/room_keys/keys/${longRoom}?version=1`],
    ];
    for (const [method, path] of cases) {
      const body = method === "GET" ? undefined : {};
      const res = await t.request(method, path, { token: alice.accessToken, body });
      expect400(res, "M_INVALID_PARAM", `${method} ${path.slice(0, 90)}`);
    }
    // Nothing was written: the room's state is what createRoom made.
    const state = await t.request("GET", `${V3}/rooms/${r}/state`, { token: alice.accessToken });
    assertEquals(state.status, 200);
    assert(!JSON.stringify(state.body).includes(LONG.slice(0, 300)));
  });
});

Deno.test("every path parameter of every API route has a rule", async () => {
  await withServer((t) => {
    for (const route of t.hs.app.routes) {
      if (!/^\/_(matrix|synapse)\//.test(route.path)) continue;
      for (const match of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
        assert(PARAM_RULES[match[1]], `${route.path}: no rule for ${match[1]}`);
      }
    }
    return Promise.resolve();
  });
});

Deno.test("identifiers in bodies are checked before they reach storage", async () => {
  await withServer(async (t, alice) => {
    const token = alice.accessToken;
    const room = (await t.request("POST", `${V3}/createRoom`, { token, body: {} })).body
      .room_id as string;
    const r = enc(room);
    const sent = await t.request("PUT", `${V3}/rooms/${r}/send/m.room.message/t0`, {
      token,
      body: { msgtype: "m.text", body: "root" },
    });
    const root = sent.body.event_id as string;
    const longUser = `@${LONG}:localhost`;
    for (const path of ["invite", "kick", "ban", "unban"]) {
      const res = await t.request("POST", `${V3}/rooms/${r}/${path}`, {
        token,
        body: { user_id: longUser },
      });
      expect400(res, "M_INVALID_PARAM", path);
    }
    const markers = await t.request("POST", `${V3}/rooms/${r}/read_markers`, {
      token,
      body: { "m.fully_read": `$${LONG}`, "m.read": `$${LONG}` },
    });
    expect400(markers, "M_INVALID_PARAM", "read_markers");
    const thread = await t.request("POST", `${V3}/rooms/${r}/receipt/m.read/${enc(root)}`, {
      token,
      body: { thread_id: LONG },
    });
    expect400(thread, "M_INVALID_PARAM", "receipt thread_id");
    const invite = await t.request("POST", `${V3}/createRoom`, {
      token,
      body: { invite: [longUser] },
    });
    expect400(invite, "M_INVALID_PARAM", "createRoom invite");

    // A relation whose parent or type cannot be an identifier is no relation: the event is
    // stored as a plain message and the index is untouched.
    for (
      const [txn, relatesTo] of [
        ["t1", { rel_type: "m.thread", event_id: `$${LONG}` }],
        ["t2", { rel_type: LONG, event_id: root }],
      ] as const
    ) {
      const res = await t.request("PUT", `${V3}/rooms/${r}/send/m.room.message/${txn}`, {
        token,
        body: { msgtype: "m.text", body: "x", "m.relates_to": relatesTo },
      });
      assertEquals(res.status, 200, JSON.stringify(res.body));
    }
    const children = await t.request(
      "GET",
      `/_matrix/client/v1/rooms/${r}/relations/${enc(root)}`,
      { token },
    );
    assertEquals([children.status, children.body.chunk.length], [200, 0]);
  });
});

Deno.test("deeply nested JSON is 400 M_BAD_JSON on every body and inline filter", async () => {
  await withServer(async (t, alice) => {
    const token = alice.accessToken;
    const room = (await t.request("POST", `${V3}/createRoom`, { token, body: {} })).body
      .room_id as string;
    const r = enc(room);
    const me = enc(alice.userId);
    const deep = deepJson(5000);
    const version = (await t.request("POST", `${V3}/room_keys/version`, {
      token,
      body: { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "a" } },
    })).body.version;
    const paths: [string, string][] = [
      ["PUT", `${V3}/rooms/${r}/send/m.room.message/deep1`],
      ["PUT", `${V3}/rooms/${r}/state/m.custom/`],
      ["PUT", `${V3}/user/${me}/account_data/m.custom`],
      ["PUT", `${V3}/user/${me}/rooms/${r}/account_data/m.custom`],
      ["POST", `${V3}/keys/upload`],
      ["PUT", `${V3}/room_keys/keys?version=${version}`],
      ["POST", `${V3}/user/${me}/filter`],
      ["POST", `${V3}/createRoom`],
      ["PUT", `${V3}/sendToDevice/m.custom/deep1`],
    ];
    for (const [method, path] of paths) {
      const res = await t.request(method, path, { token, body: deep });
      expect400(res, "M_BAD_JSON", `${method} ${path}`);
    }
    // Query strings are shorter: 500 levels are still far past the limit.
    const sync = await t.request("GET", `${V3}/sync?filter=${enc(deepJson(500))}`, { token });
    expect400(sync, "M_BAD_JSON", "inline sync filter");
    const messages = await t.request(
      "GET",
      `${V3}/rooms/${r}/messages?dir=b&filter=${enc(deepJson(500))}`,
      { token },
    );
    expect400(messages, "M_BAD_JSON", "inline /messages filter");
    // A moderately nested body is fine.
    const ok = await t.request("PUT", `${V3}/rooms/${r}/send/m.room.message/deep2`, {
      token,
      body: `{"msgtype":"m.text","body":"x","n":${deepJson(50)}}`,
    });
    assertEquals(ok.status, 200, JSON.stringify(ok.body));
  });
});

Deno.test("lone surrogates are 400 M_BAD_JSON in bodies and inline filters", async () => {
  await withServer(async (t, alice) => {
    const token = alice.accessToken;
    const me = enc(alice.userId);
    const filter = await t.request("POST", `${V3}/user/${me}/filter`, {
      token,
      body: '{"room":{"rooms":["\\ud800"]}}',
    });
    expect400(filter, "M_BAD_JSON", "stored filter");
    const key = await t.request("PUT", `${V3}/user/${me}/account_data/m.custom`, {
      token,
      body: '{"\\udc00":1}',
    });
    expect400(key, "M_BAD_JSON", "lone surrogate in a key");
    const sync = await t.request(
      "GET",
      `${V3}/sync?filter=${enc('{"room":{"rooms":["\\ud800"]}}')}`,
      { token },
    );
    expect400(sync, "M_BAD_JSON", "inline sync filter");
    // A surrogate pair (an emoji) is fine.
    const emoji = await t.request("PUT", `${V3}/user/${me}/account_data/m.custom`, {
      token,
      body: '{"mood":"\\ud83d\\ude00"}',
    });
    assertEquals(emoji.status, 200);
  });
});

Deno.test("account data under the JSON byte cap but too large as stored is 413, not 500", async () => {
  await withServer(async (t, alice) => {
    // 60,000 ASCII characters and one above U+00FF: under 60 KiB of JSON, but KV stores the
    // whole string at two bytes per character.
    const content = { x: "a".repeat(60_000) + "\u0101" };
    const path = `${V3}/user/${enc(alice.userId)}/account_data/m.custom`;
    const res = await t.request("PUT", path, { token: alice.accessToken, body: content });
    assertEquals([res.status, res.body.errcode], [413, "M_TOO_LARGE"]);
    const read = await t.request("GET", path, { token: alice.accessToken });
    assertEquals(read.status, 404);
  });
});

Deno.test("numbers beyond the double range are 400 M_BAD_JSON, not a canonical JSON failure", async () => {
  await withServer(async (t, alice) => {
    const token = alice.accessToken;
    const me = enc(alice.userId);
    for (const number of ["1e400", "-1e400", "9".repeat(400)]) {
      const filter = await t.request("POST", `${V3}/user/${me}/filter`, {
        token,
        body: `{"event_fields":[],"x":${number}}`,
      });
      expect400(filter, "M_BAD_JSON", `filter with ${number.slice(0, 10)}`);
    }
    const sync = await t.request("GET", `${V3}/sync?timeout=0&filter=${enc('{"x":1e999}')}`, {
      token,
    });
    expect400(sync, "M_BAD_JSON", "inline filter");
  });
});

Deno.test("a pusher too large to store is refused with a 4xx, not a 500 (fuzz finding)", async () => {
  await withServer(async (t, alice) => {
    const base = {
      pushkey: "key",
      app_id: "lu.gemeng.test",
      app_display_name: "a",
      device_display_name: "d",
      lang: "lb",
      data: { url: "https://push.example/_matrix/push/v1/notify" },
    };
    const res = await t.request("POST", `${V3}/pushers/set`, {
      token: alice.accessToken,
      body: { ...base, kind: "k".repeat(40_000) + "\u0101" },
    });
    assert(res.status >= 400 && res.status < 500 && res.body.errcode, JSON.stringify(res.body));
    const list = await t.request("GET", `${V3}/pushers`, { token: alice.accessToken });
    assertEquals(list.body.pushers, []);
  });
});
