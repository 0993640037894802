/**
 * Helpers for the HTTPS tests: a {@link Homeserver} with `[http] tls` on, requests through a
 * client that trusts a given CA, the serial number of the certificate a new connection is shown
 * (read with `openssl s_client`), and a long-polling `/sync` kept open across a certificate swap.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { X509Certificate } from "node:crypto";
import { resolveConfig } from "../../server/config.ts";
import { Homeserver, type OpenOptions } from "../../server/homeserver.ts";
import type { HttpsFrontOptions } from "../../server/tls/https_front.ts";
import { RETIRE_GRACE_MS } from "../../server/tls/tls_server.ts";
import { TEST_CONFIG, TEST_PASSWORD_COST } from "./test_server.ts";

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

/** A server with HTTPS on its main listener. */
export interface HttpsServer {
  hs: Homeserver;
  /** The main listener's port. */
  port: number;
  close(): Promise<void>;
}

/**
 * Opens and starts a server with TOML-shaped `config` over the test defaults (an in-memory KV
 * unless `open.kv` or an on-disk KV is wanted), binding `listen` as the config says.
 */
export async function startHttpsServer(
  config: Table,
  options: { open?: OpenOptions; front?: HttpsFrontOptions; hostname?: string } = {},
): Promise<HttpsServer> {
  const resolved = resolveConfig(merge(TEST_CONFIG as Table, config));
  const ownKv = options.open?.kv ? undefined : await Deno.openKv(":memory:");
  const hs = await Homeserver.open(resolved, {
    passwordCost: TEST_PASSWORD_COST,
    kv: ownKv,
    ...options.open,
  });
  try {
    await hs.startTls(options.front);
    const server = hs.serve();
    return {
      hs,
      port: server.addr.port,
      async close() {
        await hs.close();
        ownKv?.close();
      },
    };
  } catch (err) {
    await hs.close();
    ownKv?.close();
    throw err;
  }
}

/** A JSON request through `client` (which trusts the server's CA). */
export async function httpsJson(
  client: Deno.HttpClient,
  url: string,
  options: { method?: string; body?: unknown; token?: string } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, {
    client,
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: res.status, body };
}

/** Registers `localpart` (dummy auth) and returns its access token. */
export async function registerOver(
  client: Deno.HttpClient,
  baseUrl: string,
  localpart: string,
): Promise<{ userId: string; token: string }> {
  const url = `${baseUrl}/_matrix/client/v3/register`;
  const body: Table = { username: localpart, password: `pw-${localpart}-secret` };
  const first = await httpsJson(client, url, { body });
  assertEquals(first.status, 401, JSON.stringify(first.body));
  const done = await httpsJson(client, url, {
    body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
  });
  assertEquals(done.status, 200, JSON.stringify(done.body));
  return { userId: done.body.user_id, token: done.body.access_token };
}

/** The serial number (upper-case hex) of the first certificate in a PEM chain. */
export function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase().replace(/^0+/, "");
}

/**
 * The serial number of the certificate a new TLS connection to `port` is shown (after a swap,
 * wait `RETIRE_GRACE_MS` first: until then the old listener may answer too).
 */
export async function servedSerial(port: number, serverName: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `openssl s_client -connect 127.0.0.1:${port} -servername ${serverName} </dev/null ` +
      "2>/dev/null | openssl x509 -noout -serial",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const match = /^serial=([0-9A-Fa-f]+)$/.exec(text);
  if (!match) throw new Error(`no certificate served on port ${port}: ${text}`);
  return match[1].toUpperCase().replace(/^0+/, "");
}

/**
 * Opens a long-polling `/sync` on `client`'s connection, runs `swap` (which returns once the
 * new certificate is in use), sends a message over a new connection, and checks that the open
 * sync, started before the swap, ends normally with that message.
 */
export async function assertSyncSurvivesSwap(
  options: {
    baseUrl: string;
    /** Trusts the certificate before the swap (its connection stays open). */
    oldClient: Deno.HttpClient;
    /** Trusts the certificate after the swap (a new connection). */
    newClient: Deno.HttpClient;
    localpart: string;
    swap: () => Promise<void>;
    timeoutMs: number;
  },
): Promise<void> {
  const { baseUrl, oldClient, newClient } = options;
  const user = await registerOver(oldClient, baseUrl, options.localpart);
  const room = await httpsJson(oldClient, `${baseUrl}/_matrix/client/v3/createRoom`, {
    token: user.token,
    body: {},
  });
  assertEquals(room.status, 200);
  const first = await httpsJson(oldClient, `${baseUrl}/_matrix/client/v3/sync?timeout=0`, {
    token: user.token,
  });
  const startedAt = Date.now();
  const open = httpsJson(
    oldClient,
    `${baseUrl}/_matrix/client/v3/sync?timeout=${options.timeoutMs}&since=${
      encodeURIComponent(first.body.next_batch)
    }`,
    { token: user.token },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  await options.swap();
  const swappedAt = Date.now();
  // The replaced listener accepts beside the new one for a moment (no resets meanwhile).
  await new Promise((resolve) => setTimeout(resolve, RETIRE_GRACE_MS + 200));
  const sent = await httpsJson(
    newClient,
    `${baseUrl}/_matrix/client/v3/rooms/${
      encodeURIComponent(room.body.room_id)
    }/send/m.room.message/t1`,
    { method: "PUT", token: user.token, body: { msgtype: "m.text", body: "after the swap" } },
  );
  assertEquals(sent.status, 200, JSON.stringify(sent.body));
  const result = await open;
  assertEquals(result.status, 200);
  assert(startedAt < swappedAt, "the sync was open before the swap");
  const events = result.body.rooms?.join?.[room.body.room_id]?.timeline?.events ?? [];
  assert(
    // deno-lint-ignore no-explicit-any
    events.some((event: any) => event.event_id === sent.body.event_id),
    `the open sync ended with the message sent after the swap: ${JSON.stringify(result.body)}`,
  );
}
