/**
 * One `POST` to a push gateway that cannot be pointed at the server's own network: the host is
 * resolved first, every address is checked against the special-purpose ranges
 * (`media/ip_ranges.ts`) unless `[push] allow_private_addresses` is set, and the connection
 * goes to the checked address (TLS still verifies the host name), so a DNS answer that changes
 * between check and connect cannot redirect it. No redirects are followed; the answer is read
 * up to {@link MAX_ANSWER_BYTES}.
 *
 * With a {@link GatewayPool}, connections are kept open between requests (HTTP/1.1 keep-alive)
 * when the answer's length is known, which saves a TCP (and TLS) handshake per notification.
 *
 * @module
 */

import { formatIp, type IpAddress, isAddressAllowed, parseIp } from "../media/ip_ranges.ts";

/** Most bytes of a gateway's answer read (headers included). */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Time for one request, connection included. */
export const GATEWAY_TIMEOUT_MS = 20_000;
/** An idle kept connection older than this is closed instead of reused. */
const IDLE_MS = 30_000;
/** Idle connections kept per gateway. */
const IDLE_PER_GATEWAY = 16;

/** Why a gateway request failed before an HTTP answer. */
export class GatewayError extends Error {
  /**
   * @param code `FORBIDDEN` (private address), `BAD_URL` or `FAILED`
   * @param message what happened
   */
  constructor(readonly code: "FORBIDDEN" | "BAD_URL" | "FAILED", message: string) {
    super(message);
    this.name = "GatewayError";
  }
}

/** A gateway's answer. */
export interface GatewayAnswer {
  status: number;
  /** The JSON body, or null when it is not JSON. */
  body: unknown;
}

interface Idle {
  conn: Deno.Conn;
  since: number;
}

/** Connections kept open to gateways (one pool per server; close it with the server). */
export class GatewayPool {
  readonly #idle = new Map<string, Idle[]>();
  #closed = false;

  /** An idle connection for `key`, if one is fresh enough. */
  take(key: string): Deno.Conn | null {
    const list = this.#idle.get(key);
    while (list && list.length > 0) {
      const idle = list.pop()!;
      if (Date.now() - idle.since < IDLE_MS) return idle.conn;
      closeQuietly(idle.conn);
    }
    return null;
  }

  /** Keeps a connection whose last answer was read completely. */
  give(key: string, conn: Deno.Conn): void {
    const list = this.#idle.get(key) ?? [];
    if (this.#closed || list.length >= IDLE_PER_GATEWAY) return closeQuietly(conn);
    list.push({ conn, since: Date.now() });
    this.#idle.set(key, list);
  }

  /** Closes every idle connection; later ones are closed after use. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const idle of list) closeQuietly(idle.conn);
    this.#idle.clear();
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

async function addressFor(host: string, allowPrivate: boolean): Promise<string> {
  const literal = parseIp(host);
  if (!literal && (host.startsWith("[") || host.includes(":"))) {
    throw new GatewayError("BAD_URL", `${host} is not a valid IP address`);
  }
  let addresses: IpAddress[];
  if (literal) addresses = [literal];
  else if (/(^|\.)localhost\.?$/i.test(host)) addresses = [parseIp("127.0.0.1")!];
  else {
    const found: string[] = [];
    for (const type of ["A", "AAAA"] as const) {
      try {
        found.push(...await Deno.resolveDns(host, type));
      } catch { /* no records of this type */ }
    }
    addresses = found.map(parseIp).filter((a): a is IpAddress => a !== null);
    if (addresses.length === 0) throw new GatewayError("FAILED", `cannot resolve ${host}`);
  }
  if (!allowPrivate && addresses.some((a) => !isAddressAllowed(a, []))) {
    throw new GatewayError("FORBIDDEN", `${host} resolves to a private address`);
  }
  return formatIp(addresses[0]);
}

function headerEnd(bytes: Uint8Array, length: number): number {
  for (let i = 0; i + 3 < length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** The body of a complete chunked encoding, or null while the last chunk has not arrived. */
function dechunk(bytes: Uint8Array): Uint8Array | null {
  const text = new TextDecoder("latin1");
  const parts: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let end = i;
    while (end + 1 < bytes.length && !(bytes[end] === 13 && bytes[end + 1] === 10)) end++;
    if (end + 1 >= bytes.length) return null;
    const size = parseInt(text.decode(bytes.subarray(i, end)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size)) throw new GatewayError("FAILED", "malformed chunked answer");
    if (size === 0) return new Uint8Array(parts);
    if (end + 2 + size > bytes.length) return null;
    parts.push(...bytes.subarray(end + 2, end + 2 + size));
    i = end + 2 + size + 2;
  }
  return null;
}

interface Exchange {
  answer: GatewayAnswer;
  /** The connection may carry another request. */
  reusable: boolean;
  /** Nothing at all came back (a kept connection the gateway had closed). */
  silent?: boolean;
}

async function exchange(conn: Deno.Conn, request: Uint8Array): Promise<Exchange> {
  for (let off = 0; off < request.byteLength;) off += await conn.write(request.subarray(off));
  // Answers are small ({"rejected": []}): the buffer grows only when needed.
  let buffer = new Uint8Array(4096);
  let length = 0;
  let head: { end: number; status: number; lines: string[] } | null = null;
  while (length < MAX_ANSWER_BYTES) {
    if (length === buffer.length) {
      const grown = new Uint8Array(Math.min(buffer.length * 4, MAX_ANSWER_BYTES));
      grown.set(buffer);
      buffer = grown;
    }
    const n = await conn.read(buffer.subarray(length));
    if (n === null) break;
    length += n;
    if (!head) {
      const end = headerEnd(buffer, length);
      if (end < 0) continue;
      const lines = new TextDecoder("latin1").decode(buffer.subarray(0, end)).split("\r\n");
      const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
      if (!status) throw new GatewayError("FAILED", "malformed HTTP status line");
      head = { end, status: Number(status[2]), lines };
      if (status[1] === "0") lines.push("connection: close");
    }
    const body = framedBody(head, buffer.subarray(head.end + 4, length));
    if (body) return { answer: answerOf(head.status, body), reusable: keepsAlive(head.lines) };
  }
  if (!head) {
    if (length === 0) return { answer: { status: 0, body: null }, reusable: false, silent: true };
    throw new GatewayError("FAILED", "malformed HTTP answer");
  }
  // Read to the end of the connection: the answer is whatever came.
  return { answer: answerOf(head.status, buffer.subarray(head.end + 4, length)), reusable: false };
}

/** The body once it is complete by its framing, or null (unknown length: read to the end). */
function framedBody(head: { lines: string[] }, rest: Uint8Array): Uint8Array | null {
  const header = (name: string) =>
    head.lines.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1)
      .trim();
  if (/chunked/i.test(header("transfer-encoding") ?? "")) return dechunk(rest);
  const declared = header("content-length");
  if (declared === undefined || !/^\d+$/.test(declared)) return null;
  return rest.byteLength >= Number(declared) ? rest.subarray(0, Number(declared)) : null;
}

function keepsAlive(lines: string[]): boolean {
  return !lines.some((line) => /^connection:.*close/i.test(line));
}

function answerOf(status: number, body: Uint8Array): GatewayAnswer {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch { /* not JSON */ }
  return { status, body: parsed };
}

/** Options of a request to a push gateway or a push service. */
export interface PushRequestOptions {
  allowPrivateAddresses: boolean;
  timeoutMs?: number;
  pool?: GatewayPool;
}

/**
 * POSTs `body` as JSON to `url` (http or https).
 *
 * @throws {GatewayError} FORBIDDEN for a private address, BAD_URL, or FAILED (no answer)
 */
export function postToGateway(
  url: string,
  body: unknown,
  options: PushRequestOptions,
): Promise<GatewayAnswer> {
  return sendToPushServer(url, {
    body: new TextEncoder().encode(JSON.stringify(body)),
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
  }, options);
}

/**
 * POSTs bytes with the given headers to `url` (http or https): a push gateway's JSON, or a
 * Web Push message (`webpush.ts`) to a browser's push service.
 *
 * @throws {GatewayError} FORBIDDEN for a private address, BAD_URL, or FAILED (no answer)
 */
export async function sendToPushServer(
  url: string,
  request: { body: Uint8Array; headers: Record<string, string> },
  options: PushRequestOptions,
): Promise<GatewayAnswer> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new GatewayError("BAD_URL", "not a valid URL");
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new GatewayError("BAD_URL", "only http and https gateways are supported");
  }
  if (target.username || target.password) {
    throw new GatewayError("BAD_URL", "URLs with credentials are not used");
  }
  const timeoutMs = options.timeoutMs ?? GATEWAY_TIMEOUT_MS;
  // The name lookup counts against the request's time too (a resolver may hang).
  let lookupTimer: ReturnType<typeof setTimeout> | undefined;
  const address = await Promise.race([
    addressFor(target.hostname, options.allowPrivateAddresses),
    new Promise<never>((_, reject) => {
      lookupTimer = setTimeout(
        () => reject(new GatewayError("FAILED", `cannot resolve ${target.hostname} in time`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(lookupTimer));
  const https = target.protocol === "https:";
  const port = target.port ? Number(target.port) : https ? 443 : 80;
  const key = `${target.protocol}//${address}:${port}/${target.hostname}`;
  const payload = request.body;
  let extra = "";
  for (const [name, value] of Object.entries(request.headers)) {
    if (/^(host|content-length|connection)$/i.test(name)) continue;
    // Header values come from the server itself; a line break would still split the request.
    if (/[\r\n]/.test(name + value)) throw new GatewayError("BAD_URL", "invalid header");
    extra += `${name}: ${value}\r\n`;
  }
  const head = `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
    `User-Agent: gemeng (push)\r\n${extra}Content-Length: ${payload.byteLength}\r\n` +
    `Accept-Encoding: identity\r\nConnection: ${options.pool ? "keep-alive" : "close"}\r\n\r\n`;
  const headBytes = new TextEncoder().encode(head);
  const bytes = new Uint8Array(headBytes.byteLength + payload.byteLength);
  bytes.set(headBytes);
  bytes.set(payload, headBytes.byteLength);

  const connect = async (): Promise<Deno.Conn> => {
    const tcp = await Deno.connect({ hostname: address, port });
    const peer = parseIp(tcp.remoteAddr.hostname);
    if (!options.allowPrivateAddresses && (!peer || !isAddressAllowed(peer, []))) {
      closeQuietly(tcp);
      throw new GatewayError("FORBIDDEN", "the connection reached a private address");
    }
    return https ? await Deno.startTls(tcp, { hostname: target.hostname }) : tcp;
  };

  let conn: Deno.Conn | null = options.pool?.take(key) ?? null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (conn) closeQuietly(conn);
  }, timeoutMs);
  try {
    let result: Exchange | null = null;
    if (conn) {
      // A kept connection the gateway closed meanwhile fails at once: then a fresh one.
      result = await exchange(conn, bytes).catch(() => null);
      if (!result || result.silent) {
        closeQuietly(conn);
        conn = null;
        result = null;
      }
    }
    if (!result) {
      conn = await connect();
      if (timedOut) throw new GatewayError("FAILED", "timed out");
      result = await exchange(conn, bytes);
      if (result.silent) throw new GatewayError("FAILED", "the gateway closed the connection");
    }
    if (result.reusable && options.pool && !timedOut) {
      options.pool.give(key, conn!);
      conn = null;
    }
    return result.answer;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError("FAILED", timedOut ? "timed out" : `request failed: ${String(err)}`);
  } finally {
    clearTimeout(timer);
    if (conn) closeQuietly(conn);
  }
}
