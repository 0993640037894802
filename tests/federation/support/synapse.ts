/**
 * A Synapse 1.67 peer for federation tests, started with `../shared/peers/start.sh` on free
 * loopback ports: client API on plain HTTP, client and federation API on TLS with the test CA,
 * named `127.0.0.1:<TLS port>`, trusting the test CA for its own outbound requests. One peer
 * per test file (it takes a few seconds to start).
 *
 * @module
 */

import { hmacSha1Hex } from "../../../crypto/tokens.ts";
import { freePort, PEERS_DIR, testCa } from "./peers.ts";

/** A JSON answer. */
export interface PeerResponse {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** A running Synapse. */
export interface SynapsePeer {
  /** `127.0.0.1:<TLS port>`. */
  serverName: string;
  /** Plain-HTTP client API, e.g. `http://127.0.0.1:28008`. */
  clientUrl: string;
  /** Its data, config and logs (removed by `stop()` unless `GEMENG_KEEP_PEER_DIRS=1`). */
  workdir: string;
  /** A Client-Server API request. */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string },
  ): Promise<PeerResponse>;
  /** Registers a user through the shared-secret admin API and returns its token. */
  register(localpart: string, options?: { admin?: boolean }): Promise<{
    userId: string;
    accessToken: string;
  }>;
  /** The end of Synapse's log (for failure messages). */
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command} failed:\n${text}`);
  return text;
}

/** Starts a Synapse peer (see the module comment). */
export async function startSynapse(
  options: { extraConfigYaml?: string; logLevel?: string } = {},
): Promise<SynapsePeer> {
  const ca = await testCa();
  let workdir = "";
  let port = 0;
  let serverName = "";
  // Ports found free can be taken by another test process before Synapse binds them.
  for (let attempt = 1;; attempt++) {
    workdir = await Deno.makeTempDir({ prefix: "gemeng-synapse-" });
    port = freePort();
    const tlsPort = freePort();
    serverName = `127.0.0.1:${tlsPort}`;
    const env: Record<string, string> = {
      TLS_PORT: String(tlsPort),
      TLS_CERT: ca.certFile,
      TLS_KEY: ca.keyFile,
      FEDERATION_CA: ca.caFile,
      LOG_LEVEL: options.logLevel ?? "INFO",
      PRESENCE: "0",
    };
    if (options.extraConfigYaml) {
      const extra = `${workdir}/extra.yaml`;
      await Deno.writeTextFile(extra, options.extraConfigYaml);
      env.EXTRA_CONFIG = extra;
    }
    try {
      await run(`${PEERS_DIR}/start.sh`, [workdir, String(port), serverName], env);
      break;
    } catch (err) {
      await run(`${PEERS_DIR}/stop.sh`, [workdir]).catch(() => "");
      const log = await Deno.readTextFile(`${workdir}/homeserver.log`).catch(() => "");
      const stdout = await Deno.readTextFile(`${workdir}/stdout.log`).catch(() => "");
      if (attempt >= 3 || !/address already in use/i.test(log + stdout)) throw err;
    }
  }
  const clientUrl = `http://127.0.0.1:${port}`;
  const secret = (await Deno.readTextFile(`${workdir}/shared_secret`)).trim();

  async function request(
    method: string,
    path: string,
    opts: { body?: unknown; token?: string } = {},
  ): Promise<PeerResponse> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${clientUrl}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* not JSON */ }
    return { status: res.status, body };
  }

  async function register(localpart: string, opts: { admin?: boolean } = {}) {
    const path = "/_synapse/admin/v1/register";
    const nonce = (await request("GET", path)).body.nonce;
    const password = `pw-${localpart}-secret`;
    const admin = opts.admin ?? false;
    const mac = await hmacSha1Hex(
      secret,
      [nonce, localpart, password, admin ? "admin" : "notadmin"].join("\u0000"),
    );
    const res = await request("POST", path, {
      body: { nonce, username: localpart, password, admin, mac },
    });
    if (res.status !== 200) throw new Error(`synapse register: ${JSON.stringify(res.body)}`);
    return { userId: res.body.user_id as string, accessToken: res.body.access_token as string };
  }

  return {
    serverName,
    clientUrl,
    workdir,
    request,
    register,
    async logTail(lines = 40) {
      try {
        const log = await Deno.readTextFile(`${workdir}/homeserver.log`);
        return log.split("\n").slice(-lines).join("\n");
      } catch {
        return "(no log)";
      }
    },
    async stop() {
      await run(`${PEERS_DIR}/stop.sh`, [workdir]);
      // GEMENG_KEEP_PEER_DIRS=1 keeps the database and logs for a look after the test.
      if (Deno.env.get("GEMENG_KEEP_PEER_DIRS") !== "1") {
        await Deno.remove(workdir, { recursive: true }).catch(() => {});
      }
    },
  };
}
