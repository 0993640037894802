/**
 * Operations over HTTP: `/health` (live and ready), Prometheus metrics on the main port behind
 * the token and on the separate listener (requests by route pattern and status, latency
 * histograms, KV commits, sync waiters, memory), and the structured request log, which names
 * routes and statuses but never an access token or a message's content.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { resolveConfig } from "../../server/config.ts";
import { Homeserver } from "../../server/homeserver.ts";
import { Logger, routeConsoleTo } from "../../server/ops/log.ts";
import { TEST_CONFIG, TEST_PASSWORD_COST } from "../support/test_server.ts";

const TOKEN = "metrics-token-0123456789";
const V3 = "/_matrix/client/v3";

interface Fixture {
  hs: Homeserver;
  base: string;
  metricsBase: string;
  lines: string[];
  close(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const config = resolveConfig({
    ...TEST_CONFIG,
    data_dir: "./unused",
    metrics: { enabled: true, token: TOKEN, listen: "127.0.0.1:1" },
    log: { format: "json", level: "info" },
  });
  const lines: string[] = [];
  const kv = await Deno.openKv(":memory:");
  const hs = await Homeserver.open(config, {
    kv,
    passwordCost: TEST_PASSWORD_COST,
    logger: new Logger(config.log, { sink: (line) => lines.push(line) }),
  });
  let metricsPort = 0;
  const server = hs.serve({
    hostname: "127.0.0.1",
    port: 0,
    metrics: { port: 0, onListen: (addr) => metricsPort = addr.port },
  });
  while (metricsPort === 0) await new Promise((r) => setTimeout(r, 5));
  return {
    hs,
    base: `http://127.0.0.1:${server.addr.port}`,
    metricsBase: `http://127.0.0.1:${metricsPort}`,
    lines,
    async close() {
      await hs.close();
      kv.close();
    },
  };
}

async function json(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

function metricValue(text: string, line: RegExp): number {
  const found = text.split("\n").find((l) => line.test(l));
  assert(found, `no metric matching ${line}`);
  return Number(found.slice(found.lastIndexOf(" ") + 1));
}

Deno.test({
  name: "ops: health, metrics and request logs",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const f = await start();
    try {
      const register = await json(`${f.base}${V3}/register`, {
        method: "POST",
        body: JSON.stringify({
          username: "ops",
          password: "ops-password-1",
          auth: { type: "m.login.dummy" },
        }),
      });
      assertEquals(register.status, 200, JSON.stringify(register.body));
      const token: string = register.body.access_token;
      const auth = { Authorization: `Bearer ${token}` };
      const room = await json(`${f.base}${V3}/createRoom`, {
        method: "POST",
        headers: auth,
        body: "{}",
      });
      const roomId = encodeURIComponent(room.body.room_id);
      const secretBody = "the secret plans of the commune";
      for (let i = 0; i < 3; i++) {
        const sent = await json(`${f.base}${V3}/rooms/${roomId}/send/m.room.message/t${i}`, {
          method: "PUT",
          headers: auth,
          body: JSON.stringify({ msgtype: "m.text", body: secretBody }),
        });
        assertEquals(sent.status, 200);
      }
      // A file's name in a download path is the uploader's words: left out of the log.
      const uploaded = await json(`${f.base}/_matrix/media/v3/upload`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "text/plain" },
        body: "hello",
      });
      const mxc = String(uploaded.body.content_uri).slice("mxc://".length);
      const fetched = await fetch(
        `${f.base}/_matrix/client/v1/media/download/${mxc}/minutes-of-the-secret-meeting.txt`,
        { headers: auth },
      );
      assertEquals(await fetched.text(), "hello");
      // A token in the query string (legacy clients) stays out of the log as well.
      const whoami = await json(`${f.base}${V3}/account/whoami?access_token=${token}`);
      assertEquals(whoami.status, 200);

      await t.step("health: live and ready on both listeners", async () => {
        for (const path of ["/health", "/health/live", "/health/ready"]) {
          const res = await json(`${f.base}${path}`);
          assertEquals([path, res.status, res.body.status], [path, 200, "ok"]);
        }
        const onMetricsPort = await json(`${f.metricsBase}/health/ready`);
        assertEquals(onMetricsPort.body.ready, true);
      });

      await t.step("metrics: the token guards /metrics on the main port", async () => {
        assertEquals((await fetch(`${f.base}/metrics`, { headers: auth })).status, 401);
        const res = await fetch(`${f.base}/metrics`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        assertEquals(res.status, 200);
        assert(res.headers.get("Content-Type")?.startsWith("text/plain"));
        await res.body?.cancel();
        const plain = await fetch(`${f.base}/metrics`);
        assertEquals(plain.status, 401);
        await plain.body?.cancel();
      });

      await t.step("metrics: routes by pattern and status, latencies, KV, memory", async () => {
        // A long-poll sync waiting while the metrics are read.
        const abort = new AbortController();
        const since = (await json(`${f.base}${V3}/sync?timeout=0`, { headers: auth })).body
          .next_batch;
        const waiting = fetch(`${f.base}${V3}/sync?timeout=20000&since=${since}`, {
          headers: auth,
          signal: abort.signal,
        }).catch(() => null);
        while (f.hs.notifier.waiterCount === 0) await new Promise((r) => setTimeout(r, 10));
        const text = await (await fetch(`${f.metricsBase}/metrics`)).text();
        abort.abort();
        await waiting;
        const send =
          /^gemeng_http_requests_total\{route="\/_matrix\/client\/v3\/rooms\/:roomId\/send\/:eventType\/:txnId",method="PUT",status="200"\}/;
        assertEquals(metricValue(text, send), 3);
        // The sync route answers without hono (server/client/sync_fast_path.ts), counted alike.
        const syncs =
          /^gemeng_http_requests_total\{route="\/_matrix\/client\/v3\/sync",method="GET",status="200"\}/;
        assert(metricValue(text, syncs) >= 1);
        assert(!text.includes(roomId) && !text.includes(room.body.room_id), "raw paths leak");
        const unmatched = /^gemeng_http_requests_total\{route="\(unmatched\)"/;
        await (await fetch(`${f.base}/_matrix/client/v3/nothing/here`)).body?.cancel();
        const again = await (await fetch(`${f.metricsBase}/metrics`)).text();
        assertEquals(metricValue(again, unmatched), 1);
        assert(
          metricValue(
            text,
            /^gemeng_http_request_duration_seconds_count\{route="\/_matrix\/client\/v3\/rooms\/:roomId\/send/,
          ) === 3,
        );
        assert(metricValue(text, /^gemeng_kv_commit_duration_seconds_count /) > 3);
        assertEquals(metricValue(text, /^gemeng_sync_waiters /), 1);
        assert(metricValue(text, /^gemeng_memory_bytes\{kind="rss"\}/) > 1e6);
        assertEquals(metricValue(text, /^gemeng_federation_queued_pdus /), 0);
        assertEquals(metricValue(text, /^gemeng_data_format_version /), f.hs.dataFormat);
        assertEquals((await fetch(`${f.metricsBase}/other`)).status, 404);
      });

      await t.step("metrics: made-up methods add no series", async () => {
        for (let i = 0; i < 5; i++) {
          await (await fetch(`${f.base}/x`, { method: `MADEUP${i}` })).body?.cancel();
        }
        const text = await (await fetch(`${f.metricsBase}/metrics`)).text();
        assert(!text.includes("MADEUP"), "a client-chosen method became a label");
        assertEquals(
          metricValue(text, /^gemeng_http_requests_total\{route="\(unmatched\)",method="OTHER"/),
          5,
        );
      });

      await t.step("logs: JSON request lines without tokens or message contents", () => {
        const records = f.lines.map((line) => JSON.parse(line));
        const sends = records.filter((r) =>
          r.msg === "request" &&
          r.route === "/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId"
        );
        assertEquals(sends.length, 3);
        assertEquals(sends[0].status, 200);
        assertEquals(sends[0].method, "PUT");
        assert(typeof sends[0].ms === "number" && typeof sends[0].ts === "string");
        const who = records.find((r) => r.route === "/_matrix/client/v3/account/whoami");
        assertEquals(who?.path, "/_matrix/client/v3/account/whoami");
        const all = f.lines.join("\n");
        assert(!all.includes(token), "an access token reached the log");
        assert(!all.includes(TOKEN), "the metrics token reached the log");
        assert(!all.includes(secretBody), "a message's content reached the log");
        assert(!all.includes("secret-meeting"), "a file name reached the log");
        const download = records.find((r) => r.route?.endsWith("/:mediaId/:fileName"));
        assertEquals(download?.path, `/_matrix/client/v1/media/download/${mxc}/*`);
      });

      await t.step("health: not ready once closing", async () => {
        f.hs.ready = false;
        const res = await json(`${f.base}/health/ready`);
        assertEquals(res.status, 503);
        assertEquals((await json(`${f.base}/health/live`)).status, 200);
        f.hs.ready = true;
      });
    } finally {
      await f.close();
    }
  },
});

Deno.test("ops: metrics stay off by default, and need a listener or a token", async () => {
  const kv = await Deno.openKv(":memory:");
  const hs = await Homeserver.open(resolveConfig({ ...TEST_CONFIG, data_dir: "./unused" }), {
    kv,
    passwordCost: TEST_PASSWORD_COST,
  });
  try {
    assertEquals(hs.metrics, null);
    const res = await hs.fetch(new Request("http://x/metrics"));
    assertEquals(res.status, 404);
    assertEquals((await res.json()).errcode, "M_UNRECOGNIZED");
  } finally {
    await hs.close();
    kv.close();
  }
  let error: unknown;
  try {
    resolveConfig({ metrics: { enabled: true } });
  } catch (err) {
    error = err;
  }
  assert(String(error).includes("metrics.enabled"), String(error));
});

Deno.test("ops: text lines, levels, and console output routed into JSON records", () => {
  const lines: string[] = [];
  const text = new Logger({ format: "text", level: "warn" }, { sink: (l) => lines.push(l) });
  text.info("dropped");
  text.warn("disk nearly full", { free: "3 GB", dir: "/data" });
  assertEquals(lines.length, 1);
  assert(/^\S+Z WARN {2}disk nearly full free="3 GB" dir=\/data$/.test(lines[0]), lines[0]);
  const json = new Logger({ format: "json", level: "debug" }, { sink: (l) => lines.push(l) });
  const restore = routeConsoleTo(json);
  try {
    console.error("push delivery failed:", new Error("gateway down"));
    console.warn("slow");
  } finally {
    restore();
  }
  const [error, warn] = lines.slice(1).map((line) => JSON.parse(line));
  assertEquals(error.level, "error");
  assert(error.msg.startsWith("push delivery failed: Error: gateway down"), error.msg);
  assertEquals([warn.level, warn.msg], ["warn", "slow"]);
});
