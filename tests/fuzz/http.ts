/**
 * A minimal HTTP/1.1 client over a TCP socket. `fetch` refuses what the fuzzer must send
 * (targets longer than 65,535 characters, raw %-garbage it would normalise), so requests are
 * written by hand: one connection per request with `Connection: close`, the answer read to the
 * end and parsed (Content-Length or chunked).
 *
 * @module
 */

/** An answer as the fuzzer checks it. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Why no answer came: the deadline passed, or the connection was refused, reset or garbled. */
export class TransportError extends Error {
  /** `timeout`, `refused`, `reset` or `malformed`. */
  readonly kind: "timeout" | "refused" | "reset" | "malformed";

  constructor(kind: TransportError["kind"], message: string) {
    super(message);
    this.name = "TransportError";
    this.kind = kind;
  }
}

/** One request to send. */
export interface RawRequest {
  method: string;
  /** Path and query, as written on the request line. */
  target: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
}

const encoder = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function decodeChunked(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const latin1 = new TextDecoder("latin1");
  while (offset < bytes.length) {
    let lineEnd = offset;
    while (lineEnd + 1 < bytes.length && !(bytes[lineEnd] === 13 && bytes[lineEnd + 1] === 10)) {
      lineEnd++;
    }
    const size = parseInt(latin1.decode(bytes.subarray(offset, lineEnd)).split(";")[0], 16);
    if (!Number.isFinite(size)) throw new TransportError("malformed", "bad chunk size");
    if (size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return concat(parts);
}

function parseResponse(bytes: Uint8Array): RawResponse {
  const end = indexOfBlankLine(bytes);
  if (end < 0) throw new TransportError("malformed", "no complete response head");
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1]);
  if (!status) throw new TransportError("malformed", `bad status line ${head[0]}`);
  const headers = new Headers();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = bytes.subarray(end + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) body = decodeChunked(body);
  const length = headers.get("content-length");
  if (length !== null && Number(length) < body.length) body = body.subarray(0, Number(length));
  return { status, headers, body };
}

/**
 * Sends one request and reads its answer.
 *
 * @throws {TransportError} when no complete answer arrives before `timeoutMs`
 */
export async function sendRaw(
  address: { hostname: string; port: number },
  request: RawRequest,
  options: { timeoutMs: number },
): Promise<RawResponse> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: address.hostname, port: address.port });
  } catch (err) {
    throw new TransportError("refused", String(err));
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed already */ }
  }, options.timeoutMs);
  const lines = [
    `${request.method} ${request.target} HTTP/1.1`,
    `Host: ${address.hostname}:${address.port}`,
    "Connection: close",
  ];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.body) lines.push(`Content-Length: ${request.body.byteLength}`);
  const bytes = concat([
    encoder.encode(lines.join("\r\n") + "\r\n\r\n"),
    request.body ?? new Uint8Array(),
  ]);

  const chunks: Uint8Array[] = [];
  // Write and read at once: a server may answer (413) and close before the body is written.
  const writing = (async () => {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  })().catch(() => {});
  try {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
  } catch (err) {
    if (timedOut) throw new TransportError("timeout", `no answer within ${options.timeoutMs} ms`);
    if (chunks.length === 0) throw new TransportError("reset", String(err));
  } finally {
    clearTimeout(timer);
    await writing;
    try {
      conn.close();
    } catch { /* closed already */ }
  }
  if (timedOut) throw new TransportError("timeout", `no answer within ${options.timeoutMs} ms`);
  if (chunks.length === 0) throw new TransportError("reset", "connection closed without an answer");
  return parseResponse(concat(chunks));
}
