import { assert, assertEquals } from "../unit/assert.ts";
import { withTestServer } from "../support/test_server.ts";

const V3 = "/_matrix/client/v3";

const enc = encodeURIComponent;

Deno.test("filters: upload, download, same filter same ID, other users refused", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const filter = {
      room: { timeline: { limit: 5, types: ["m.room.*"] } },
      event_fields: ["type"],
    };
    const path = `${V3}/user/${enc(alice.userId)}/filter`;
    const made = await t.request("POST", path, { token: alice.accessToken, body: filter });
    assertEquals(made.status, 200);
    const id = made.body.filter_id;
    assert(typeof id === "string" && !id.startsWith("{"));
    const again = await t.request("POST", path, { token: alice.accessToken, body: filter });
    assertEquals(again.body.filter_id, id);
    const got = await t.request("GET", `${path}/${id}`, { token: alice.accessToken });
    assertEquals(got.body, filter);
    const theirs = await t.request("GET", `${path}/${id}`, { token: bob.accessToken });
    assertEquals(theirs.status, 403);
    const forOther = await t.request("POST", path, { token: bob.accessToken, body: filter });
    assertEquals(forOther.status, 403);
    const unknown = await t.request("GET", `${path}/nope`, { token: alice.accessToken });
    assertEquals([unknown.status, unknown.body.errcode], [404, "M_NOT_FOUND"]);
    const bad = await t.request("POST", path, {
      token: alice.accessToken,
      body: { room: { timeline: { limit: -1 } } },
    });
    assertEquals([bad.status, bad.body.errcode], [400, "M_BAD_JSON"]);
  }));

Deno.test("account data: global and per room, server-managed types refused", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const global = `${V3}/user/${enc(alice.userId)}/account_data/org.example.config`;
    const room = `${V3}/user/${enc(alice.userId)}/rooms/${
      enc("!r:localhost")
    }/account_data/org.example.config`;
    const missing = await t.request("GET", global, { token: alice.accessToken });
    assertEquals([missing.status, missing.body.errcode], [404, "M_NOT_FOUND"]);
    assertEquals(
      (await t.request("PUT", global, { token: alice.accessToken, body: { a: 1 } })).status,
      200,
    );
    assertEquals(
      (await t.request("PUT", room, { token: alice.accessToken, body: { b: 2 } })).status,
      200,
    );
    assertEquals((await t.request("GET", global, { token: alice.accessToken })).body, { a: 1 });
    assertEquals((await t.request("GET", room, { token: alice.accessToken })).body, { b: 2 });
    await t.request("PUT", global, { token: alice.accessToken, body: { a: 3 } });
    assertEquals((await t.request("GET", global, { token: alice.accessToken })).body, { a: 3 });
    const other = await t.request("GET", global, { token: bob.accessToken });
    assertEquals([other.status, other.body.errcode], [403, "M_FORBIDDEN"]);
    for (const type of ["m.fully_read", "m.push_rules"]) {
      const path = `${V3}/user/${enc(alice.userId)}/account_data/${type}`;
      const res = await t.request("PUT", path, { token: alice.accessToken, body: {} });
      assertEquals([res.status, res.body.errcode], [405, "M_BAD_JSON"]);
    }
    const rules = await t.request(
      "GET",
      `${V3}/user/${enc(alice.userId)}/account_data/m.push_rules`,
      { token: alice.accessToken },
    );
    assertEquals(rules.body.global.override[0].rule_id, ".m.rule.master");
    const notJson = await t.request("PUT", global, { token: alice.accessToken, body: "[1]" });
    assertEquals(notJson.body.errcode, "M_NOT_JSON");
    const badRoom = `${V3}/user/${enc(alice.userId)}/rooms/nope/account_data/x.y`;
    assertEquals(
      (await t.request("PUT", badRoom, { token: alice.accessToken, body: {} })).status,
      400,
    );
  }));

Deno.test("tags: add, list, replace order, remove", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const base = `${V3}/user/${enc(alice.userId)}/rooms/${enc("!r:localhost")}/tags`;
    const token = alice.accessToken;
    assertEquals((await t.request("GET", base, { token })).body, { tags: {} });
    await t.request("PUT", `${base}/m.favourite`, { token, body: { order: 0.5 } });
    await t.request("PUT", `${base}/u.work`, { token, body: {} });
    assertEquals((await t.request("GET", base, { token })).body, {
      tags: { "m.favourite": { order: 0.5 }, "u.work": {} },
    });
    await t.request("PUT", `${base}/m.favourite`, { token, body: { order: 0.1 } });
    await t.request("DELETE", `${base}/u.work`, { token });
    assertEquals((await t.request("GET", base, { token })).body, {
      tags: { "m.favourite": { order: 0.1 } },
    });
    const stored = await t.request(
      "GET",
      `${V3}/user/${enc(alice.userId)}/rooms/${enc("!r:localhost")}/account_data/m.tag`,
      { token },
    );
    assertEquals(stored.body, { tags: { "m.favourite": { order: 0.1 } } });
    const bad = await t.request("PUT", `${base}/x`, { token, body: { order: "first" } });
    assertEquals(bad.body.errcode, "M_BAD_JSON");
  }));

Deno.test("push rules: defaults, add with before/after, enable, actions, delete", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const token = alice.accessToken;
    const all = await t.request("GET", `${V3}/pushrules/`, { token });
    assertEquals(all.status, 200);
    const ids = (kind: string) => all.body.global[kind].map((r: { rule_id: string }) => r.rule_id);
    assertEquals(ids("override")[0], ".m.rule.master");
    for (
      const id of [
        ".m.rule.suppress_notices",
        ".m.rule.invite_for_me",
        ".m.rule.member_event",
        ".m.rule.is_user_mention",
        ".m.rule.is_room_mention",
        ".m.rule.tombstone",
        ".m.rule.reaction",
        ".m.rule.room.server_acl",
        ".m.rule.suppress_edits",
      ]
    ) assert(ids("override").includes(id), id);
    for (
      const id of [
        ".m.rule.call",
        ".m.rule.encrypted_room_one_to_one",
        ".m.rule.room_one_to_one",
        ".m.rule.message",
        ".m.rule.encrypted",
      ]
    ) assert(ids("underride").includes(id), id);
    const mention = all.body.global.override.find((r: { rule_id: string }) =>
      r.rule_id === ".m.rule.is_user_mention"
    );
    assertEquals(mention.conditions[0].value, alice.userId);

    const rule = (kind: string, id: string) => `${V3}/pushrules/global/${kind}/${enc(id)}`;
    assertEquals(
      (await t.request("PUT", rule("content", "cake"), {
        token,
        body: { pattern: "cake", actions: ["notify"] },
      })).status,
      200,
    );
    await t.request("PUT", `${rule("content", "lie")}?before=cake`, {
      token,
      body: { pattern: "cake*lie", actions: ["notify"] },
    });
    await t.request("PUT", `${rule("content", "pie")}?after=cake`, {
      token,
      body: { pattern: "pie", actions: [] },
    });
    const content = (await t.request("GET", `${V3}/pushrules/global/`, { token })).body.content;
    assertEquals(content.map((r: { rule_id: string }) => r.rule_id).slice(0, 3), [
      "lie",
      "cake",
      "pie",
    ]);
    const got = await t.request("GET", rule("content", "cake"), { token });
    assertEquals(got.body, {
      rule_id: "cake",
      default: false,
      enabled: true,
      pattern: "cake",
      actions: ["notify"],
    });
    await t.request("PUT", `${rule("content", "cake")}/enabled`, {
      token,
      body: { enabled: false },
    });
    assertEquals(
      (await t.request("GET", `${rule("content", "cake")}/enabled`, { token })).body,
      { enabled: false },
    );
    await t.request("PUT", `${rule("override", ".m.rule.master")}/enabled`, {
      token,
      body: { enabled: true },
    });
    assertEquals(
      (await t.request("GET", `${rule("override", ".m.rule.master")}/enabled`, { token })).body,
      { enabled: true },
    );
    await t.request("PUT", `${rule("underride", ".m.rule.message")}/actions`, {
      token,
      body: { actions: ["notify", { set_tweak: "sound", value: "bing" }] },
    });
    assertEquals(
      (await t.request("GET", `${rule("underride", ".m.rule.message")}/actions`, { token })).body,
      { actions: ["notify", { set_tweak: "sound", value: "bing" }] },
    );
    await t.request("PUT", rule("room", "!r:localhost"), { token, body: { actions: [] } });
    await t.request("PUT", rule("sender", "@spam:localhost"), { token, body: { actions: [] } });
    await t.request("PUT", rule("override", "beer"), {
      token,
      body: {
        conditions: [{ kind: "event_match", key: "content.body", pattern: "beer" }],
        actions: ["notify"],
      },
    });
    const after = (await t.request("GET", `${V3}/pushrules/`, { token })).body.global;
    assertEquals(after.room[0].rule_id, "!r:localhost");
    assertEquals(after.sender[0].rule_id, "@spam:localhost");
    assertEquals(after.override.map((r: { rule_id: string }) => r.rule_id).slice(0, 2), [
      ".m.rule.master",
      "beer",
    ]);
    assertEquals((await t.request("DELETE", rule("content", "pie"), { token })).status, 200);
    assertEquals((await t.request("GET", rule("content", "pie"), { token })).status, 404);

    // Errors.
    const errors: [string, string, unknown, number, string][] = [
      [
        "PUT",
        rule("content", ".m.rule.mine"),
        { pattern: "x", actions: [] },
        400,
        "M_INVALID_PARAM",
      ],
      ["PUT", rule("content", "x"), { actions: [] }, 400, "M_BAD_JSON"],
      ["PUT", rule("override", "x"), { actions: "notify" }, 400, "M_BAD_JSON"],
      [
        "PUT",
        `${rule("content", "y")}?before=nope`,
        { pattern: "y", actions: [] },
        400,
        "M_UNKNOWN",
      ],
      ["PUT", rule("bogus", "x"), { actions: [] }, 400, "M_INVALID_PARAM"],
      ["GET", rule("override", "nope"), undefined, 404, "M_NOT_FOUND"],
      ["DELETE", rule("override", "nope"), undefined, 404, "M_NOT_FOUND"],
      ["PUT", `${rule("override", "nope")}/enabled`, { enabled: true }, 404, "M_NOT_FOUND"],
      ["PUT", `${rule("override", ".m.rule.nope")}/enabled`, { enabled: true }, 404, "M_NOT_FOUND"],
      ["DELETE", rule("override", ".m.rule.master"), undefined, 400, "M_INVALID_PARAM"],
    ];
    for (const [method, path, body, status, errcode] of errors) {
      const res = await t.request(method, path, { token, body });
      assertEquals([res.status, res.body?.errcode], [status, errcode], `${method} ${path}`);
    }
    const unauth = await t.request("GET", `${V3}/pushrules/`);
    assertEquals(unauth.status, 401);
  }));

Deno.test("pushers: set, list, replace, delete", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const token = alice.accessToken;
    assertEquals((await t.request("GET", `${V3}/pushers`, { token })).body, { pushers: [] });
    const pusher = {
      pushkey: "abc",
      kind: "http",
      app_id: "org.example.app.ios",
      app_display_name: "Example",
      device_display_name: "Phone",
      lang: "en",
      data: { url: "https://push.example.org/_matrix/push/v1/notify", format: "event_id_only" },
    };
    assertEquals(
      (await t.request("POST", `${V3}/pushers/set`, { token, body: pusher })).status,
      200,
    );
    const listed = await t.request("GET", `${V3}/pushers`, { token });
    assertEquals(listed.body.pushers.length, 1);
    assertEquals(listed.body.pushers[0].data.url, pusher.data.url);
    // Bob takes over the pushkey: Alice's pusher goes away (no append).
    await t.request("POST", `${V3}/pushers/set`, { token: bob.accessToken, body: pusher });
    assertEquals((await t.request("GET", `${V3}/pushers`, { token })).body.pushers.length, 0);
    const badUrl = await t.request("POST", `${V3}/pushers/set`, {
      token,
      body: { ...pusher, data: { url: "https://push.example.org/other" } },
    });
    assertEquals(badUrl.body.errcode, "M_INVALID_PARAM");
    await t.request("POST", `${V3}/pushers/set`, {
      token: bob.accessToken,
      body: { pushkey: "abc", app_id: pusher.app_id, kind: null },
    });
    assertEquals(
      (await t.request("GET", `${V3}/pushers`, { token: bob.accessToken })).body.pushers.length,
      0,
    );
  }));

Deno.test("profile: default display name, set and read fields, others refused", () =>
  withTestServer(async (t) => {
    const alice = await t.register("alice");
    const bob = await t.register("bob");
    const base = `${V3}/profile/${enc(alice.userId)}`;
    assertEquals((await t.request("GET", base)).body, { displayname: "alice" });
    const token = alice.accessToken;
    assertEquals(
      (await t.request("PUT", `${base}/displayname`, { token, body: { displayname: "Alice" } }))
        .status,
      200,
    );
    await t.request("PUT", `${base}/avatar_url`, {
      token,
      body: { avatar_url: "mxc://localhost/abc" },
    });
    await t.request("PUT", `${base}/m.tz`, { token, body: { "m.tz": "Europe/Berlin" } });
    await t.request("PUT", `${base}/org.example.pronouns`, {
      token,
      body: { "org.example.pronouns": ["she"] },
    });
    assertEquals((await t.request("GET", base)).body, {
      displayname: "Alice",
      avatar_url: "mxc://localhost/abc",
      "m.tz": "Europe/Berlin",
      "org.example.pronouns": ["she"],
    });
    assertEquals((await t.request("GET", `${base}/displayname`)).body, { displayname: "Alice" });
    await t.request("DELETE", `${base}/m.tz`, { token });
    assertEquals((await t.request("GET", `${base}/m.tz`)).status, 404);
    const other = await t.request("PUT", `${base}/displayname`, {
      token: bob.accessToken,
      body: { displayname: "Mallory" },
    });
    assertEquals([other.status, other.body.errcode], [403, "M_FORBIDDEN"]);
    const missing = await t.request("PUT", `${base}/displayname`, { token, body: { name: "x" } });
    assertEquals(missing.body.errcode, "M_MISSING_PARAM");
    const badKey = await t.request("PUT", `${base}/Bad-Key`, { token, body: { "Bad-Key": 1 } });
    assertEquals(badKey.body.errcode, "M_INVALID_PARAM");
    const badAvatar = await t.request("PUT", `${base}/avatar_url`, {
      token,
      body: { avatar_url: "https://example.org/a.png" },
    });
    assertEquals(badAvatar.body.errcode, "M_BAD_JSON");
    const huge = await t.request("PUT", `${base}/org.example.big`, {
      token,
      body: { "org.example.big": "x".repeat(70 * 1024) },
    });
    assertEquals(huge.body.errcode, "M_PROFILE_TOO_LARGE");
    const nobody = await t.request("GET", `${V3}/profile/${enc("@nobody:localhost")}`);
    assertEquals([nobody.status, nobody.body.errcode], [404, "M_NOT_FOUND"]);
  }));
