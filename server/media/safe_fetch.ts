/**
 * An HTTP GET for URL previews that cannot be pointed at the server's own network: the host is
 * resolved first, every address is checked against the special-purpose ranges
 * (`ip_ranges.ts`), and the connection goes to the checked address (TLS still verifies the
 * host name), so DNS rebinding between check and connect is impossible. Redirects are followed
 * by checking again. Size and time are limited.
 *
 * @module
 */

import { formatIp, type IpAddress, type IpRange, isAddressAllowed, parseIp } from "./ip_ranges.ts";

/** Why a fetch was refused or failed. */
export class SafeFetchError extends Error {
  /**
   * @param code `FORBIDDEN` (the address is private), `BAD_URL`, or `FAILED`
   * @param message what happened
   */
  constructor(readonly code: "FORBIDDEN" | "BAD_URL" | "FAILED", message: string) {
    super(message);
    this.name = "SafeFetchError";
  }
}

/** Limits of one fetch. */
export interface SafeFetchOptions {
  /** Ranges allowed even though they are private or loopback. */
  allowedRanges: readonly IpRange[];
  /** Body bytes read at most; the rest is dropped (`truncated`). */
  maxBytes: number;
  /** Time for the whole fetch, redirects included. */
  timeoutMs: number;
  /** `Accept` header. */
  accept?: string;
  /** Redirects followed at most. */
  maxRedirects?: number;
  /** Looks up A and AAAA records (default `Deno.resolveDns`); tests answer from a table. */
  resolveDns?: (host: string, type: "A" | "AAAA") => Promise<string[]>;
}

/** A fetched response. */
export interface SafeResponse {
  url: URL;
  status: number;
  headers: Headers;
  body: Uint8Array;
  truncated: boolean;
}

const MAX_HEADER_BYTES = 64 * 1024;

/**
 * The address to connect to for `host` (a URL's hostname): the literal itself, or the first
 * address the name resolves to, after every address was checked.
 */
async function resolveChecked(host: string, options: SafeFetchOptions): Promise<IpAddress> {
  const allowed = options.allowedRanges;
  const literal = parseIp(host);
  // A name is looked up in DNS as it is; something that looks like an IP literal but is not
  // one is refused rather than handed to the resolver.
  if (!literal && (host.startsWith("[") || host.includes(":"))) {
    throw new SafeFetchError("BAD_URL", `${host} is not a valid IP address`);
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  let addresses: IpAddress[];
  if (literal) {
    addresses = [literal];
  } else if (name === "localhost" || name.endsWith(".localhost")) {
    addresses = [parseIp("127.0.0.1")!];
  } else {
    const lookup = options.resolveDns ?? ((name, type) => Deno.resolveDns(name, type));
    const found: string[] = [];
    for (const type of ["A", "AAAA"] as const) {
      try {
        found.push(...await lookup(host, type));
      } catch { /* no records of this type */ }
    }
    addresses = found.map(parseIp).filter((a): a is IpAddress => a !== null);
    if (addresses.length === 0) throw new SafeFetchError("FAILED", `cannot resolve ${host}`);
  }
  // One forbidden address is enough to refuse: a name that resolves partly inward is suspect.
  for (const address of addresses) {
    if (!isAddressAllowed(address, allowed)) {
      throw new SafeFetchError("FORBIDDEN", `${host} resolves to a private address`);
    }
  }
  return addresses[0];
}

/** Refuses a connection whose peer is not an allowed address (whatever the OS made of ours). */
function checkPeer(conn: Deno.TcpConn, allowed: readonly IpRange[]): void {
  const peer = parseIp(conn.remoteAddr.hostname);
  if (!peer || !isAddressAllowed(peer, allowed)) {
    throw new SafeFetchError("FORBIDDEN", "the connection reached a private address");
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function indexOfCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** Decodes a chunked body as far as it is complete. */
function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  const text = new TextDecoder("latin1");
  while (i < bytes.length) {
    let lineEnd = i;
    while (lineEnd + 1 < bytes.length && !(bytes[lineEnd] === 13 && bytes[lineEnd + 1] === 10)) {
      lineEnd++;
    }
    if (lineEnd + 1 >= bytes.length) break;
    const size = parseInt(text.decode(bytes.subarray(i, lineEnd)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size === 0) break;
    const start = lineEnd + 2;
    const part = bytes.subarray(start, Math.min(start + size, bytes.length));
    parts.push(part);
    total += part.byteLength;
    i = start + size + 2;
  }
  return concat(parts, total);
}

async function getOnce(
  url: URL,
  address: IpAddress,
  options: SafeFetchOptions,
  deadline: number,
): Promise<SafeResponse> {
  const https = url.protocol === "https:";
  const port = url.port ? Number(url.port) : https ? 443 : 80;
  const left = deadline - Date.now();
  if (left <= 0) throw new SafeFetchError("FAILED", "timed out");
  let conn: Deno.Conn | null = null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }, left);
  try {
    const tcp = await Deno.connect({ hostname: formatIp(address), port });
    conn = tcp;
    checkPeer(tcp, options.allowedRanges);
    conn = https ? await Deno.startTls(tcp, { hostname: url.hostname }) : tcp;
    if (timedOut) throw new SafeFetchError("FAILED", "timed out");
    const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
      `User-Agent: gemeng (URL preview)\r\nAccept: ${options.accept ?? "*/*"}\r\n` +
      `Accept-Encoding: identity\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const limit = options.maxBytes + MAX_HEADER_BYTES;
    const parts: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(32 * 1024);
    while (total < limit) {
      const n = await conn.read(buffer);
      if (n === null) break;
      parts.push(buffer.slice(0, n));
      total += n;
    }
    const raw = concat(parts, total);
    const headerEnd = indexOfCrlfCrlf(raw);
    if (headerEnd < 0) throw new SafeFetchError("FAILED", "malformed HTTP response");
    const lines = new TextDecoder("latin1").decode(raw.subarray(0, headerEnd)).split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!status) throw new SafeFetchError("FAILED", "malformed HTTP status line");
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        try {
          headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        } catch { /* an invalid header is skipped */ }
      }
    }
    let body = raw.subarray(headerEnd + 4);
    if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) body = dechunk(body);
    const length = Number(headers.get("content-length") ?? NaN);
    if (Number.isFinite(length) && length < body.byteLength) body = body.subarray(0, length);
    const truncated = body.byteLength > options.maxBytes ||
      (Number.isFinite(length) && length > options.maxBytes);
    return {
      url,
      status: Number(status[1]),
      headers,
      body: body.subarray(0, options.maxBytes),
      truncated,
    };
  } catch (err) {
    if (err instanceof SafeFetchError) throw err;
    throw new SafeFetchError("FAILED", timedOut ? "timed out" : `fetch failed: ${String(err)}`);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* already closed */ }
  }
}

/**
 * GETs `url` (http or https), following up to `maxRedirects` redirects, each target checked
 * like the first.
 *
 * @throws {SafeFetchError} FORBIDDEN for a private address, BAD_URL, or FAILED
 */
export async function safeFetch(
  url: string | URL,
  options: SafeFetchOptions,
): Promise<SafeResponse> {
  const deadline = Date.now() + options.timeoutMs;
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new SafeFetchError("BAD_URL", "not a valid URL");
  }
  for (let hop = 0; hop <= (options.maxRedirects ?? 5); hop++) {
    if (current.protocol !== "http:" && current.protocol !== "https:") {
      throw new SafeFetchError("BAD_URL", "only http and https URLs can be previewed");
    }
    if (current.username || current.password) {
      throw new SafeFetchError("BAD_URL", "URLs with credentials are not previewed");
    }
    const address = await resolveChecked(current.hostname, options);
    const response = await getOnce(current, address, options, deadline);
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      try {
        current = new URL(location, current);
      } catch {
        throw new SafeFetchError("FAILED", "bad redirect location");
      }
      continue;
    }
    return response;
  }
  throw new SafeFetchError("FAILED", "too many redirects");
}
