import v8 from "node:v8";
import vm from "node:vm";
import { assert } from "./assert.ts";
import { roomVersion } from "../../federation/room_versions.ts";
import type { PduJson } from "../../federation/types.ts";
import type { EventMeta } from "../../server/rooms/schema.ts";
import {
  roomEventFromStored,
  type StoredEvent,
  storedEventBytes,
} from "../../server/rooms/room_store.ts";

/** A full garbage collection (V8's `gc`, exposed for this process). */
function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
}

const rules = roomVersion("10")!;

function eventId(): string {
  return `$${crypto.randomUUID().replaceAll("-", "")}${crypto.randomUUID().slice(0, 11)}`;
}

/** A stored event as the room store caches it, parsed from its stored JSON text. */
function parsedEvent(i: number, body: string): StoredEvent {
  const id = eventId();
  const roomId = `!room${i % 300}:bench.localhost`;
  const sender = `@user${i % 1000}:bench.localhost`;
  const member = i % 2 === 0;
  const text = JSON.stringify({
    auth_events: [eventId(), eventId(), eventId()],
    prev_events: [eventId()],
    depth: 100 + i,
    hashes: { sha256: crypto.randomUUID() + crypto.randomUUID().slice(0, 7) },
    origin_server_ts: 1_700_000_000_000 + i,
    room_id: roomId,
    sender,
    signatures: { "bench.localhost": { "ed25519:a_bcde": `${"s".repeat(80)}${i}` } },
    type: member ? "m.room.member" : "m.room.message",
    ...(member ? { state_key: sender } : {}),
    content: member
      ? { membership: "join", displayname: `user ${i}` }
      : { msgtype: "m.text", body: `${body} ${i}` },
  });
  const meta: EventMeta = {
    roomId,
    pos: i,
    depth: 100 + i,
    stateGroupBefore: i,
    stateGroup: i,
    rejected: null,
    outlier: false,
    txn: null,
    redactedBy: null,
    receivedTs: Date.now(),
    replacesState: null,
  };
  return {
    event: roomEventFromStored(id, roomId, JSON.parse(text) as PduJson, rules),
    meta,
    rules,
  };
}

/** Heap bytes per event that `count` parsed events retain, and their estimated bytes. */
function measure(count: number, body: string): { measured: number; estimated: number } {
  const keep: StoredEvent[] = [];
  collectGarbage();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) keep.push(parsedEvent(i, body));
  collectGarbage();
  const after = Deno.memoryUsage().heapUsed;
  let estimated = 0;
  for (const stored of keep) estimated += storedEventBytes(stored);
  return { measured: (after - before) / count, estimated: estimated / keep.length };
}

Deno.test("event cache: a parsed event's size estimate is near what it retains", () => {
  for (const body of ["hello", "x".repeat(4000)]) {
    const { measured, estimated } = measure(4000, body);
    const ratio = estimated / measured;
    assert(
      ratio > 0.75 && ratio < 1.33,
      `estimated ${estimated.toFixed(0)} bytes per event, measured ${measured.toFixed(0)}`,
    );
  }
});
