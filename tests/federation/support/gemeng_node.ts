/**
 * A gemeng node for federation tests: a real {@link Homeserver} with its client API on plain
 * HTTP and the Server-Server API on TLS (test CA), named `127.0.0.1:<federation port>`,
 * trusting the test CA and allowed to reach loopback. Several can run in one process.
 *
 * @module
 */

import type { SigningKey } from "../../../crypto/signing.ts";
import { resolveConfig } from "../../../server/config.ts";
import { Homeserver } from "../../../server/homeserver.ts";
import type { RouteModule } from "../../../server/app.ts";
import { TEST_CONFIG, TEST_PASSWORD_COST } from "../../support/test_server.ts";
import { freePort, testCa } from "./peers.ts";

/** A JSON answer. */
export interface NodeResponse {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** A registered user. */
export interface NodeUser {
  userId: string;
  accessToken: string;
}

/** A running node. */
export interface GemengNode {
  hs: Homeserver;
  /** `127.0.0.1:<federation port>`. */
  serverName: string;
  /** Plain-HTTP client API, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  /** The TLS listener, e.g. `https://127.0.0.1:41235`. */
  federationUrl: string;
  /** A Client-Server API request (JSON in and out). */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string },
  ): Promise<NodeResponse>;
  /** Registers a user (dummy auth) and returns its token. */
  register(localpart: string): Promise<NodeUser>;
  close(): Promise<void>;
}

type Table = Record<string, unknown>;

function merge(base: Table, over: Table): Table {
  const out: Table = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = typeof value === "object" && value !== null && !Array.isArray(value) &&
        typeof prev === "object" && prev !== null && !Array.isArray(prev)
      ? merge(prev as Table, value as Table)
      : value;
  }
  return out;
}

/** Options of {@link startGemengNode}. */
export interface GemengNodeOptions {
  /** TOML-shaped overrides, e.g. `{federation: {allow: [...]}}`. */
  config?: Table;
  /** Use this KV (the caller closes it). */
  kv?: Deno.Kv;
  /** On-disk data directory instead of an in-memory KV. */
  dataDir?: string;
  /** The TLS port (default: a free one). */
  federationPort?: number;
  /** The server name (default `127.0.0.1:<federation port>`). */
  serverName?: string;
  /** The signing key (to restart a node on an in-memory KV as the same server). */
  signingKey?: SigningKey;
  /** Extra route modules (a test's own endpoints, such as a Policy Server's). */
  modules?: readonly RouteModule[];
}

/** Starts a node (see the module comment); remember to `close()` it. */
export async function startGemengNode(options: GemengNodeOptions = {}): Promise<GemengNode> {
  const ca = await testCa();
  let ownKv: Deno.Kv | undefined;
  let kv = options.kv;
  if (!kv && !options.dataDir) kv = ownKv = await Deno.openKv(":memory:");
  // A port found free can be taken by another test process before we bind it: try again.
  for (let attempt = 1;; attempt++) {
    const fedPort = options.federationPort ?? freePort();
    const serverName = options.serverName ?? `127.0.0.1:${fedPort}`;
    const config = resolveConfig(merge(
      merge(TEST_CONFIG as Table, {
        server_name: serverName,
        data_dir: options.dataDir ?? "./unused",
        federation: {
          listen: `127.0.0.1:${fedPort}`,
          tls_cert: ca.certFile,
          tls_key: ca.keyFile,
          trusted_ca: [ca.caFile],
          allow_private_addresses: true,
        },
      }),
      options.config ?? {},
    ));
    const hs = await Homeserver.open(config, {
      kv,
      passwordCost: TEST_PASSWORD_COST,
      signingKey: options.signingKey,
      modules: options.modules,
    });
    try {
      const server = hs.serve({
        hostname: "127.0.0.1",
        port: 0,
        federation: { hostname: "127.0.0.1", port: fedPort },
      });
      return nodeOf(hs, serverName, fedPort, server.addr.port, ownKv);
    } catch (err) {
      await hs.close();
      // The first open stored the server name (the data format record): another port means
      // another name, so a retry needs a fresh store, or a name that does not change.
      const retry = err instanceof Deno.errors.AddrInUse && attempt < 5 &&
        options.federationPort === undefined &&
        (ownKv !== undefined || options.serverName !== undefined);
      ownKv?.close();
      if (!retry) throw err;
      if (ownKv) kv = ownKv = await Deno.openKv(":memory:");
    }
  }
}

function nodeOf(
  hs: Homeserver,
  serverName: string,
  fedPort: number,
  httpPort: number,
  ownKv: Deno.Kv | undefined,
): GemengNode {
  const baseUrl = `http://127.0.0.1:${httpPort}`;

  async function request(
    method: string,
    path: string,
    opts: { body?: unknown; token?: string } = {},
  ): Promise<NodeResponse> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${baseUrl}${path}`, {
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

  async function register(localpart: string): Promise<NodeUser> {
    const body: Table = { username: localpart, password: `pw-${localpart}-secret` };
    const first = await request("POST", "/_matrix/client/v3/register", { body });
    if (first.status !== 401) throw new Error(`register: ${JSON.stringify(first.body)}`);
    const done = await request("POST", "/_matrix/client/v3/register", {
      body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
    });
    if (done.status !== 200) throw new Error(`register: ${JSON.stringify(done.body)}`);
    return { userId: done.body.user_id, accessToken: done.body.access_token };
  }

  return {
    hs,
    serverName,
    baseUrl,
    federationUrl: `https://127.0.0.1:${fedPort}`,
    request,
    register,
    async close() {
      await hs.close();
      ownKv?.close();
    },
  };
}
