/**
 * Starts a real {@link Homeserver} on 127.0.0.1 (free port) for integration tests, with an
 * in-memory KV by default, and offers small HTTP helpers that speak the Client-Server API.
 *
 * @module
 */

import { resolveConfig } from "../../server/config.ts";
import { Homeserver, type OpenOptions } from "../../server/homeserver.ts";

/** A JSON response as tests see it. */
export interface TestResponse {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

/** Options of one request. */
export interface RequestOptions {
  /** JSON body (objects are serialised; strings and bytes are sent as they are). */
  body?: unknown;
  /** Access token, sent as `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
}

/** A logged-in test user. */
export interface TestUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

/** A running test server. */
export interface TestServer {
  hs: Homeserver;
  /** e.g. `http://127.0.0.1:41234` */
  baseUrl: string;
  serverName: string;
  /** Sends a request and parses the JSON answer (body is null when not JSON). */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Registers a user with the dummy flow (registration must be open without token). */
  register(
    localpart: string,
    options?: { password?: string; deviceId?: string },
  ): Promise<TestUser>;
  /** Logs in with a password. */
  login(localpart: string, password: string, extra?: Record<string, unknown>): Promise<TestUser>;
  /** Stops the listener and closes the server (and the KV it opened). */
  close(): Promise<void>;
}

/** Options for {@link startTestServer}. */
export interface TestServerOptions {
  /** TOML-shaped overrides merged over the test defaults, e.g. `{registration: {...}}`. */
  config?: Record<string, unknown>;
  /** Use an on-disk `data_dir` (opens `${dataDir}/gemeng.kv`) instead of in-memory KV. */
  dataDir?: string;
  /** Use this KV (the caller closes it). */
  kv?: Deno.Kv;
  /** Passed to {@link Homeserver.open}. */
  modules?: OpenOptions["modules"];
  /** Listen on this loopback port instead of a free one (to match `public_base_url`). */
  port?: number;
}

type Table = Record<string, unknown>;

function merge(base: Table, over: Table): Table {
  const out: Table = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = typeof value === "object" && value !== null && !Array.isArray(value) &&
        typeof prev === "object" && prev !== null
      ? merge(prev as Table, value as Table)
      : value;
  }
  return out;
}

/** The test defaults: open registration (dummy), generous rate limits. */
export const TEST_CONFIG: Readonly<Table> = {
  server_name: "localhost",
  registration: { enabled: true, require_token: false },
  rate_limits: {
    login: { per_second: 1000, burst: 1000 },
    register: { per_second: 1000, burst: 1000 },
    send: { per_second: 1000, burst: 1000 },
  },
};

/** A cheap scrypt cost so tests hash passwords in milliseconds. */
export const TEST_PASSWORD_COST = { ln: 4, r: 8, p: 1 };

/**
 * Runs `fn` with a fresh server (`config` merged over the test configuration), closing the
 * server afterwards whatever the outcome.
 */
export async function withTestServer(
  fn: (t: TestServer) => Promise<void>,
  config?: Record<string, unknown>,
): Promise<void> {
  const t = await startTestServer({ config });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

/** Starts a server; remember to `close()` it. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const raw = merge(merge(TEST_CONFIG as Table, { data_dir: options.dataDir ?? "./unused" }), {
    ...options.config,
  });
  const config = resolveConfig(raw);
  let ownKv: Deno.Kv | undefined;
  let kv = options.kv;
  if (!kv && !options.dataDir) kv = ownKv = await Deno.openKv(":memory:");
  const hs = await Homeserver.open(config, {
    kv,
    passwordCost: TEST_PASSWORD_COST,
    modules: options.modules,
  });
  const server = hs.serve({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const baseUrl = `http://127.0.0.1:${server.addr.port}`;

  async function request(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers["Authorization"] = `Bearer ${opts.token}`;
    let body: BodyInit | undefined;
    if (typeof opts.body === "string" || opts.body instanceof Uint8Array) {
      body = opts.body as BodyInit;
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] ??= "application/json";
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async function register(
    localpart: string,
    opts: { password?: string; deviceId?: string } = {},
  ): Promise<TestUser> {
    const password = opts.password ?? `pw-${localpart}-secret`;
    const body: Table = { username: localpart, password, device_id: opts.deviceId };
    const first = await request("POST", "/_matrix/client/v3/register", { body });
    if (first.status !== 401) throw new Error(`register: ${JSON.stringify(first.body)}`);
    const done = await request("POST", "/_matrix/client/v3/register", {
      body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
    });
    if (done.status !== 200) throw new Error(`register: ${JSON.stringify(done.body)}`);
    return {
      userId: done.body.user_id,
      accessToken: done.body.access_token,
      deviceId: done.body.device_id,
      password,
    };
  }

  async function login(
    localpart: string,
    password: string,
    extra: Record<string, unknown> = {},
  ): Promise<TestUser> {
    const res = await request("POST", "/_matrix/client/v3/login", {
      body: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: localpart },
        password,
        ...extra,
      },
    });
    if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
    return {
      userId: res.body.user_id,
      accessToken: res.body.access_token,
      deviceId: res.body.device_id,
      password,
    };
  }

  return {
    hs,
    baseUrl,
    serverName: config.serverName,
    request,
    register,
    login,
    async close() {
      await hs.close();
      ownKv?.close();
    },
  };
}
