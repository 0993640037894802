/**
 * Federation section, joins: a gemeng node joins a remote room with many members, hosted by
 * a gemeng node or by the Synapse peer.
 *
 * The host is filled first (setup, timed apart): its own users register and join one public
 * room. The joining gemeng runs as its own process (`main.ts serve` with TLS), so its peak
 * resident memory while joining is its own (`/proc/<pid>/status` VmHWM, reset before the
 * join). The join is the client's `POST /join/{roomId}?server_name=host`: make_join, the
 * signed event, send_join, checking every state and auth-chain event of the answer and
 * storing the room.
 *
 * Ceiling: downloading and parsing the same amount of room state over loopback TLS from a raw
 * `Deno.serve` (the room's `/state` answer at the join, fetched afterwards as the joining
 * server, has the same events as the send_join answer): what a join costs when checking and
 * storing were free. Memory is set against the same process idle just before the join.
 *
 * @module
 */

import { loadConfig } from "../server/config.ts";
import { FederationContext } from "../server/federation/context.ts";
import { loadOrCreateSigningKey, signingKeyPath } from "../server/signing_key.ts";
import { startGemengNode } from "../tests/federation/support/gemeng_node.ts";
import { freePort, SYNAPSE_MISSING, testCa } from "../tests/federation/support/peers.ts";
import { startSynapse, type SynapsePeer } from "../tests/federation/support/synapse.ts";
import { mapBounded, median } from "./load/load.ts";
import { call, registerWithSharedSecret } from "./load/matrix_client.ts";
import { benchV8Flags, sampleProcess } from "./load/processes.ts";
import type { BenchRow } from "./report.ts";
import { targetMark, TARGETS } from "./server_scenarios.ts";

/** A room to join, on its host. */
interface HostedRoom {
  serverName: string;
  roomId: string;
  /** How long filling it took (setup). */
  fillMs: number;
  stop(): Promise<void>;
}

/** Registers `count` users on a gemeng host and joins them to a new public room. */
async function gemengHostedRoom(members: number, log: (line: string) => void) {
  const host = await startGemengNode({
    config: { rate_limits: { register: { per_second: 1e6, burst: 1e9 } } },
  });
  const t0 = performance.now();
  const owner = await host.register("owner");
  const created = await host.request("POST", "/_matrix/client/v3/createRoom", {
    token: owner.accessToken,
    body: { preset: "public_chat", name: "Big room" },
  });
  if (created.status !== 200) throw new Error(`createRoom: ${JSON.stringify(created.body)}`);
  const roomId = created.body.room_id as string;
  const ids = Array.from({ length: members - 1 }, (_, i) => i);
  await mapBounded(ids, 8, async (i) => {
    const user = await host.register(`m${i}`);
    const res = await host.request(
      "POST",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`,
      { token: user.accessToken, body: {} },
    );
    if (res.status !== 200) throw new Error(`join: ${JSON.stringify(res.body)}`);
  });
  const fillMs = performance.now() - t0;
  log(`federation: gemeng room with ${members} members filled in ${(fillMs / 1000).toFixed(1)} s`);
  return { serverName: host.serverName, roomId, fillMs, stop: () => host.close() };
}

/** The same on the Synapse peer (cheap password hashing, so registering is not the test). */
async function synapseHostedRoom(members: number, log: (line: string) => void) {
  const peer: SynapsePeer = await startSynapse({
    extraConfigYaml: "bcrypt_rounds: 4\n",
    logLevel: "WARNING",
  });
  try {
    const t0 = performance.now();
    const owner = await peer.register("owner");
    const created = await peer.request("POST", "/_matrix/client/v3/createRoom", {
      token: owner.accessToken,
      body: { preset: "public_chat", name: "Big room" },
    });
    if (created.status !== 200) throw new Error(`createRoom: ${JSON.stringify(created.body)}`);
    const roomId = created.body.room_id as string;
    const ids = Array.from({ length: members - 1 }, (_, i) => i);
    await mapBounded(ids, 4, async (i) => {
      const user = await peer.register(`m${i}`);
      const res = await peer.request(
        "POST",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`,
        { token: user.accessToken, body: {} },
      );
      if (res.status !== 200) throw new Error(`synapse join: ${JSON.stringify(res.body)}`);
    });
    const fillMs = performance.now() - t0;
    log(
      `federation: Synapse room with ${members} members filled in ${(fillMs / 1000).toFixed(1)} s`,
    );
    return { serverName: peer.serverName, roomId, fillMs, stop: () => peer.stop() };
  } catch (err) {
    await peer.stop();
    throw err;
  }
}

/** A gemeng process with federation on TLS (test CA), registration by shared secret. */
async function startJoiner() {
  const ca = await testCa();
  const dir = await Deno.makeTempDir({ prefix: "gemeng-bench-fed-" });
  const port = freePort();
  const fedPort = freePort();
  const secret = "bench-federation-secret";
  const unlimited = "per_second = 1000000\nburst = 1000000000\n";
  const configPath = `${dir}/gemeng.toml`;
  await Deno.writeTextFile(
    configPath,
    [
      `server_name = "127.0.0.1:${fedPort}"`,
      `data_dir = ${JSON.stringify(`${dir}/data`)}`,
      `[http]`,
      `listen = "127.0.0.1:${port}"`,
      `public_base_url = "http://127.0.0.1:${port}"`,
      `[registration]`,
      `enabled = false`,
      `shared_secret = ${JSON.stringify(secret)}`,
      `[federation]`,
      `listen = "127.0.0.1:${fedPort}"`,
      `tls_cert = ${JSON.stringify(ca.certFile)}`,
      `tls_key = ${JSON.stringify(ca.keyFile)}`,
      `trusted_ca = [${JSON.stringify(ca.caFile)}]`,
      `allow_private_addresses = true`,
      ...["login", "register", "send"].map((name) => `[rate_limits.${name}]\n${unlimited}`),
    ].join("\n") + "\n",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...benchV8Flags(),
      "main.ts",
      "serve",
      "--config",
      configPath,
    ],
    cwd: new URL("../", import.meta.url),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await child.status;
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  };
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      await call(baseUrl, "GET", "/_matrix/client/versions");
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { baseUrl, configPath, pid: child.pid, secret, stop };
}

/** Downloads and parses `text` from a raw TLS `Deno.serve`, median of three, in ms. */
async function rawDownloadMs(text: string): Promise<number> {
  const ca = await testCa();
  const body = new TextEncoder().encode(text);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(ca.certFile),
    key: await Deno.readTextFile(ca.keyFile),
    onListen: () => {},
  }, () => new Response(body, { headers: { "content-type": "application/json" } }));
  const caPem = await Deno.readTextFile(ca.caFile);
  try {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      // A new connection each time: the join opens its own too.
      const client = Deno.createHttpClient({ caCerts: [caPem] });
      const t0 = performance.now();
      const res = await fetch(`https://127.0.0.1:${server.addr.port}/`, { client });
      await res.json();
      times.push(performance.now() - t0);
      client.close();
    }
    return median(times);
  } finally {
    await server.shutdown();
  }
}

/** The room's `/state` at `eventId`, asked as the joining server: its size and event count. */
async function stateAnswer(configPath: string, host: string, roomId: string, eventId: string) {
  const config = await loadConfig(configPath);
  const signingKey = await loadOrCreateSigningKey(signingKeyPath(config));
  const kv = await Deno.openKv(":memory:");
  const context = new FederationContext({ config, kv, signingKey });
  try {
    await context.loadFiles();
    const res = await context.client.request(host, {
      method: "GET",
      path: `/_matrix/federation/v1/state/${encodeURIComponent(roomId)}`,
      query: { event_id: eventId },
      maxBytes: 512 * 1024 * 1024,
      timeoutMs: 300_000,
    });
    if (res.status !== 200) throw new Error(`/state: HTTP ${res.status}`);
    const json = res.json as { pdus?: unknown[]; auth_chain?: unknown[] };
    const text = JSON.stringify(json);
    return { text, events: (json.pdus?.length ?? 0) + (json.auth_chain?.length ?? 0) };
  } finally {
    context.close();
    kv.close();
  }
}

/** Options of {@link runJoinBench}. */
export interface JoinBenchOptions {
  members: number;
  host: "gemeng" | "synapse";
  log: (line: string) => void;
}

/** Joins a remote room of `members` members; rows for the time and the peak memory. */
export async function runJoinBench(options: JoinBenchOptions): Promise<BenchRow[]> {
  const { members, host: kind, log } = options;
  if (kind === "synapse" && SYNAPSE_MISSING) {
    log(`federation: Synapse-hosted join skipped: ${SYNAPSE_MISSING}`);
    return [];
  }
  const room: HostedRoom = kind === "gemeng"
    ? await gemengHostedRoom(members, log)
    : await synapseHostedRoom(members, log);
  let joiner: Awaited<ReturnType<typeof startJoiner>> | null = null;
  try {
    joiner = await startJoiner();
    const user = await registerWithSharedSecret(joiner.baseUrl, joiner.secret, "joiner", "pw");
    // Let start-up settle before taking the idle figure.
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await sampleProcess(joiner.pid);
    await Deno.writeTextFile(`/proc/${joiner.pid}/clear_refs`, "5").catch(() => {});
    const t0 = performance.now();
    await call(
      joiner.baseUrl,
      "POST",
      `/_matrix/client/v3/join/${encodeURIComponent(room.roomId)}?server_name=${
        encodeURIComponent(room.serverName)
      }`,
      { token: user.accessToken, body: {}, signal: AbortSignal.timeout(600_000) },
    );
    const joinMs = performance.now() - t0;
    const peak = (await sampleProcess(joiner.pid)).peakBytes;
    // Resident memory once the join's work is over, against the idle figure before it.
    await new Promise((r) => setTimeout(r, 2000));
    const after = (await sampleProcess(joiner.pid)).rssBytes;
    const aboveMB = (after - idle.rssBytes) / 1e6;
    const last = await call(
      joiner.baseUrl,
      "GET",
      `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/messages?dir=b&limit=1`,
      { token: user.accessToken },
    );
    const joinEventId = last.chunk[0].event_id as string;
    const answer = await stateAnswer(joiner.configPath, room.serverName, room.roomId, joinEventId);
    const rawMs = await rawDownloadMs(answer.text);
    const mb = answer.text.length / 1e6;
    log(
      `federation: joined a ${kind}-hosted room of ${members} in ${joinMs.toFixed(0)} ms; ` +
        `answer ${answer.events} events, ${mb.toFixed(1)} MB`,
    );
    const hostName = kind === "gemeng" ? "gemeng" : "Synapse 1.67";
    return [
      {
        section: "federation",
        name: `join a remote room of ${members} members hosted by ${hostName}`,
        value: joinMs,
        unit: "ms",
        ceilingName: "download + parse of the same state over TLS, ms",
        ceiling: rawMs,
        ratio: rawMs / joinMs,
        note: `${answer.events} state + auth events, ${mb.toFixed(1)} MB; ` +
          `setup (filling the room) ${(room.fillMs / 1000).toFixed(0)} s`,
      },
      {
        section: "federation",
        name: `memory, peak resident while joining (${hostName} host, ${members} members)`,
        value: peak / 1e6,
        unit: "MB",
        ceilingName: "same process idle before the join, MB",
        ceiling: idle.rssBytes / 1e6,
        ratio: idle.rssBytes / peak,
        note: `the joining gemeng in its own process; target <= ${TARGETS.peakMemoryMB} MB: ${
          targetMark(peak / 1e6 <= TARGETS.peakMemoryMB)
        }`,
      },
      {
        section: "federation",
        name: `memory, resident after the join ended (${hostName} host, ${members} members)`,
        value: after / 1e6,
        unit: "MB",
        ceilingName: "same process idle before the join, MB",
        ceiling: idle.rssBytes / 1e6,
        ratio: idle.rssBytes / after,
        note: `${aboveMB.toFixed(0)} MB above idle; target <= ${TARGETS.backToIdleMB} MB above: ${
          targetMark(aboveMB <= TARGETS.backToIdleMB)
        }; idle before the join ${
          (idle.rssBytes / 1e6).toFixed(0)
        } MB (target <= ${TARGETS.idleMemoryMB} MB: ${
          targetMark(idle.rssBytes / 1e6 <= TARGETS.idleMemoryMB)
        })`,
      },
    ];
  } finally {
    await joiner?.stop();
    await room.stop();
  }
}
