import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

const LOGIN = "/_matrix/client/v3/login";

Deno.test("unknown endpoint is 404 M_UNRECOGNIZED; wrong method is 405", async () => {
  const t = await startTestServer();
  try {
    const unknown = await t.request("GET", "/_matrix/client/v3/no_such_thing");
    assertEquals([unknown.status, unknown.body.errcode], [404, "M_UNRECOGNIZED"]);
    const wrong = await t.request("DELETE", LOGIN);
    assertEquals([wrong.status, wrong.body.errcode], [405, "M_UNRECOGNIZED"]);
    const param = await t.request("POST", "/_matrix/client/v3/devices/ABC");
    assertEquals([param.status, param.body.errcode], [405, "M_UNRECOGNIZED"]);
  } finally {
    await t.close();
  }
});

Deno.test("bad bodies: M_NOT_JSON and M_BAD_JSON", async () => {
  const t = await startTestServer();
  try {
    const notJson = await t.request("POST", LOGIN, { body: "{not json" });
    assertEquals([notJson.status, notJson.body.errcode], [400, "M_NOT_JSON"]);
    const array = await t.request("POST", LOGIN, { body: "[1,2]" });
    assertEquals(array.body.errcode, "M_NOT_JSON");
    const empty = await t.request("POST", LOGIN, { body: "" });
    assertEquals(empty.body.errcode, "M_NOT_JSON");
    const shape = await t.request("POST", LOGIN, { body: { type: 42 } });
    assertEquals([shape.status, shape.body.errcode], [400, "M_BAD_JSON"]);
    const user = await t.register("pat");
    const rename = await t.request("PUT", `/_matrix/client/v3/devices/${user.deviceId}`, {
      token: user.accessToken,
      body: { display_name: ["x"] },
    });
    assertEquals(rename.body.errcode, "M_BAD_JSON");
  } finally {
    await t.close();
  }
});

Deno.test("oversized bodies are 413 M_TOO_LARGE, declared or streamed", async () => {
  const t = await startTestServer({ config: { limits: { max_request_body: 1024 } } });
  try {
    const big = JSON.stringify({ type: "m.login.password", padding: "x".repeat(5000) });
    const declared = await t.request("POST", LOGIN, { body: big });
    assertEquals([declared.status, declared.body.errcode], [413, "M_TOO_LARGE"]);

    // No Content-Length: the limit is enforced while reading the stream.
    const chunk = new TextEncoder().encode("x".repeat(65536));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 1000) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${t.baseUrl}${LOGIN}`, {
      method: "POST",
      body: stream,
      // @ts-ignore: duplex is required for streaming request bodies
      duplex: "half",
    });
    const body = await res.json();
    assertEquals([res.status, body.errcode], [413, "M_TOO_LARGE"]);
    assert(sent < 1000, `the server stopped reading early (sent ${sent} chunks)`);
  } finally {
    await t.close();
  }
});

Deno.test("missing and wrong access tokens", async () => {
  const t = await startTestServer();
  try {
    const path = "/_matrix/client/v3/account/whoami";
    const missing = await t.request("GET", path);
    assertEquals([missing.status, missing.body.errcode], [401, "M_MISSING_TOKEN"]);
    const wrong = await t.request("GET", path, { token: "gmat_nope" });
    assertEquals([wrong.status, wrong.body.errcode, wrong.body.soft_logout], [
      401,
      "M_UNKNOWN_TOKEN",
      false,
    ]);
    const query = await t.request("GET", `${path}?access_token=nope`);
    assertEquals(query.body.errcode, "M_UNKNOWN_TOKEN");
  } finally {
    await t.close();
  }
});

Deno.test("rate limit: 429 M_LIMIT_EXCEEDED with retry_after_ms", async () => {
  const t = await startTestServer({
    config: { rate_limits: { login: { per_second: 0.1, burst: 3 } } },
  });
  try {
    const attempt = () =>
      t.request("POST", LOGIN, {
        body: { type: "m.login.password", user: "nobody", password: "x" },
      });
    for (let i = 0; i < 3; i++) assertEquals((await attempt()).status, 403);
    const limited = await attempt();
    assertEquals([limited.status, limited.body.errcode], [429, "M_LIMIT_EXCEEDED"]);
    assert(limited.body.retry_after_ms > 0 && limited.body.retry_after_ms <= 10_000);
    assert(Number(limited.headers.get("retry-after")) >= 1);
    // Other endpoints are not affected.
    assertEquals((await t.request("GET", "/_matrix/client/versions")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("CORS: preflight and headers on every response", async () => {
  const t = await startTestServer();
  try {
    const res = await fetch(`${t.baseUrl}/_matrix/client/v3/account/whoami`, {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
      },
    });
    await res.body?.cancel();
    assert(res.status === 200 || res.status === 204);
    assertEquals(res.headers.get("access-control-allow-origin"), "*");
    assert(res.headers.get("access-control-allow-methods")!.includes("DELETE"));
    assert(res.headers.get("access-control-allow-headers")!.includes("Authorization"));
    for (const path of ["/_matrix/client/versions", "/nothing/here"]) {
      const r = await t.request("GET", path);
      assertEquals(r.headers.get("access-control-allow-origin"), "*");
    }
    const err = await t.request("GET", "/_matrix/client/v3/account/whoami");
    assertEquals(err.headers.get("access-control-allow-origin"), "*");
  } finally {
    await t.close();
  }
});
