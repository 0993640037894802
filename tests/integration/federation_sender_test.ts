/**
 * The outbound federation sender against real HTTP destinations on loopback: PDUs queued with
 * `queuePdu` in real commits (as the room pipeline does), delivered as
 * `PUT /_matrix/federation/v1/send/{txnId}` by a plain-HTTP transport (the signed TLS one is
 * `server/federation/client.ts`; what is tested here is the queue, not the transport).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { CommitQueue } from "../../server/rooms/commit_queue.ts";
import { Mutations } from "../../server/rooms/mutations.ts";
import {
  clearBackoff,
  outboxKeys,
  outboxStatus,
  queuePdu,
} from "../../server/federation/outbox.ts";
import {
  type EduSource,
  FederationSender,
  type FederationSenderOptions,
} from "../../server/federation/sender.ts";
import type {
  TransactionBody,
  TransactionTransport,
} from "../../server/federation/transaction_transport.ts";
import type { JsonObject } from "../../federation/types.ts";

const ORIGIN = "origin.test";

/** One request a destination received. */
interface Received {
  destination: string;
  txnId: string;
  raw: string;
  body: TransactionBody;
  answered: number;
  at: number;
}

/**
 * A destination server: records every `PUT /send/{txnId}` and answers by `mode`. `hang`
 * never answers until stopped; `stop()` makes the port refuse connections.
 */
class Destination {
  mode: "ok" | "fail" | "hang" | "forbid" = "ok";
  /** Event IDs answered with a per-PDU error. */
  refuse = new Set<string>();
  readonly requests: Received[] = [];
  readonly #hung: (() => void)[] = [];
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  port = 0;

  start(): this {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: this.port,
      onListen: () => {},
    }, (req) => this.#handle(req));
    this.port = this.#server.addr.port;
    return this;
  }

  get name(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Requests answered 200. */
  get accepted(): Received[] {
    return this.requests.filter((r) => r.answered === 200);
  }

  /** PDUs accepted, in arrival order (a repeated transaction ID counts once). */
  pdus(destination?: string): JsonObject[] {
    const seen = new Set<string>();
    const out: JsonObject[] = [];
    for (const r of this.accepted) {
      if (destination !== undefined && r.destination !== destination) continue;
      if (seen.has(r.txnId)) continue;
      seen.add(r.txnId);
      out.push(...r.body.pdus);
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const release of this.#hung.splice(0)) release();
    await this.#server?.shutdown();
    this.#server = null;
  }

  async #handle(req: Request): Promise<Response> {
    const match = new URL(req.url).pathname.match(/^\/_matrix\/federation\/v1\/send\/([^/]+)$/);
    if (req.method !== "PUT" || !match) {
      return Response.json({ errcode: "M_UNRECOGNIZED" }, { status: 404 });
    }
    const raw = await req.text();
    const received: Received = {
      destination: req.headers.get("x-test-destination") ?? this.name,
      txnId: decodeURIComponent(match[1]),
      raw,
      body: JSON.parse(raw),
      answered: 0,
      at: Date.now(),
    };
    this.requests.push(received);
    const answer = (status: number, body: unknown) => {
      received.answered = status;
      return Response.json(body, { status });
    };
    if (this.mode === "hang") {
      await new Promise<void>((resolve) => this.#hung.push(resolve));
      return answer(503, { errcode: "M_UNKNOWN" });
    }
    if (this.mode === "fail") return answer(500, { errcode: "M_UNKNOWN", error: "down" });
    if (this.mode === "forbid") return answer(403, { errcode: "M_FORBIDDEN", error: "go away" });
    const pdus: Record<string, { error?: string }> = {};
    for (const pdu of received.body.pdus) {
      const id = String(pdu.event_id);
      pdus[id] = this.refuse.has(id) ? { error: "You are not allowed to send that." } : {};
    }
    return answer(200, { pdus });
  }
}

/**
 * Plain-HTTP transport: `route` maps a server name to a base URL (several names may share one
 * test server; the name travels in a header so the server can tell them apart).
 */
function httpTransport(route: (destination: string) => string): TransactionTransport {
  return {
    async sendTransaction(destination, txnId, body, { signal }) {
      try {
        const url = `${route(destination)}/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`;
        const res = await fetch(url, {
          method: "PUT",
          headers: { "content-type": "application/json", "x-test-destination": destination },
          body: JSON.stringify(body),
          signal,
        });
        const answer = await res.json();
        if (res.status === 200) return { ok: true, pduResults: answer.pdus };
        const retryable = res.status >= 500 || res.status === 429 || res.status === 401;
        return { ok: false, retryable, error: `HTTP ${res.status} ${answer.errcode ?? ""}` };
      } catch (err) {
        return { ok: false, retryable: true, error: String(err) };
      }
    },
  };
}

/** Stands in for the room pipeline: commits events and their outbox items together. */
class Pipeline {
  readonly kv: Deno.Kv;
  readonly #queue: CommitQueue;
  pos = 0;

  constructor(kv: Deno.Kv) {
    this.kv = kv;
    this.#queue = new CommitQueue(kv);
  }

  /** Commits one event (stored at a test key) queued for `destinations`. */
  async send(roomId: string, destinations: string[]): Promise<string> {
    const pos = ++this.pos;
    const eventId = `$event${pos}`;
    const pdu: JsonObject = {
      event_id: eventId,
      room_id: roomId,
      type: "m.room.message",
      sender: `@alice:${ORIGIN}`,
      origin_server_ts: 1_700_000_000_000 + pos,
      content: { msgtype: "m.text", body: `message ${pos}` },
    };
    const m = new Mutations();
    m.set(["test_pdu", eventId], pdu);
    queuePdu(m, destinations, { eventId, pos, roomId });
    await this.#queue.enqueue(m).done;
    return eventId;
  }

  /** The loader the sender reads PDUs with. */
  loadPdu = async (eventId: string): Promise<JsonObject | null> =>
    (await this.kv.get<JsonObject>(["test_pdu", eventId])).value;
}

function sender(
  pipeline: Pipeline,
  options: Partial<FederationSenderOptions> & { route?: (d: string) => string } = {},
): FederationSender {
  const route = options.route ?? ((d: string) => `http://${d}`);
  return new FederationSender(pipeline.kv, {
    origin: ORIGIN,
    transport: httpTransport(route),
    loadPdu: pipeline.loadPdu,
    backoff: { baseMs: 40, maxMs: 200 },
    sweepIntervalMs: 5_000,
    log: () => {},
    ...options,
  });
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function queueLength(kv: Deno.Kv, destination: string): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: outboxKeys.queueOf(destination) })) n++;
  return n;
}

const bodies = (pdus: JsonObject[]) => pdus.map((p) => (p.content as JsonObject).body as string);

Deno.test("sender: batches of at most 50 PDUs, in order, deleted once acknowledged", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  const pipeline = new Pipeline(kv);
  const s = sender(pipeline);
  try {
    for (let i = 0; i < 120; i++) await pipeline.send("!room:origin.test", [dest.name]);
    s.start();
    await waitFor("120 PDUs", () => dest.pdus().length === 120);
    assertEquals(dest.accepted.map((r) => r.body.pdus.length), [50, 50, 20]);
    assertEquals(
      bodies(dest.pdus()),
      Array.from({ length: 120 }, (_, i) => `message ${i + 1}`),
    );
    for (const r of dest.accepted) {
      assertEquals(r.body.origin, ORIGIN);
      assert(typeof r.body.origin_server_ts === "number");
      assertEquals(r.body.edus, undefined);
    }
    assertEquals(new Set(dest.accepted.map((r) => r.txnId)).size, 3);
    // Live events after start are sent when the pipeline wakes the sender.
    const live = await pipeline.send("!room:origin.test", [dest.name]);
    s.wake([dest.name]);
    await waitFor("the live event", () => dest.pdus().length === 121);
    assertEquals(dest.pdus()[120].event_id, live);
    await waitFor("an empty queue", async () => await queueLength(kv, dest.name) === 0);
    const [status] = await s.status();
    assertEquals(status.destination, dest.name);
    assertEquals([status.queued, status.delivered, status.failures], [0, 121, 0]);
    assert(status.lastSuccessTs !== null && status.inFlightTxnId === null);
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: a failed transaction is retried with the same ID and content, after a backoff", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  dest.mode = "fail";
  const pipeline = new Pipeline(kv);
  // The EDU seam: what the source hands over travels (and is retried) with the PDUs.
  let edus: JsonObject[] = [{ edu_type: "m.typing", content: { room_id: "!r", typing: true } }];
  const source: EduSource = {
    take: (_destination, limit) => {
      const out = edus.slice(0, limit);
      edus = [];
      return Promise.resolve(out);
    },
  };
  const s = sender(pipeline, { edus: source, backoff: { baseMs: 100, maxMs: 1_000 } });
  try {
    for (let i = 0; i < 3; i++) await pipeline.send("!r:origin.test", [dest.name]);
    s.start();
    await waitFor("3 answered attempts", () => dest.requests.filter((r) => r.answered).length >= 3);
    assertEquals(dest.requests.slice(0, 3).map((r) => r.answered), [500, 500, 500]);
    // 100 ms, then 200 ms (less up to a fifth of jitter).
    const [t0, t1, t2] = dest.requests.map((r) => r.at);
    assert(t1 - t0 >= 70 && t2 - t1 >= 150, `gaps ${t1 - t0} and ${t2 - t1} ms`);
    const [status] = await outboxStatus(kv);
    assert(status.failures >= 2 && status.backoffUntil > 0, JSON.stringify(status));
    assert(status.lastError?.includes("500"), String(status.lastError));
    assertEquals(status.queued, 3);
    assertEquals(status.inFlightTxnId, dest.requests[0].txnId);
    // Events queued meanwhile wait for the transaction in flight.
    await pipeline.send("!r:origin.test", [dest.name]);
    s.wake([dest.name]);
    dest.mode = "ok";
    await waitFor("4 PDUs", () => dest.pdus().length === 4, 10_000);
    const [first, ...rest] = dest.requests;
    const retries = rest.filter((r) => r.txnId === first.txnId);
    assert(retries.length >= 2);
    for (const r of retries) assertEquals(r.raw, first.raw);
    assertEquals(first.body.edus?.length, 1);
    assertEquals(bodies(first.body.pdus), ["message 1", "message 2", "message 3"]);
    const last = dest.accepted.at(-1)!;
    assert(last.txnId !== first.txnId);
    assertEquals(bodies(last.body.pdus), ["message 4"]);
    // The destination holds the PDUs once it has the request; the sender clears its queue once
    // it has the answer.
    await waitFor("the queue drained", async () => (await outboxStatus(kv))[0].queued === 0);
    const [after] = await outboxStatus(kv);
    assertEquals([after.failures, after.backoffUntil, after.queued, after.lastError], [
      0,
      0,
      0,
      null,
    ]);
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: a restart resends the stored transaction and everything queued", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  dest.mode = "hang";
  const pipeline = new Pipeline(kv);
  const first = sender(pipeline);
  let second: FederationSender | null = null;
  try {
    for (let i = 0; i < 60; i++) await pipeline.send("!r:origin.test", [dest.name]);
    first.start();
    await waitFor("a request in flight", () => dest.requests.length === 1);
    // Killed mid-request: nothing was acknowledged.
    await first.close();
    assertEquals(await queueLength(kv, dest.name), 60);
    // Queued while no sender runs.
    await pipeline.send("!r:origin.test", [dest.name]);
    dest.mode = "ok";
    second = sender(pipeline);
    second.start();
    await waitFor("61 PDUs", () => dest.pdus().length === 61);
    const [hung, ...after] = dest.requests;
    assertEquals(after[0].txnId, hung.txnId);
    assertEquals(after[0].raw, hung.raw);
    assertEquals(bodies(dest.pdus()), Array.from({ length: 61 }, (_, i) => `message ${i + 1}`));
    await waitFor("an empty queue", async () => await queueLength(kv, dest.name) === 0);
  } finally {
    await first.close();
    await second?.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: dead and hanging destinations do not delay a live one", async () => {
  const kv = await Deno.openKv(":memory:");
  const live = new Destination().start();
  const hanging = new Destination().start();
  hanging.mode = "hang";
  const dead = new Destination().start();
  await dead.stop();
  const pipeline = new Pipeline(kv);
  // Two request slots: the hanging destination holds one until its timeout.
  const s = sender(pipeline, {
    maxConcurrent: 2,
    requestTimeoutMs: 3_000,
    backoff: { baseMs: 5_000, maxMs: 5_000 },
  });
  try {
    s.start();
    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      const targets = [hanging.name, dead.name, live.name];
      await pipeline.send("!r:origin.test", targets);
      s.wake(targets);
    }
    await waitFor("5 PDUs at the live destination", () => live.pdus().length === 5, 2_500);
    // Well before the hanging request times out.
    assert(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    await waitFor("the hanging destination to time out", async () => {
      const status = await s.status();
      return status.find((d) => d.destination === hanging.name)?.lastError === "timed out";
    });
    const status = new Map((await s.status()).map((d) => [d.destination, d]));
    assertEquals(status.get(live.name)?.queued, 0);
    assertEquals(status.get(dead.name)?.queued, 5);
    assert(status.get(dead.name)!.failures >= 1);
    assert(status.get(dead.name)!.backoffUntil > Date.now());
    assertEquals(status.get(hanging.name)?.queued, 5);
    // Backing off: no new attempt at the dead ones while the live one keeps flowing.
    const hangingRequests = hanging.requests.length;
    for (let i = 0; i < 3; i++) {
      const targets = [hanging.name, dead.name, live.name];
      await pipeline.send("!r:origin.test", targets);
      s.wake(targets);
    }
    await waitFor("8 PDUs at the live destination", () => live.pdus().length === 8);
    assertEquals(hanging.requests.length, hangingRequests);
  } finally {
    await s.close();
    await live.stop();
    await hanging.stop();
    kv.close();
  }
});

Deno.test("sender: per-PDU errors and refused transactions are not retried", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  const pipeline = new Pipeline(kv);
  const s = sender(pipeline);
  try {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await pipeline.send("!r:origin.test", [dest.name]));
    dest.refuse = new Set([ids[1], ids[3]]);
    s.start();
    await waitFor("an empty queue", async () => await queueLength(kv, dest.name) === 0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assertEquals(dest.requests.length, 1);
    let [status] = await s.status();
    assertEquals([status.delivered, status.refused, status.failures], [4, 2, 0]);
    assert(status.lastRefusal?.startsWith(ids[1]), String(status.lastRefusal));
    // A destination that refuses the whole transaction (403): dropped, backed off.
    dest.mode = "forbid";
    await pipeline.send("!r:origin.test", [dest.name]);
    s.wake([dest.name]);
    await waitFor("the refusal", () => dest.requests.length === 2);
    await waitFor("an empty queue", async () => await queueLength(kv, dest.name) === 0);
    [status] = await s.status();
    assertEquals([status.dropped, status.failures, status.inFlightTxnId], [1, 1, null]);
    assert(status.lastError?.includes("403"), String(status.lastError));
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: after downtime a long queue is collapsed to the newest event per room", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  dest.mode = "fail";
  const pipeline = new Pipeline(kv);
  const s = sender(pipeline, { catchUpThreshold: 100, backoff: { baseMs: 50, maxMs: 50 } });
  try {
    const rooms = ["!a:origin.test", "!b:origin.test", "!c:origin.test"];
    const newest = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      newest.set(rooms[i % 3], await pipeline.send(rooms[i % 3], [dest.name]));
    }
    s.start();
    await waitFor("a failed attempt", () => dest.requests.length >= 1);
    // The destination stays down while 290 more events are queued.
    for (let i = 10; i < 300; i++) {
      newest.set(rooms[i % 3], await pipeline.send(rooms[i % 3], [dest.name]));
    }
    dest.mode = "ok";
    await waitFor("two transactions", () => dest.accepted.length >= 2);
    await waitFor("an empty queue", async () => await queueLength(kv, dest.name) === 0);
    // The transaction in flight goes as it was, then only the newest event of each room.
    const [inFlight, catchUp] = [...new Map(dest.accepted.map((r) => [r.txnId, r])).values()];
    assertEquals(inFlight.body.pdus.length, 10);
    assertEquals(
      catchUp.body.pdus.map((p) => p.event_id).sort(),
      [...newest.values()].sort(),
    );
    assertEquals(dest.pdus().length, 13);
    const [status] = await s.status();
    assertEquals(status.dropped, 300 - 13);
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: retryNow ends a backoff; status lists destinations", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  dest.mode = "fail";
  const pipeline = new Pipeline(kv);
  const s = sender(pipeline, { backoff: { baseMs: 60_000, maxMs: 60_000 } });
  try {
    await pipeline.send("!r:origin.test", [dest.name]);
    await pipeline.send("!r:origin.test", [dest.name]);
    s.start();
    await waitFor("a failure recorded", async () => (await s.status())[0]?.failures === 1);
    let [status] = await s.status();
    assert(status.backoffUntil > Date.now() + 40_000); // 60 s less jitter
    assertEquals([status.queued, status.inFlightTxnId], [2, dest.requests[0].txnId]);
    assert(status.downSinceTs !== null && status.lastAttemptTs !== null);
    dest.mode = "ok";
    s.wake([dest.name]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertEquals(dest.requests.length, 1);
    s.retryNow(dest.name);
    await waitFor("delivery", () => dest.pdus().length === 2);
    assertEquals(dest.accepted[0].txnId, dest.requests[0].txnId);
    await waitFor("a clean status", async () => (await s.status())[0].queued === 0);
    [status] = await s.status();
    assertEquals([status.failures, status.backoffUntil, status.downSinceTs], [0, 0, null]);
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: an event for many servers is fanned out to each of them", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  const pipeline = new Pipeline(kv);
  const names = Array.from({ length: 70 }, (_, i) => `server${i}.test`);
  const s = sender(pipeline, { route: () => `http://${dest.name}` });
  try {
    s.start();
    const eventId = await pipeline.send("!big:origin.test", names);
    s.wake(names);
    await waitFor("70 transactions", () => dest.accepted.length === 70);
    assertEquals(new Set(dest.accepted.map((r) => r.destination)), new Set(names));
    for (const r of dest.accepted) assertEquals(r.body.pdus.map((p) => p.event_id), [eventId]);
    let fanouts = 0;
    for await (const _ of kv.list({ prefix: outboxKeys.fanouts() })) fanouts++;
    assertEquals(fanouts, 0);
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});

Deno.test("sender: a transport that ignores its signal holds neither the slot nor close()", async () => {
  const kv = await Deno.openKv(":memory:");
  const pipeline = new Pipeline(kv);
  let calls = 0;
  const stuck: TransactionTransport = {
    sendTransaction: () => {
      calls++;
      return new Promise(() => {});
    },
  };
  const s = new FederationSender(kv, {
    origin: ORIGIN,
    transport: stuck,
    loadPdu: pipeline.loadPdu,
    maxConcurrent: 1,
    requestTimeoutMs: 100,
    backoff: { baseMs: 20, maxMs: 20 },
    log: () => {},
  });
  try {
    await pipeline.send("!r:origin.test", ["stuck.test"]);
    s.start();
    await waitFor("timed-out retries", () => calls >= 3);
    const [status] = await s.status();
    assertEquals([status.lastError, status.queued], ["timed out", 1]);
    const closing = Date.now();
    await s.close();
    assert(Date.now() - closing < 100, `close took ${Date.now() - closing} ms`);
  } finally {
    await s.close();
    kv.close();
  }
});

Deno.test("sender: a backoff cleared by another process is retried at the next sweep", async () => {
  const kv = await Deno.openKv(":memory:");
  const dest = new Destination().start();
  dest.mode = "fail";
  const pipeline = new Pipeline(kv);
  const s = sender(pipeline, { backoff: { baseMs: 60_000, maxMs: 60_000 }, sweepIntervalMs: 50 });
  try {
    await pipeline.send("!r:origin.test", [dest.name]);
    s.start();
    await waitFor("a failure recorded", async () => (await s.status())[0]?.failures === 1);
    dest.mode = "ok";
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(dest.requests.length, 1);
    assertEquals(await clearBackoff(kv, dest.name), true);
    assertEquals(await clearBackoff(kv, "unknown.test"), false);
    await waitFor("delivery", () => dest.pdus().length === 1);
    assertEquals(dest.accepted[0].txnId, dest.requests[0].txnId);
  } finally {
    await s.close();
    await dest.stop();
    kv.close();
  }
});
