/**
 * The HTTP/1.1 framing the federation transport (`transport.ts`) speaks over its TLS
 * connections: writing a request, and reading a response head and body (Content-Length,
 * chunked, or until close) within header and body limits.
 *
 * @module
 */

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

const MAX_HEADER_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/**
 * Buffered reads from a connection. The buffer grows by doubling and is compacted before it
 * grows, so reading a large body costs linear time.
 */
export class Reader {
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

export async function writeRequest(conn: Deno.Conn, request: TransportRequest): Promise<void> {
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

/**
 * Reads one response: its head, then its body as the head frames it.
 *
 * @returns the response, and whether the connection may carry another request
 * @throws {TransportError} `TOO_LARGE` beyond `maxBytes`, `BAD_RESPONSE` for broken framing
 */
export async function readResponse(
  reader: Reader,
  options: { method: string; maxBytes: number },
): Promise<TransportResponse & { reusable: boolean }> {
  const { status, headers } = await readHead(reader);
  const noBody = options.method === "HEAD" || status === 204 || status === 304;
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
  return { status, headers, body, reusable: delimited && !close && reader.leftover === 0 };
}
