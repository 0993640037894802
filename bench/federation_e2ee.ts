/**
 * Federation section, part 2 (issue 13): end-to-end encryption across servers.
 *
 * Setup (not timed): a host node A and S remote gemeng nodes with U users each; every user has
 * one device (its registration's) with signed device keys, and every remote user joins a room
 * hosted on A (so A tracks their device lists). A also has S x U local users with keys: the
 * ceilings.
 *
 * - A room key shared with S x U remote devices: one `/sendToDevice` of `m.room.encrypted`
 *   (a dummy Olm ciphertext per device, as a client sharing a Megolm session sends) from a
 *   user of A, timed until every remote node has the messages in its devices' inboxes. Also
 *   the transactions A sent for it (the least possible is one per server). Ceiling: the same
 *   send to S x U local devices of A (the answer comes once they are stored).
 * - `/keys/query` by a user of A for the S x U remote users, cold (A fetches every user's
 *   list from its server) and warm (answered from A's cache). Ceiling: the same query for
 *   S x U local users of A.
 *
 * @module
 */

import { encodeBase64 } from "../crypto/base64.ts";
import { canonicalJsonBytes } from "../crypto/canonical_json.ts";
import { SigningKey } from "../crypto/signing.ts";
import { type GemengNode, startGemengNode } from "../tests/federation/support/gemeng_node.ts";
import { mapBounded, median, sleep } from "./load/load.ts";
import type { BenchRow } from "./report.ts";

/** How big the part is. */
export interface E2eeSizes {
  /** Remote gemeng nodes. */
  servers: number;
  /** Users (one device each) on every remote node. */
  usersPerServer: number;
  /** Timed to-device sends (the median is reported). */
  sends: number;
}

/** `deno task bench`: 500 devices on 10 servers, as the issue asks. */
export const E2EE_FULL_SIZES: E2eeSizes = { servers: 10, usersPerServer: 50, sends: 3 };
/** `--quick` and the bench test. */
export const E2EE_QUICK_SIZES: E2eeSizes = { servers: 2, usersPerServer: 5, sends: 1 };

/** A user with its device. */
interface Member {
  userId: string;
  deviceId: string;
  accessToken: string;
}

type Json = Record<string, unknown>;

async function registerWithKeys(node: GemengNode, localpart: string): Promise<Member> {
  const user = await node.register(localpart);
  const who = await node.request("GET", "/_matrix/client/v3/account/whoami", {
    token: user.accessToken,
  });
  if (who.status !== 200) throw new Error(`whoami: ${JSON.stringify(who.body)}`);
  const deviceId = who.body.device_id as string;
  const key = await SigningKey.generate("x");
  const unsigned = {
    user_id: user.userId,
    device_id: deviceId,
    algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: {
      [`curve25519:${deviceId}`]: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
      [`ed25519:${deviceId}`]: key.publicKeyBase64,
    },
  };
  const signature = encodeBase64(await key.sign(canonicalJsonBytes(unsigned)));
  const deviceKeys = {
    ...unsigned,
    signatures: { [user.userId]: { [`ed25519:${deviceId}`]: signature } },
  };
  const up = await node.request("POST", "/_matrix/client/v3/keys/upload", {
    token: user.accessToken,
    body: { device_keys: deviceKeys },
  });
  if (up.status !== 200) throw new Error(`keys/upload: ${JSON.stringify(up.body)}`);
  return { userId: user.userId, deviceId, accessToken: user.accessToken };
}

/** An `m.room.encrypted` Olm message of a room-key share's size (the payload is random). */
function olmPayload(senderKey: string, recipient: Member): Json {
  const body = encodeBase64(crypto.getRandomValues(new Uint8Array(600)));
  return {
    algorithm: "m.olm.v1.curve25519-aes-sha2",
    sender_key: senderKey,
    ciphertext: { [`${recipient.deviceId}key`]: { type: 0, body } },
  };
}

function messagesFor(recipients: readonly Member[]): Record<string, Record<string, Json>> {
  const senderKey = encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
  const out: Record<string, Record<string, Json>> = {};
  for (const r of recipients) (out[r.userId] ??= {})[r.deviceId] = olmPayload(senderKey, r);
  return out;
}

async function sendToDevice(node: GemengNode, sender: Member, messages: Json): Promise<void> {
  const res = await node.request(
    "PUT",
    `/_matrix/client/v3/sendToDevice/m.room.encrypted/t${crypto.randomUUID()}`,
    { token: sender.accessToken, body: { messages } },
  );
  if (res.status !== 200) throw new Error(`sendToDevice: ${JSON.stringify(res.body)}`);
}

async function inboxCount(node: GemengNode): Promise<number> {
  let n = 0;
  for await (const _ of node.hs.kv.list({ prefix: ["e2ee_to_device"] })) n++;
  return n;
}

/** Counts A's outbound federation requests (the transport's client is shared by all). */
function countRequests(node: GemengNode) {
  const counts = { transactions: 0, toDeviceEdus: 0, otherEdus: 0, userDevices: 0, keyQueries: 0 };
  const client = node.hs.federation.client;
  const original = client.request.bind(client);
  client.request = ((destination, options) => {
    if (options.path.startsWith("/_matrix/federation/v1/send/")) {
      counts.transactions++;
      const edus = ((options.body as Json | undefined)?.edus ?? []) as Json[];
      for (const edu of edus) {
        if (edu.edu_type === "m.direct_to_device") counts.toDeviceEdus++;
        else counts.otherEdus++;
      }
    }
    if (options.path.startsWith("/_matrix/federation/v1/user/devices/")) counts.userDevices++;
    if (options.path === "/_matrix/federation/v1/user/keys/query") counts.keyQueries++;
    return original(destination, options);
  }) as typeof client.request;
  const reset = () =>
    Object.assign(counts, {
      transactions: 0,
      toDeviceEdus: 0,
      otherEdus: 0,
      userDevices: 0,
      keyQueries: 0,
    });
  return { counts, reset };
}

/** Joins the remote members to the room (the first of each node over federation). */
async function joinAll(
  host: GemengNode,
  roomId: string,
  nodes: readonly GemengNode[],
  members: readonly Member[][],
) {
  const join = async (node: GemengNode, m: Member) => {
    const res = await node.request(
      "POST",
      `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
        encodeURIComponent(host.serverName)
      }`,
      { token: m.accessToken, body: {} },
    );
    if (res.status !== 200) throw new Error(`join: ${JSON.stringify(res.body)}`);
  };
  await mapBounded(nodes.map((_n, i) => i), 4, (i) => join(nodes[i], members[i][0]));
  const rest = nodes.flatMap((node, i) => members[i].slice(1).map((m) => ({ node, m })));
  await mapBounded(rest, 8, ({ node, m }) => join(node, m));
  // A must have every join before the cold query, or its cache is not trusted.
  const deadline = Date.now() + 300_000;
  for (const m of members.flat()) {
    while ((await host.hs.rooms.membership(roomId, m.userId))?.membership !== "join") {
      if (Date.now() > deadline) throw new Error(`A never saw ${m.userId} join`);
      await sleep(50);
    }
  }
}

async function keysQuery(node: GemengNode, user: Member, users: readonly Member[]) {
  const deviceKeys: Record<string, string[]> = {};
  for (const u of users) deviceKeys[u.userId] = [];
  const t0 = performance.now();
  const res = await node.request("POST", "/_matrix/client/v3/keys/query", {
    token: user.accessToken,
    body: { device_keys: deviceKeys, timeout: 60_000 },
  });
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`keys/query: ${JSON.stringify(res.body)}`);
  const missing = users.filter((u) => !res.body.device_keys?.[u.userId]?.[u.deviceId]);
  if (missing.length > 0) {
    throw new Error(
      `keys/query: no keys for ${missing.length} users; failures ${
        JSON.stringify(res.body.failures)
      }`,
    );
  }
  return ms;
}

/** Runs the part (see the module comment). */
export async function runE2eeBench(
  options: { quick: boolean; sizes?: E2eeSizes; log?: (line: string) => void },
): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const sizes = options.sizes ?? (options.quick ? E2EE_QUICK_SIZES : E2EE_FULL_SIZES);
  const { servers: s, usersPerServer: u } = sizes;
  const total = s * u;
  const host = await startGemengNode();
  const nodes: GemengNode[] = [];
  try {
    for (let i = 0; i < s; i++) nodes.push(await startGemengNode());
    const t0 = performance.now();
    const owner = await registerWithKeys(host, "owner");
    const created = await host.request("POST", "/_matrix/client/v3/createRoom", {
      token: owner.accessToken,
      body: { preset: "public_chat" },
    });
    if (created.status !== 200) throw new Error(`createRoom: ${JSON.stringify(created.body)}`);
    const roomId = created.body.room_id as string;
    const remote = await Promise.all(
      nodes.map((node, i) =>
        mapBounded(
          Array.from({ length: u }, (_, j) => j),
          4,
          (j) => registerWithKeys(node, `r${i}u${j}`),
        )
      ),
    );
    const local = await mapBounded(
      Array.from({ length: total }, (_, j) => j),
      8,
      (j) => registerWithKeys(host, `l${j}`),
    );
    await joinAll(host, roomId, nodes, remote);
    log(
      `federation e2ee: ${s} servers x ${u} users set up in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    const { counts, reset } = countRequests(host);

    // Cold first: the to-device sends do not touch the key cache.
    reset();
    const coldMs = await keysQuery(host, owner, remote.flat());
    const coldRequests = counts.userDevices + counts.keyQueries;
    reset();
    const warmMs = await keysQuery(host, owner, remote.flat());
    const warmRequests = counts.userDevices + counts.keyQueries;
    await keysQuery(host, owner, local); // warm-up of the local path
    const localQueryMs = await keysQuery(host, owner, local);
    log(
      `federation e2ee: keys/query of ${total}: cold ${coldMs.toFixed(0)} ms ` +
        `(${coldRequests} requests), warm ${warmMs.toFixed(0)} ms, local ${
          localQueryMs.toFixed(0)
        } ms`,
    );

    // To-device: a warm-up round, then `sends` timed rounds.
    const flat = remote.flat();
    const timeRemote = async (round: number) => {
      const started = performance.now();
      const doneAt = new Array<number>(s).fill(0);
      await sendToDevice(host, owner, messagesFor(flat));
      const deadline = Date.now() + 120_000;
      while (doneAt.some((t) => t === 0)) {
        if (Date.now() > deadline) throw new Error("to-device: not every server stored them");
        for (let i = 0; i < s; i++) {
          if (doneAt[i] === 0 && await inboxCount(nodes[i]) >= u * round) {
            doneAt[i] = performance.now();
          }
        }
        await sleep(2);
      }
      return Math.max(...doneAt) - started;
    };
    await timeRemote(1);
    const remoteTimes: number[] = [];
    let txns = 0;
    let edus = 0;
    let otherEdus = 0;
    for (let r = 0; r < sizes.sends; r++) {
      reset();
      remoteTimes.push(await timeRemote(r + 2));
      txns += counts.transactions;
      edus += counts.toDeviceEdus;
      otherEdus += counts.otherEdus;
    }
    const remoteMs = median(remoteTimes);
    const localTimes: number[] = [];
    await sendToDevice(host, owner, messagesFor(local));
    for (let r = 0; r < sizes.sends; r++) {
      const started = performance.now();
      await sendToDevice(host, owner, messagesFor(local));
      localTimes.push(performance.now() - started);
    }
    const localMs = median(localTimes);
    const txnsPerSend = txns / sizes.sends;
    log(
      `federation e2ee: to-device to ${total} remote devices ${remoteMs.toFixed(0)} ms, ` +
        `local ${localMs.toFixed(0)} ms; ${txnsPerSend} transactions, ` +
        `${edus / sizes.sends} to-device EDUs a send`,
    );
    const rss = Deno.memoryUsage().rss / 1e6;
    const where = `${s + 1} gemeng nodes in one process (${rss.toFixed(0)} MB resident)`;
    return [
      {
        section: "federation",
        name: `room key to ${total} remote devices on ${s} servers (to-device), send to all stored`,
        value: remoteMs,
        unit: "ms",
        ceilingName: `same to ${total} local devices, ms`,
        ceiling: localMs,
        ratio: localMs / remoteMs,
        note: `median of ${sizes.sends}; ${where}; receivers' work included`,
      },
      {
        section: "federation",
        name: `federation transactions sent for one room-key share to ${s} servers`,
        value: txnsPerSend,
        unit: "txns",
        ceilingName: "one per server",
        ceiling: s,
        ratio: s / txnsPerSend,
        note: `${edus / sizes.sends} m.direct_to_device EDUs a send` +
          (otherEdus > 0 ? `, ${otherEdus / sizes.sends} other EDUs rode along` : ""),
      },
      {
        section: "federation",
        name: `/keys/query for ${total} remote users on ${s} servers, cold cache`,
        value: coldMs,
        unit: "ms",
        ceilingName: `same for ${total} local users, ms`,
        ceiling: localQueryMs,
        ratio: localQueryMs / coldMs,
        note: `${coldRequests} requests (a /user/keys/query of up to 100 users per server)`,
      },
      {
        section: "federation",
        name: `/keys/query for ${total} remote users on ${s} servers, warm cache`,
        value: warmMs,
        unit: "ms",
        ceilingName: `same for ${total} local users, ms`,
        ceiling: localQueryMs,
        ratio: localQueryMs / warmMs,
        note: `answered from A's cache of remote device lists; ${warmRequests} requests`,
      },
    ];
  } finally {
    for (const node of nodes) await node.close();
    await host.close();
  }
}
