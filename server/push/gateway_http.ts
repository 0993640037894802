/**
 * One `POST` to a push gateway that cannot be pointed at the server's own network: the host is
 * resolved first, every address is checked against the special-purpose ranges
 * (`media/ip_ranges.ts`) unless `[push] allow_private_addresses` is set, and the connection
 * goes to the checked address (TLS still verifies the host name), so a DNS answer that changes
 * between check and connect cannot redirect it. No redirects are followed; the answer is read
 * up to {@link MAX_ANSWER_BYTES}.
 *
 * @module
 */

import { formatIp, type IpAddress, isAddressAllowed, parseIp } from "../media/ip_ranges.ts";

/** Most bytes of a gateway's answer read (headers included). */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Time for one request, connection included. */
export const GATEWAY_TIMEOUT_MS = 20_000;

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

function headerEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const text = new TextDecoder("latin1");
  const parts: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let end = i;
    while (end + 1 < bytes.length && !(bytes[end] === 13 && bytes[end + 1] === 10)) end++;
    if (end + 1 >= bytes.length) break;
    const size = parseInt(text.decode(bytes.subarray(i, end)).split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(...bytes.subarray(end + 2, Math.min(end + 2 + size, bytes.length)));
    i = end + 2 + size + 2;
  }
  return new Uint8Array(parts);
}

/**
 * POSTs `body` as JSON to `url` (http or https).
 *
 * @throws {GatewayError} FORBIDDEN for a private address, BAD_URL, or FAILED (no answer)
 */
export async function postToGateway(
  url: string,
  body: unknown,
  options: { allowPrivateAddresses: boolean; timeoutMs?: number },
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
  const address = await addressFor(target.hostname, options.allowPrivateAddresses);
  const https = target.protocol === "https:";
  const port = target.port ? Number(target.port) : https ? 443 : 80;
  let conn: Deno.Conn | null = null;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }, options.timeoutMs ?? GATEWAY_TIMEOUT_MS);
  try {
    const tcp = await Deno.connect({ hostname: address, port });
    conn = tcp;
    const peer = parseIp(tcp.remoteAddr.hostname);
    if (!options.allowPrivateAddresses && (!peer || !isAddressAllowed(peer, []))) {
      throw new GatewayError("FORBIDDEN", "the connection reached a private address");
    }
    conn = https ? await Deno.startTls(tcp, { hostname: target.hostname }) : tcp;
    const payload = new TextEncoder().encode(JSON.stringify(body));
    const head = `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      `User-Agent: gemeng (push)\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${payload.byteLength}\r\nAccept: application/json\r\n` +
      `Accept-Encoding: identity\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    for (let off = 0; off < payload.byteLength;) {
      off += await conn.write(payload.subarray(off));
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(16 * 1024);
    while (total < MAX_ANSWER_BYTES) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
    const raw = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      raw.set(chunk, at);
      at += chunk.byteLength;
    }
    const end = headerEnd(raw);
    if (end < 0) throw new GatewayError("FAILED", "malformed HTTP answer");
    const lines = new TextDecoder("latin1").decode(raw.subarray(0, end)).split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!status) throw new GatewayError("FAILED", "malformed HTTP status line");
    let answer: Uint8Array = raw.subarray(end + 4);
    if (lines.some((line) => /^transfer-encoding:.*chunked/i.test(line))) answer = dechunk(answer);
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(new TextDecoder().decode(answer));
    } catch { /* not JSON */ }
    return { status: Number(status[1]), body: parsed };
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError("FAILED", timedOut ? "timed out" : `request failed: ${String(err)}`);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* already closed */ }
  }
}
