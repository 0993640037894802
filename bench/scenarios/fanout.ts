/**
 * fan-out: one room of `members` accounts, each holding a long-polling `/sync`; one member
 * sends `messages` events at a fixed rate (an open loop: the next send does not wait for the
 * previous acknowledgement). Delivery latency is the time from the sender's acknowledgement
 * (the `PUT /send` answer) to the event's arrival in each member's sync; an event that arrives
 * before its sender saw the acknowledgement counts as 0 ms.
 *
 * The ceiling is the same load against the raw `Deno.serve` process: as many long-polls on
 * `/poll`, woken by a `POST /publish` at the same rate.
 *
 * @module
 */

import { type LatencyStats, latencyStats, sleep } from "../load/load.ts";
import { type BenchAccount, call, type Json, sendMessage, sync } from "../load/matrix_client.ts";
import { mapBounded } from "../load/load.ts";
import {
  roomsWithMembers,
  type ScenarioTarget,
  SETUP_CONCURRENCY,
  withPeakMemory,
} from "./setup.ts";

/** Sizes of the fan-out scenario. */
export interface FanoutSizes {
  members: number;
  messages: number;
  /** Messages per second. */
  rate: number;
}

/** One side's delivery measurements. */
export interface Delivery {
  /** From the sender's acknowledgement to arrival (0 when the event arrived first). */
  latency: LatencyStats;
  /** From the moment the send was issued to arrival: the whole trip through the server. */
  endToEnd: LatencyStats;
  /** Deliveries expected (messages x receivers) that never arrived before the deadline. */
  missing: number;
  /** Sync responses (or polls) the receivers got while the messages were sent. */
  responses: number;
}

/** What the fan-out scenario measured. */
export interface FanoutResult {
  gemeng: Delivery;
  raw: Delivery;
  peakBytes: number | null;
}

/** How long to wait for the last deliveries after the last acknowledgement. */
const DRAIN_MS = 15_000;
const POLL_TIMEOUT_MS = 30_000;

/** Sends at a fixed rate; `send(i)` resolves with a key once acknowledged. */
async function sendAtRate(
  count: number,
  rate: number,
  send: (i: number) => Promise<string>,
  acks: Map<string, { issued: number; acked: number }>,
): Promise<void> {
  const interval = 1000 / rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    const issued = performance.now();
    pending.push(send(i).then((key) => void acks.set(key, { issued, acked: performance.now() })));
  }
  await Promise.all(pending);
}

function summarise(
  acks: Map<string, { issued: number; acked: number }>,
  arrivals: Map<string, number[]>,
  receivers: number,
  responses: number,
): Delivery {
  const afterAck: number[] = [];
  const endToEnd: number[] = [];
  let missing = 0;
  for (const [key, { issued, acked }] of acks) {
    const times = arrivals.get(key) ?? [];
    missing += Math.max(0, receivers - times.length);
    for (const t of times) {
      afterAck.push(Math.max(0, t - acked));
      endToEnd.push(t - issued);
    }
  }
  return {
    latency: latencyStats(afterAck),
    endToEnd: latencyStats(endToEnd),
    missing,
    responses,
  };
}

async function waitForDeliveries(
  arrivals: Map<string, number[]>,
  expected: number,
): Promise<void> {
  const deadline = performance.now() + DRAIN_MS;
  const delivered = () => [...arrivals.values()].reduce((n, list) => n + list.length, 0);
  while (delivered() < expected && performance.now() < deadline) await sleep(20);
}

async function gemengFanout(
  target: ScenarioTarget,
  members: readonly BenchAccount[],
  sizes: FanoutSizes,
): Promise<Delivery> {
  const [owner, ...others] = members;
  const [roomId] = await roomsWithMembers(target, owner, [others]);
  const filter: Json = {
    room: { rooms: [roomId], timeline: { limit: 50 }, state: { lazy_load_members: true } },
    presence: { types: [] },
  };
  const receivers = others;
  // Initial syncs first, so every receiver is in its long-poll before the first send.
  const tokens = await mapBounded(receivers, SETUP_CONCURRENCY, async (m) => {
    const body = await sync(target.baseUrl, m.accessToken, { filter });
    return body.next_batch as string;
  });
  target.log(`fan-out: ${members.length} members synced`);

  const stop = new AbortController();
  const arrivals = new Map<string, number[]>();
  let responses = 0;
  const loops = receivers.map(async (member, i) => {
    let since = tokens[i];
    while (!stop.signal.aborted) {
      let body: Json;
      try {
        body = await sync(target.baseUrl, member.accessToken, {
          since,
          filter,
          timeoutMs: POLL_TIMEOUT_MS,
          signal: stop.signal,
        });
      } catch (err) {
        if (stop.signal.aborted) return;
        throw err;
      }
      const now = performance.now();
      responses++;
      for (const event of body.rooms?.join?.[roomId]?.timeline?.events ?? []) {
        if (event.type !== "m.room.message") continue;
        let list = arrivals.get(event.event_id);
        if (!list) arrivals.set(event.event_id, list = []);
        list.push(now);
      }
      since = body.next_batch;
    }
  });
  // Give the long-polls a moment to reach the server.
  await sleep(500 + receivers.length);
  const acks = new Map<string, { issued: number; acked: number }>();
  responses = 0;
  try {
    await sendAtRate(
      sizes.messages,
      sizes.rate,
      (i) => sendMessage(target.baseUrl, owner.accessToken, roomId, `fan-out ${i}`),
      acks,
    );
    await waitForDeliveries(arrivals, sizes.messages * receivers.length);
  } finally {
    stop.abort();
    await Promise.allSettled(loops);
  }
  return summarise(acks, arrivals, receivers.length, responses);
}

async function rawFanout(
  target: ScenarioTarget,
  receivers: number,
  sizes: FanoutSizes,
): Promise<Delivery> {
  const base = target.raw.baseUrl;
  const start = (await call(base, "GET", "/poll?since=-1&timeout=0")).next as number;
  const stop = new AbortController();
  const arrivals = new Map<string, number[]>();
  let responses = 0;
  const loops = Array.from({ length: receivers }, async () => {
    let since = start;
    while (!stop.signal.aborted) {
      let body: Json;
      try {
        body = await call(base, "GET", `/poll?since=${since}&timeout=${POLL_TIMEOUT_MS}`, {
          signal: stop.signal,
        });
      } catch (err) {
        if (stop.signal.aborted) return;
        throw err;
      }
      const now = performance.now();
      responses++;
      // Every value between the last one seen and the new one was published meanwhile.
      for (let n = since + 1; n <= body.next; n++) {
        let list = arrivals.get(String(n));
        if (!list) arrivals.set(String(n), list = []);
        list.push(now);
      }
      since = body.next;
    }
  });
  await sleep(500 + receivers);
  const acks = new Map<string, { issued: number; acked: number }>();
  responses = 0;
  try {
    await sendAtRate(
      sizes.messages,
      sizes.rate,
      async () => String((await call(base, "POST", "/publish", { body: {} })).next),
      acks,
    );
    await waitForDeliveries(arrivals, sizes.messages * receivers);
  } finally {
    stop.abort();
    await Promise.allSettled(loops);
  }
  return summarise(acks, arrivals, receivers, responses);
}

/** Runs the fan-out scenario with the first `sizes.members` accounts of `pool`. */
export async function runFanout(
  target: ScenarioTarget,
  pool: readonly BenchAccount[],
  sizes: FanoutSizes,
): Promise<FanoutResult> {
  const members = pool.slice(0, sizes.members);
  if (members.length < sizes.members || members.length < 2) {
    throw new Error("fan-out: pool too small");
  }
  const { result: gemeng, peakBytes } = await withPeakMemory(
    target,
    () => gemengFanout(target, members, sizes),
  );
  const raw = await rawFanout(target, members.length - 1, sizes);
  return { gemeng, raw, peakBytes };
}
