import { assert, assertEquals } from "./assert.ts";
import { Mutations } from "../../server/rooms/mutations.ts";
import {
  backoffDelay,
  catchUpDrops,
  destinationsWithItems,
  DIRECT_FANOUT_MAX,
  FANOUT_CHUNK,
  type FanoutRecord,
  itemId,
  newTxnId,
  outboxKeys,
  outboxStatus,
  pduErrors,
  queuePdu,
  splitText,
} from "../../server/federation/outbox.ts";
import {
  federationClientTransport,
  pduLoader,
} from "../../server/federation/transaction_transport.ts";
import { RoomStore } from "../../server/rooms/room_store.ts";
import {
  type EventMeta,
  type EventRecord,
  roomKeys,
  type RoomRecord,
} from "../../server/rooms/schema.ts";

async function commit(kv: Deno.Kv, m: Mutations): Promise<void> {
  const op = kv.atomic();
  m.apply(op);
  assert((await op.commit()).ok);
}

async function keys(kv: Deno.Kv, prefix: Deno.KvKey): Promise<Deno.KvKey[]> {
  const out: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix })) out.push(entry.key);
  return out;
}

Deno.test("outbox: queuePdu writes one small key per destination, in stream order", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const m = new Mutations();
    const queued = queuePdu(m, ["b.example", "a.example:8448", "b.example", "not a name!", ""], {
      eventId: "$two",
      pos: 2,
      roomId: "!r:here",
      queuedTs: 1000,
    });
    assertEquals(queued, ["a.example:8448", "b.example"]);
    assertEquals(m.mutations, 2);
    queuePdu(m, ["b.example"], { eventId: "$one", pos: 1, roomId: "!r:here", queuedTs: 999 });
    await commit(kv, m);
    assertEquals(await keys(kv, outboxKeys.queueOf("b.example")), [
      ["fed_outbox", "b.example", 1, "$one"],
      ["fed_outbox", "b.example", 2, "$two"],
    ]);
    const item = await kv.get(outboxKeys.item("a.example:8448", 2, "$two"));
    assertEquals(item.value, { roomId: "!r:here", queuedTs: 1000 });
  } finally {
    kv.close();
  }
});

Deno.test("outbox: many destinations become fan-out records that fit one commit", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const names = Array.from({ length: 250 }, (_, i) => `server${i}.example`);
    const m = new Mutations();
    assertEquals(queuePdu(m, names, { eventId: "$e", pos: 7, roomId: "!r:here" }).length, 250);
    assertEquals(m.mutations, Math.ceil(250 / FANOUT_CHUNK));
    await commit(kv, m);
    const records: string[] = [];
    for await (const entry of kv.list<FanoutRecord>({ prefix: outboxKeys.fanouts() })) {
      assertEquals(entry.key.slice(0, 3), ["fed_fanout", 7, "$e"]);
      records.push(...entry.value.destinations);
    }
    assertEquals(records.sort(), names.sort());
    // At the threshold still single keys.
    const direct = new Mutations();
    queuePdu(direct, names.slice(0, DIRECT_FANOUT_MAX), { eventId: "$f", pos: 8, roomId: "!r" });
    assertEquals(direct.mutations, DIRECT_FANOUT_MAX);
  } finally {
    kv.close();
  }
});

Deno.test("outbox: backoff doubles from the base up to the cap, with at most -20% jitter", () => {
  const options = { baseMs: 5_000, maxMs: 30 * 60_000, random: 0 };
  assertEquals(
    [1, 2, 3, 4, 10, 11, 12, 100].map((n) => backoffDelay(n, options)),
    [5_000, 10_000, 20_000, 40_000, 1_800_000, 1_800_000, 1_800_000, 1_800_000],
  );
  assertEquals(backoffDelay(0, options), 5_000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, { baseMs: 1000, maxMs: 10_000 });
    assert(d >= 3_200 && d <= 4_000, `jittered delay ${d}`);
  }
});

Deno.test("outbox: catch-up keeps the newest item of each room and the in-flight ones", () => {
  const item = (pos: number, roomId: string) => ({
    key: outboxKeys.item("d.example", pos, `$${pos}`),
    roomId,
  });
  const items = [item(1, "!a"), item(2, "!b"), item(3, "!a"), item(4, "!a"), item(5, "!c")];
  const keep = new Set([itemId(items[0].key)]);
  assertEquals(catchUpDrops(items, keep), [items[2].key]);
  assertEquals(catchUpDrops(items, new Set()), [items[0].key, items[2].key]);
  assertEquals(catchUpDrops([], new Set()), []);
});

Deno.test("outbox: destinations are found by skipping whole queues", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const m = new Mutations();
    // Names that are prefixes of one another must not hide each other.
    const names = ["a.example", "a.example:8448", "a.example.org", "b.example"];
    for (let pos = 1; pos <= 30; pos++) {
      queuePdu(m, names, { eventId: `$${pos}`, pos, roomId: "!r" });
    }
    await commit(kv, m);
    assertEquals(await destinationsWithItems(kv), [...names].sort());
    const status = await outboxStatus(kv, { countLimit: 20 });
    assertEquals(status.map((s) => [s.destination, s.queued, s.queuedCapped]), [
      ["a.example", 20, true],
      ["a.example.org", 20, true],
      ["a.example:8448", 20, true],
      ["b.example", 20, true],
    ]);
    assertEquals((await outboxStatus(kv))[0].queued, 30);
  } finally {
    kv.close();
  }
});

Deno.test("outbox: small helpers", () => {
  assertEquals(
    pduErrors({ "$a": {}, "$b": { error: "nope" }, "$c": null as unknown as { error?: string } }),
    [{ eventId: "$b", error: "nope" }],
  );
  assertEquals(pduErrors(undefined), []);
  assertEquals(splitText("abcdefg", 3), ["abc", "def", "g"]);
  assertEquals(splitText("", 3), []);
  const a = newTxnId(1), b = newTxnId(1);
  assert(a !== b && /^[0-9a-z]+\.[A-Za-z0-9]{12}$/.test(a), a);
});

Deno.test("outbox: pduLoader sends stored events as PDUs, redacted ones redacted", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const roomId = "!room:origin.test";
    const room: RoomRecord = {
      roomId,
      roomVersion: "10",
      createEventId: "$create",
      creator: "@a:origin.test",
      createdTs: 1,
    };
    const pdu = {
      room_id: roomId,
      type: "m.room.message",
      sender: "@a:origin.test",
      origin_server_ts: 5,
      depth: 3,
      prev_events: ["$p"],
      auth_events: ["$create"],
      content: { msgtype: "m.text", body: "secret" },
      hashes: { sha256: "x" },
      signatures: {},
      unsigned: { transaction_id: "local" },
    };
    const meta = (changes: Partial<EventMeta> = {}): EventMeta => ({
      roomId,
      pos: 3,
      depth: 3,
      stateGroupBefore: 1,
      stateGroup: 1,
      rejected: null,
      outlier: false,
      txn: null,
      redactedBy: null,
      receivedTs: 5,
      replacesState: null,
      ...changes,
    });
    const records: Record<string, EventRecord> = {
      "$plain": { meta: meta(), pdu: JSON.stringify(pdu), parts: 0 },
      "$redacted": { meta: meta({ redactedBy: "$r" }), pdu: JSON.stringify(pdu), parts: 0 },
      "$rejected": { meta: meta({ rejected: "auth" }), pdu: JSON.stringify(pdu), parts: 0 },
      "$outlier": { meta: meta({ outlier: true, pos: null }), pdu: JSON.stringify(pdu), parts: 0 },
    };
    const op = kv.atomic().set(roomKeys.room(roomId), room);
    for (const [id, record] of Object.entries(records)) op.set(roomKeys.event(id), record);
    await op.commit();
    const load = pduLoader(new RoomStore(kv));
    const { unsigned: _, ...sent } = pdu;
    assertEquals(await load("$plain"), sent);
    const redacted = await load("$redacted");
    assertEquals(redacted?.content, {});
    assertEquals(redacted?.sender, pdu.sender);
    assertEquals([await load("$rejected"), await load("$outlier"), await load("$nope")], [
      null,
      null,
      null,
    ]);
  } finally {
    kv.close();
  }
});

Deno.test("outbox: the federation client's answers map to retry decisions", async () => {
  const calls: { destination: string; path: string; body: Record<string, unknown> }[] = [];
  const answerWith = (answer: () => Promise<{ status: number; json: unknown }>) =>
    federationClientTransport({
      request: (destination, request) => {
        calls.push({ destination, path: request.path, body: request.body });
        return answer();
      },
    });
  const send = (answer: () => Promise<{ status: number; json: unknown }>) =>
    answerWith(answer).sendTransaction("peer.example", "t/1", {
      origin: "me.example",
      origin_server_ts: 1,
      pdus: [],
    }, { signal: new AbortController().signal });
  const pdus = { "$a": {}, "$b": { error: "no" } };
  assertEquals(await send(() => Promise.resolve({ status: 200, json: { pdus } })), {
    ok: true,
    pduResults: pdus,
  });
  assertEquals(calls[0], {
    destination: "peer.example",
    path: "/_matrix/federation/v1/send/t%2F1",
    body: { origin: "me.example", origin_server_ts: 1, pdus: [] },
  });
  assertEquals(await send(() => Promise.resolve({ status: 200, json: [] })), {
    ok: true,
    pduResults: undefined,
  });
  const retry = async (status: number, json: unknown = { errcode: "M_UNKNOWN" }) => {
    const result = await send(() => Promise.resolve({ status, json }));
    assert(!result.ok);
    return result.retryable;
  };
  assertEquals(
    await Promise.all([500, 502, 429, 401, 408].map((s) => retry(s))),
    [true, true, true, true, true],
  );
  assertEquals(await Promise.all([400, 403, 404, 413].map((s) => retry(s, "x"))), [
    false,
    false,
    false,
    false,
  ]);
  const thrown = async (code: string) => {
    const result = await send(() => Promise.reject(Object.assign(new Error(code), { code })));
    assert(!result.ok);
    return result.retryable;
  };
  assertEquals(
    await Promise.all(["CONNECT", "TIMEOUT", "UNRESOLVABLE", "BAD_DESTINATION"].map(thrown)),
    [true, true, true, true],
  );
  assertEquals(await Promise.all(["SELF", "NOT_ALLOWED", "PRIVATE_ADDRESS"].map(thrown)), [
    false,
    false,
    false,
  ]);
});
