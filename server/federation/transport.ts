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
import {
  Reader,
  readResponse,
  TransportError,
  type TransportRequest,
  type TransportResponse,
  writeRequest,
} from "./http1.ts";

export { TransportError, type TransportRequest, type TransportResponse };

/** Where to connect and which certificate name to expect. */
export interface TransportTarget {
  address: IpAddress;
  port: number;
  /** The name the certificate must be valid for (also the SNI unless it is an IP address). */
  tlsName: string;
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

const IDLE_TIMEOUT_MS = 20_000;
const MAX_IDLE_PER_TARGET = 8;

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
      // A request's last TCP segment must not wait for the peer's delayed ACK (Nagle's
      // algorithm cost 40 ms per transaction).
      tcp.setNoDelay(true);
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
      const { status, headers, body, reusable } = await readResponse(reader, {
        method: request.method,
        maxBytes: options.maxBytes,
      });
      clearTimeout(timer);
      if (reusable && !timedOut) {
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
