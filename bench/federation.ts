/**
 * Federation section (issue 12): gemeng nodes on loopback TLS (the test CA of
 * `../shared/peers/make_ca.sh`), each figure beside a ceiling measured in the same run.
 *
 * - Inbound PDUs verified and persisted per second: node B sends node A transactions of 50
 *   signed PDUs (a chain of messages by B's user in a room hosted by A), one transaction at a
 *   time as a sender does; A checks and stores each before it answers. Ceiling: raw Ed25519
 *   verifications per second (`verifyEd25519`), the one cost no implementation avoids.
 * - Joining a remote room with many members, hosted by gemeng and by Synapse
 *   (`federation_join.ts`).
 * - Outbound fan-out of one message to 20 destinations: 20 gemeng nodes joined to a room on
 *   A; the time from the client's send on A until every destination has stored the event,
 *   against the same for a room with one destination.
 *
 * Skipped with a printed reason when the test CA cannot be made (no `../shared/peers`).
 *
 * @module
 */

import { SigningKey, verifyEd25519 } from "../crypto/signing.ts";
import { canonicalJsonBytes } from "../crypto/canonical_json.ts";
import { buildPdu } from "../federation/build_event.ts";
import { type RoomEvent, stateTupleKey } from "../federation/types.ts";
import { type GemengNode, startGemengNode } from "../tests/federation/support/gemeng_node.ts";
import { CA_MISSING } from "../tests/federation/support/peers.ts";
import { runJoinBench } from "./federation_join.ts";
import { runE2eeBench } from "./federation_e2ee.ts";
import { mapBounded, median } from "./load/load.ts";
import type { KvCeilings } from "./ceilings.ts";
import type { BenchRow } from "./report.ts";

/** How big each part of the section is. */
export interface FederationSizes {
  /** Transactions of 50 PDUs sent to A. */
  inboundTxns: number;
  /** Members of the room joined from another server (gemeng host). */
  joinMembers: number;
  /** Members of the Synapse-hosted room (0: skip Synapse). */
  synapseMembers: number;
  /** Destinations of the fan-out. */
  fanoutDestinations: number;
  /** Messages timed per fan-out room (the median is reported). */
  fanoutMessages: number;
}

/** `deno task bench`: the sizes the issue asks for. */
export const FULL_SIZES: FederationSizes = {
  inboundTxns: 40,
  joinMembers: 2000,
  // Filling Synapse 1.67 (SQLite) takes 0.06-0.15 s a member, growing with the room: 2,000
  // took 281 s on a busy 2-core machine. `--synapse-members 2000` asks for it.
  synapseMembers: 500,
  fanoutDestinations: 20,
  fanoutMessages: 5,
};

/** `--quick` and the bench test: small, and without Synapse. */
export const QUICK_SIZES: FederationSizes = {
  inboundTxns: 4,
  joinMembers: 30,
  synapseMembers: 0,
  fanoutDestinations: 3,
  fanoutMessages: 2,
};

/** Options of {@link runFederationBench}. */
export interface FederationBenchOptions {
  quick: boolean;
  /** The run's raw KV ceilings: inbound PDUs are also set against single-key commits. */
  kv?: KvCeilings;
  sizes?: FederationSizes;
  log?: (line: string) => void;
}

const PDUS_PER_TXN = 50;

/** Runs the section; an empty list (with the reason printed) when the test CA is missing. */
export async function runFederationBench(options: FederationBenchOptions): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (CA_MISSING) {
    log(`federation section skipped: ${CA_MISSING}`);
    return [];
  }
  const sizes = options.sizes ?? (options.quick ? QUICK_SIZES : FULL_SIZES);
  const rows: BenchRow[] = [];
  rows.push(...await inboundRows(sizes, log, options.kv));
  rows.push(...await runJoinBench({ members: sizes.joinMembers, host: "gemeng", log }));
  if (sizes.synapseMembers > 0) {
    rows.push(...await runJoinBench({ members: sizes.synapseMembers, host: "synapse", log }));
  }
  rows.push(...await fanoutRows(sizes, log));
  rows.push(...await runE2eeBench({ quick: options.quick, log }));
  return rows;
}

/** Raw Ed25519 verifications per second of one PDU-sized message, for about `ms`. */
export async function rawVerifyRate(ms: number): Promise<number> {
  const key = await SigningKey.generate();
  const message = canonicalJsonBytes({
    type: "m.room.message",
    content: { msgtype: "m.text", body: "Moien! D'Sëtzung ass um 14 Auer." },
    sender: "@bench:bench.example",
    room_id: "!room:bench.example",
    origin_server_ts: 1_700_000_000_000,
    depth: 12,
    prev_events: ["$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
    auth_events: ["$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
  });
  const signature = await key.sign(message);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 50; i++) {
      if (!await verifyEd25519(key.publicKey, message, signature)) throw new Error("bad verify");
    }
    n += 50;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Public room on `host` created by a new user; returns the room ID and that user. */
async function hostRoom(host: GemengNode, name: string) {
  const owner = await host.register(name);
  const created = await host.request("POST", "/_matrix/client/v3/createRoom", {
    token: owner.accessToken,
    body: { preset: "public_chat" },
  });
  if (created.status !== 200) throw new Error(`createRoom: ${JSON.stringify(created.body)}`);
  return { roomId: created.body.room_id as string, owner };
}

async function joinFrom(node: GemengNode, roomId: string, via: string, localpart: string) {
  const user = await node.register(localpart);
  const res = await node.request(
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(via)}`,
    { token: user.accessToken, body: {} },
  );
  if (res.status !== 200) {
    throw new Error(`join from ${node.serverName}: ${JSON.stringify(res.body)}`);
  }
  return user;
}

/** Signed message PDUs by `userId` on `node`, chained after its membership event. */
async function buildChain(node: GemengNode, roomId: string, userId: string, count: number) {
  const rooms = node.hs.rooms;
  const joined = await rooms.currentStateEvent(roomId, "m.room.member", userId);
  if (!joined) throw new Error("the sender has not joined");
  const state = new Map<string, RoomEvent>();
  for (const stored of await rooms.currentStateEvents(roomId)) {
    state.set(stateTupleKey(stored.event.type, stored.event.stateKey ?? ""), stored.event);
  }
  const events: RoomEvent[] = [];
  let prev = joined.event;
  const ts = Date.now();
  for (let i = 0; i < count; i++) {
    const event = await buildPdu({
      type: "m.room.message",
      sender: userId,
      content: { msgtype: "m.text", body: `inbound bench message ${i}` },
    }, {
      rules: joined.rules,
      roomId,
      origin: node.serverName,
      signingKey: node.hs.signingKey,
      prevEvents: [prev],
      state: (type, stateKey) => state.get(stateTupleKey(type, stateKey)),
      originServerTs: ts + i,
      eventIdLocalpart: `bench${ts}_${i}`,
    });
    events.push(event);
    prev = event;
  }
  return events;
}

/** Inbound PDUs verified and persisted per second (see the module comment). */
export async function inboundRows(
  sizes: Pick<FederationSizes, "inboundTxns">,
  log: (line: string) => void,
  kv?: KvCeilings,
): Promise<BenchRow[]> {
  const a = await startGemengNode();
  const b = await startGemengNode();
  try {
    const { roomId } = await hostRoom(a, "host");
    const bob = await joinFrom(b, roomId, a.serverName, "sender");
    const count = sizes.inboundTxns * PDUS_PER_TXN;
    const events = await buildChain(b, roomId, bob.userId, count);
    const ceiling = await rawVerifyRate(sizes.inboundTxns > 10 ? 1500 : 300);
    let refused = 0;
    const t0 = performance.now();
    for (let t = 0; t < sizes.inboundTxns; t++) {
      const pdus = events.slice(t * PDUS_PER_TXN, (t + 1) * PDUS_PER_TXN).map((e) => e.pdu);
      const res = await b.hs.federation.client.request(a.serverName, {
        method: "PUT",
        path: `/_matrix/federation/v1/send/bench${Date.now()}_${t}`,
        body: { origin: b.serverName, origin_server_ts: Date.now(), pdus },
        timeoutMs: 120_000,
      });
      if (res.status !== 200) throw new Error(`send: HTTP ${res.status}`);
      const results = (res.json as { pdus?: Record<string, { error?: string }> }).pdus ?? {};
      refused += Object.values(results).filter((r) => r?.error).length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const last = await a.hs.rooms.event(events[events.length - 1].eventId);
    if (!last || last.meta.rejected !== null) throw new Error("the last PDU was not accepted");
    const perSec = (count - refused) / seconds;
    log(`federation: ${count} inbound PDUs in ${seconds.toFixed(2)} s (${refused} refused)`);
    const name = `inbound PDUs verified and persisted, ${sizes.inboundTxns} transactions of 50`;
    const rows: BenchRow[] = [{
      section: "federation",
      name,
      value: perSec,
      unit: "/s",
      ceilingName: "raw Ed25519 verify/s",
      ceiling,
      ratio: perSec / ceiling,
      note: `over TLS from a second node, one transaction at a time; ${refused} refused`,
    }];
    if (kv) {
      rows.push({
        section: "federation",
        name: `${name}, against KV commits`,
        value: perSec,
        unit: "/s",
        ceilingName: "raw KV single commits/s",
        ceiling: kv.singleCommitsPerSec,
        ratio: perSec / kv.singleCommitsPerSec,
        note: "PDUs checked at once; messages on the room's head share commits",
      });
    }
    return rows;
  } finally {
    await b.close();
    await a.close();
  }
}

/**
 * Time from the client's send on `host` until every node in `receivers` has stored the event
 * (their pipelines tell the bench on commit), median of `messages` sends.
 */
async function deliveryTime(
  host: GemengNode,
  token: string,
  roomId: string,
  receivers: readonly GemengNode[],
  stored: Map<string, number[]>,
  messages: number,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < messages; i++) {
    const t0 = performance.now();
    const res = await host.request(
      "PUT",
      `/_matrix/client/v3/rooms/${
        encodeURIComponent(roomId)
      }/send/m.room.message/f${crypto.randomUUID()}`,
      { token, body: { msgtype: "m.text", body: `fan-out ${i}` } },
    );
    if (res.status !== 200) throw new Error(`send: ${JSON.stringify(res.body)}`);
    const eventId = res.body.event_id as string;
    const deadline = Date.now() + 60_000;
    while ((stored.get(eventId)?.length ?? 0) < receivers.length) {
      if (Date.now() > deadline) throw new Error("fan-out: not every destination got the event");
      await new Promise((r) => setTimeout(r, 1));
    }
    times.push(Math.max(...stored.get(eventId)!) - t0);
  }
  return median(times);
}

/** Outbound fan-out to many destinations against one (see the module comment). */
export async function fanoutRows(
  sizes: Pick<FederationSizes, "fanoutDestinations" | "fanoutMessages">,
  log: (line: string) => void,
): Promise<BenchRow[]> {
  const host = await startGemengNode();
  const nodes: GemengNode[] = [];
  try {
    const n = sizes.fanoutDestinations;
    for (let i = 0; i < n; i++) nodes.push(await startGemengNode());
    const stored = new Map<string, number[]>();
    for (const node of nodes) {
      node.hs.pipeline.subscribe(({ stored: event }) => {
        const id = event.event.eventId;
        const list = stored.get(id) ?? [];
        list.push(performance.now());
        stored.set(id, list);
      });
    }
    const many = await hostRoom(host, "many");
    const one = await hostRoom(host, "one");
    await mapBounded(nodes, 4, (node, i) => joinFrom(node, many.roomId, host.serverName, `m${i}`));
    await joinFrom(nodes[0], one.roomId, host.serverName, "single");
    // Warm-up: connections, keys, caches.
    await deliveryTime(host, many.owner.accessToken, many.roomId, nodes, stored, 1);
    await deliveryTime(host, one.owner.accessToken, one.roomId, [nodes[0]], stored, 1);
    const single = await deliveryTime(
      host,
      one.owner.accessToken,
      one.roomId,
      [nodes[0]],
      stored,
      sizes.fanoutMessages,
    );
    const all = await deliveryTime(
      host,
      many.owner.accessToken,
      many.roomId,
      nodes,
      stored,
      sizes.fanoutMessages,
    );
    const rss = Deno.memoryUsage().rss / 1e6;
    log(`federation: fan-out to ${n}: ${all.toFixed(1)} ms, to one: ${single.toFixed(1)} ms`);
    return [{
      section: "federation",
      name: `outbound fan-out of one message to ${n} destinations, send to all stored`,
      value: all,
      unit: "ms",
      ceilingName: "same to 1 destination, ms",
      ceiling: single,
      ratio: single / all,
      note: `median of ${sizes.fanoutMessages}; ${n + 1} gemeng nodes in one process ` +
        `(${rss.toFixed(0)} MB resident), receivers' work included`,
    }];
  } finally {
    for (const node of nodes) await node.close();
    await host.close();
  }
}
