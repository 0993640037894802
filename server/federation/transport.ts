/**
 * HTTPS for federation: one HTTP/1.1 exchange over TLS to an address that was checked first.
 *
 * `fetch` cannot do what server-server requests need: connect to the address discovery chose,
 * verify the certificate for another name (the server name, not an SRV target) and send the
 * server name as `Host`, without resolving the name again (a second lookup could answer with a
 * private address after the first was checked). So the connection is made here: TCP to the
 * checked address, TLS with the expected name (system roots plus `trusted_ca`), and a small
 * HTTP/1.1 client with limits on header and body size and one deadline for the whole exchange.
 * Idle connections are kept per (address, port, TLS name) for reuse.
 *
 * @module
 */

import { formatIp, type IpAddress, isAddressAllowed, parseIp } from "../media/ip_ranges.ts";

/** Why an exchange failed before a complete response arrived. */
export class TransportError extends Error {
  /**
   * @param code `PRIVATE_ADDRESS` (refused target), `UNRESOLVABLE`, `CONNECT` (TCP or TLS),
   *   `TIMEOUT`, `TOO_LARGE` (response over the limit) or `BAD_RESPONSE`
   * @param message what happened
   */
  constructor(
    readonly code:
      | "PRIVATE_ADDRESS"
      | "UNRESOLVABLE"
      | "CONNECT"
      | "TIMEOUT"
      | "TOO_LARGE"
      | "BAD_RESPONSE",
    message: string,
  ) {
    super(message);
    this.name = "TransportError";
  }
}

/** Where to connect and which certificate name to expect. */
export interface TransportTarget {
  address: IpAddress;
  port: number;
  /** The name the certificate must be valid for (also the SNI unless it is an IP address). */
  tlsName: string;
}

/** One request. */
export interface TransportRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** The `Host` header. */
  host: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

/** A complete response. */
export interface TransportResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Limits of one exchange. */
export interface ExchangeOptions {
  /** PEM CA certificates trusted in addition to the system's. */
  caCerts: readonly string[];
  /** Response body bytes accepted at most. */
  maxBytes: number;
  /** Deadline of the whole exchange (connect, TLS, request, response). */
  timeoutMs: number;
}

const MAX_HEADER_BYTES = 64 * 1024;
const IDLE_TIMEOUT_MS = 20_000;
const MAX_IDLE_PER_TARGET = 8;
const encoder = new TextEncoder();

/** Every IPv4 and IPv6 address: what `allow_private_addresses = true` allows. */
const EVERYTHING = [
  { base: parseIp("0.0.0.0")!, prefix: 0 },
  { base: parseIp("::")!, prefix: 0 },
];

/**
 * The addresses of `host` (an IP literal or a DNS name; `localhost` is loopback), every one
 * checked: one special-purpose address among them refuses the host, unless `allowPrivate`.
 *
 * @throws {TransportError} `PRIVATE_ADDRESS` or `UNRESOLVABLE`
 */
export async function resolveAddresses(
  host: string,
  options: {
    allowPrivate: boolean;
    resolveDns?: (name: string, type: "A" | "AAAA") => Promise<string[]>;
  },
): Promise<IpAddress[]> {
  const literal = parseIp(host);
  let addresses: IpAddress[];
  const name = host.toLowerCase().replace(/\.$/, "");
  if (literal) {
    addresses = [literal];
  } else if (name === "localhost" || name.endsWith(".localhost")) {
    addresses = [parseIp("127.0.0.1")!];
  } else {
    const lookup = options.resolveDns ?? ((n, type) => Deno.resolveDns(n, type));
    const found: string[] = [];
    for (const type of ["AAAA", "A"] as const) {
      try {
        found.push(...await lookup(name, type));
      } catch { /* no records of this type */ }
    }
    addresses = found.map(parseIp).filter((a): a is IpAddress => a !== null);
    if (addresses.length === 0) throw new TransportError("UNRESOLVABLE", `cannot resolve ${host}`);
  }
  const allowed = options.allowPrivate ? EVERYTHING : [];
  for (const address of addresses) {
    if (!isAddressAllowed(address, allowed)) {
      throw new TransportError(
        "PRIVATE_ADDRESS",
        `${host} resolves to ${formatIp(address)}, a private or special-purpose address ` +
          `(federation.allow_private_addresses is false)`,
      );
    }
  }
  return addresses;
}

interface IdleConn {
  conn: Deno.TlsConn;
  since: number;
}

/**
 * Buffered reads from a connection. The buffer grows by doubling and is compacted before it
 * grows, so reading a large body costs linear time.
 */
class Reader {
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;
  /** Bytes received so far (to tell a dead reused connection from a failed exchange). */
  received = 0;

  constructor(readonly conn: Deno.Conn) {}

  /** Bytes received but not consumed. */
  get leftover(): number {
    return this.#end - this.#start;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#end === this.#buffer.length) {
      const kept = this.#end - this.#start;
      const target = kept * 2 > this.#buffer.length
        ? new Uint8Array(this.#buffer.length * 2)
        : this.#buffer;
      if (target === this.#buffer) this.#buffer.copyWithin(0, this.#start, this.#end);
      else target.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = target;
      this.#start = 0;
      this.#end = kept;
    }
    const n = await this.conn.read(this.#buffer.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.received += n;
    this.#end += n;
    return true;
  }

  /** One LF-terminated line (without the CRLF), at most `limit` bytes. */
  async line(limit: number): Promise<string> {
    let searched = this.#start;
    while (true) {
      const at = this.#buffer.subarray(searched, this.#end).indexOf(10);
      if (at >= 0) {
        const end = searched + at;
        const text = new TextDecoder("latin1").decode(this.#buffer.subarray(this.#start, end));
        this.#start = end + 1;
        return text.endsWith("\r") ? text.slice(0, -1) : text;
      }
      if (this.leftover > limit) {
        throw new TransportError("BAD_RESPONSE", "response header line too long");
      }
      searched = this.#end;
      const offset = searched - this.#start;
      if (!(await this.#fill())) {
        throw new TransportError("BAD_RESPONSE", "connection closed inside the response head");
      }
      searched = this.#start + offset;
    }
  }

  /** Exactly `n` bytes. */
  async exact(n: number): Promise<Uint8Array> {
    while (this.leftover < n) {
      if (!(await this.#fill())) {
        throw new TransportError("BAD_RESPONSE", "connection closed inside the response body");
      }
    }
    const out = this.#buffer.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** Everything until the peer closes, failing beyond `limit` bytes. */
  async rest(limit: number): Promise<Uint8Array> {
    while (await this.#fill()) {
      if (this.leftover > limit) throw tooLarge(limit);
    }
    return this.exact(this.leftover);
  }
}

function tooLarge(limit: number): TransportError {
  return new TransportError("TOO_LARGE", `response body larger than ${limit} bytes`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function readHead(reader: Reader): Promise<{ status: number; headers: Headers }> {
  let budget = MAX_HEADER_BYTES;
  while (true) {
    const statusLine = await reader.line(budget);
    const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
    if (!match) throw new TransportError("BAD_RESPONSE", "malformed HTTP status line");
    const headers = new Headers();
    while (true) {
      const line = await reader.line(budget);
      budget -= line.length + 2;
      if (budget <= 0) throw new TransportError("BAD_RESPONSE", "response head too large");
      if (line === "") break;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new TransportError("BAD_RESPONSE", "malformed response header");
      try {
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch {
        throw new TransportError("BAD_RESPONSE", "malformed response header");
      }
    }
    const status = Number(match[1]);
    // Informational answers (100 Continue) precede the real one.
    if (status >= 100 && status < 200) continue;
    return { status, headers };
  }
}

async function readChunked(reader: Reader, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const sizeLine = await reader.line(1024);
    const size = parseInt(sizeLine.split(";")[0].trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-fA-F]+/.test(sizeLine.trim())) {
      throw new TransportError("BAD_RESPONSE", "malformed chunk size");
    }
    if (size === 0) break;
    total += size;
    if (total > limit) throw tooLarge(limit);
    parts.push(await reader.exact(size));
    if ((await reader.line(16)) !== "") {
      throw new TransportError("BAD_RESPONSE", "chunk not followed by CRLF");
    }
  }
  // Trailers, up to the empty line.
  for (let i = 0; i < 64; i++) {
    if ((await reader.line(8192)) === "") return concat(parts);
  }
  throw new TransportError("BAD_RESPONSE", "too many trailers");
}

/** An HTTP/1.1 client over TLS with a small pool of idle connections. */
export class HttpsTransport {
  readonly #idle = new Map<string, IdleConn[]>();
  #closed = false;

  /** Idle connections kept now (for tests). */
  get idleCount(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  /**
   * Sends `request` to `target` and reads the whole response.
   *
   * @throws {TransportError} for connection, TLS, protocol, size and time failures
   */
  async exchange(
    target: TransportTarget,
    request: TransportRequest,
    options: ExchangeOptions,
  ): Promise<TransportResponse> {
    if (this.#closed) throw new TransportError("CONNECT", "the federation client is closed");
    const deadline = Date.now() + options.timeoutMs;
    const key = `${formatIp(target.address)}|${target.port}|${target.tlsName}`;
    const reused = this.#takeIdle(key);
    if (reused) {
      try {
        return await this.#exchangeOn(reused, key, request, options, deadline, true);
      } catch (err) {
        // A kept connection the peer closed meanwhile fails before any answer: try a new one.
        if (!(err instanceof StaleConnection)) throw err;
      }
    }
    const conn = await this.#connect(target, options, deadline);
    return await this.#exchangeOn(conn, key, request, options, deadline, false);
  }

  /** Closes every idle connection; later exchanges fail. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const idle of list) closeQuietly(idle.conn);
    }
    this.#idle.clear();
  }

  #takeIdle(key: string): Deno.TlsConn | null {
    const list = this.#idle.get(key);
    while (list && list.length > 0) {
      const idle = list.pop()!;
      if (Date.now() - idle.since < IDLE_TIMEOUT_MS) return idle.conn;
      closeQuietly(idle.conn);
    }
    this.#idle.delete(key);
    return null;
  }

  #putIdle(key: string, conn: Deno.TlsConn): void {
    if (this.#closed) return closeQuietly(conn);
    const list = this.#idle.get(key) ?? [];
    const now = Date.now();
    const fresh = list.filter((idle) => {
      const keep = now - idle.since < IDLE_TIMEOUT_MS;
      if (!keep) closeQuietly(idle.conn);
      return keep;
    });
    if (fresh.length >= MAX_IDLE_PER_TARGET) return closeQuietly(conn);
    fresh.push({ conn, since: now });
    this.#idle.set(key, fresh);
  }

  async #connect(
    target: TransportTarget,
    options: ExchangeOptions,
    deadline: number,
  ): Promise<Deno.TlsConn> {
    const hostname = formatIp(target.address);
    let tcp: Deno.TcpConn | null = null;
    const connecting = Deno.connect({ hostname, port: target.port });
    try {
      tcp = await withDeadline(connecting, deadline);
      const tls = await Deno.startTls(tcp, {
        hostname: target.tlsName,
        caCerts: [...options.caCerts],
        alpnProtocols: ["http/1.1"],
      });
      await withDeadline(tls.handshake(), deadline);
      return tls;
    } catch (err) {
      if (tcp) closeQuietly(tcp);
      // A connect that finishes after the deadline is closed as soon as it does.
      else connecting.then(closeQuietly, () => {});
      if (err instanceof TransportError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new TransportError(
        Date.now() >= deadline ? "TIMEOUT" : "CONNECT",
        `cannot connect to ${hostname}:${target.port} (TLS name ${target.tlsName}): ${detail}`,
      );
    }
  }

  async #exchangeOn(
    conn: Deno.TlsConn,
    key: string,
    request: TransportRequest,
    options: ExchangeOptions,
    deadline: number,
    reused: boolean,
  ): Promise<TransportResponse> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, Math.max(0, deadline - Date.now()));
    const reader = new Reader(conn);
    try {
      await writeRequest(conn, request);
      const { status, headers } = await readHead(reader);
      const noBody = request.method === "HEAD" || status === 204 || status === 304;
      const length = headers.get("content-length");
      const chunked = /(^|,)\s*chunked\s*$/i.test(headers.get("transfer-encoding") ?? "");
      let body: Uint8Array;
      let delimited = true;
      if (noBody) {
        body = new Uint8Array(0);
      } else if (chunked) {
        body = await readChunked(reader, options.maxBytes);
      } else if (length !== null) {
        if (!/^\d{1,15}$/.test(length)) {
          throw new TransportError("BAD_RESPONSE", "malformed Content-Length");
        }
        if (Number(length) > options.maxBytes) throw tooLarge(options.maxBytes);
        body = await reader.exact(Number(length));
      } else {
        body = await reader.rest(options.maxBytes);
        delimited = false;
      }
      const close = /(^|,)\s*close\s*(,|$)/i.test(headers.get("connection") ?? "");
      clearTimeout(timer);
      if (delimited && !close && reader.leftover === 0 && !timedOut) {
        this.#putIdle(key, conn);
      } else {
        closeQuietly(conn);
      }
      return { status, headers, body };
    } catch (err) {
      clearTimeout(timer);
      closeQuietly(conn);
      if (timedOut) throw new TransportError("TIMEOUT", "the server did not answer in time");
      if (reused && reader.received === 0) throw new StaleConnection();
      if (err instanceof TransportError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new TransportError("CONNECT", `connection failed: ${detail}`);
    }
  }
}

/** A reused connection that turned out to be closed (internal: the exchange is retried). */
class StaleConnection extends Error {
  readonly code = "STALE";
}

async function writeRequest(conn: Deno.Conn, request: TransportRequest): Promise<void> {
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: ${request.host}`];
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new TransportError("BAD_RESPONSE", "header values must not hold line breaks");
    }
    lines.push(`${name}: ${value}`);
  }
  const body = request.body ?? new Uint8Array(0);
  if (request.body !== undefined || request.method === "POST" || request.method === "PUT") {
    lines.push(`Content-Length: ${body.length}`);
  }
  const head = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TransportError("TIMEOUT", "timed out")),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
