/**
 * The few Client-Server API calls the load scenarios make, plus Synapse-compatible
 * shared-secret registration (`/_synapse/admin/v1/register`). Nothing here knows about
 * gemeng: pointed at another homeserver (`--target URL --shared-secret S`), the same load runs
 * there.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
export type Json = any;

/** A request the server refused. */
export class MatrixHttpError extends Error {
  /** Always `BENCH_HTTP`. */
  readonly code = "BENCH_HTTP";
  /** HTTP status. */
  readonly status: number;
  /** The parsed error body, when JSON. */
  readonly body: Json;

  /**
   * @param what the call that failed
   * @param status HTTP status
   * @param body the answer
   */
  constructor(what: string, status: number, body: Json) {
    super(`${what}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
    this.name = "MatrixHttpError";
    this.status = status;
    this.body = body;
  }
}

/** A registered, logged-in account. */
export interface BenchAccount {
  userId: string;
  localpart: string;
  password: string;
  accessToken: string;
  deviceId: string;
}

/** Options of one call. */
export interface CallOptions {
  token?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Sends one JSON request and returns the parsed answer; throws {@link MatrixHttpError} unless
 * the status is 200. Rate-limited requests (429) are retried after the advertised delay.
 */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Json> {
  const headers: Record<string, string> = {};
  if (options.token) headers["Authorization"] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  for (let attempt = 0;; attempt++) {
    const res = await fetch(baseUrl + path, { method, headers, body, signal: options.signal });
    const text = await res.text();
    let parsed: Json = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text.slice(0, 200);
    }
    if (res.status === 200) return parsed;
    if (res.status === 429 && attempt < 20) {
      await new Promise((r) => setTimeout(r, Math.min(5000, parsed?.retry_after_ms ?? 500)));
      continue;
    }
    throw new MatrixHttpError(`${method} ${path.split("?")[0]}`, res.status, parsed);
  }
}

async function hmacSha1Hex(key: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Registers `localpart` through shared-secret registration and returns its session. */
export async function registerWithSharedSecret(
  baseUrl: string,
  sharedSecret: string,
  localpart: string,
  password: string,
): Promise<BenchAccount> {
  const path = "/_synapse/admin/v1/register";
  const { nonce } = await call(baseUrl, "GET", path);
  const mac = await hmacSha1Hex(
    sharedSecret,
    [nonce, localpart, password, "notadmin"].join("\u0000"),
  );
  const body = await call(baseUrl, "POST", path, {
    body: { nonce, username: localpart, password, admin: false, mac },
  });
  return {
    userId: body.user_id,
    localpart,
    password,
    accessToken: body.access_token,
    deviceId: body.device_id,
  };
}

/** Logs in with a password (a new device). */
export async function login(
  baseUrl: string,
  localpart: string,
  password: string,
): Promise<{ accessToken: string; deviceId: string }> {
  const body = await call(baseUrl, "POST", "/_matrix/client/v3/login", {
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: localpart },
      password,
    },
  });
  return { accessToken: body.access_token, deviceId: body.device_id };
}

/** createRoom calls the server asked to retry (see {@link createRoom}). */
export let retriedCreateRooms = 0;

/** Creates a room and returns its ID. */
export async function createRoom(
  baseUrl: string,
  token: string,
  options: { name?: string; invite?: string[]; preset?: string } = {},
): Promise<string> {
  for (let attempt = 0;; attempt++) {
    try {
      const body = await call(baseUrl, "POST", "/_matrix/client/v3/createRoom", {
        token,
        body: {
          preset: options.preset ?? "private_chat",
          name: options.name,
          invite: options.invite,
        },
      });
      return body.room_id;
    } catch (err) {
      // A server may refuse a transient conflict and ask for a retry (gemeng does when two
      // v12 create events of one user are identical, i.e. sent in the same millisecond).
      const retry = err instanceof MatrixHttpError && /try again/i.test(err.body?.error ?? "");
      if (!retry || attempt >= 10) throw err;
      retriedCreateRooms++;
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 5));
    }
  }
}

/** Invites a user into a room. */
export async function inviteUser(
  baseUrl: string,
  token: string,
  roomId: string,
  userId: string,
): Promise<void> {
  await call(baseUrl, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
    token,
    body: { user_id: userId },
  });
}

/** Joins a room by ID. */
export async function joinRoom(baseUrl: string, token: string, roomId: string): Promise<void> {
  await call(baseUrl, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, {
    token,
    body: {},
  });
}

let txnCounter = 0;
const txnPrefix = crypto.randomUUID().slice(0, 8);

/** Sends an `m.room.message` and returns its event ID. */
export async function sendMessage(
  baseUrl: string,
  token: string,
  roomId: string,
  body: string,
): Promise<string> {
  const txn = `${txnPrefix}-${++txnCounter}`;
  const res = await call(
    baseUrl,
    "PUT",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`,
    { token, body: { msgtype: "m.text", body } },
  );
  return res.event_id;
}

/** Options of one `/sync`. */
export interface SyncOptions {
  since?: string;
  /** Inline filter JSON. */
  filter?: Json;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One `GET /v3/sync`. */
export function sync(baseUrl: string, token: string, options: SyncOptions = {}): Promise<Json> {
  const params = new URLSearchParams();
  if (options.since) params.set("since", options.since);
  if (options.filter) params.set("filter", JSON.stringify(options.filter));
  if (options.timeoutMs !== undefined) params.set("timeout", String(options.timeoutMs));
  return call(baseUrl, "GET", `/_matrix/client/v3/sync?${params}`, {
    token,
    signal: options.signal,
  });
}
