/**
 * A small client of ClamAV's daemon (clamd) for its `INSTREAM` command: the bytes are sent as
 * length-prefixed chunks (4-byte big-endian length, then the bytes) after `zINSTREAM\0`, a zero
 * length ends them, and clamd answers one NUL-terminated line: `stream: OK`,
 * `stream: <signature> FOUND`, or `<reason> ERROR` (for instance when the stream passes clamd's
 * `StreamMaxLength`). clamd listens on a Unix socket (`LocalSocket`) or TCP (`TCPSocket`).
 *
 * A {@link ClamdStream} is opened when an upload starts and fed while the body streams in, so
 * scanning costs no second pass over the bytes.
 *
 * @module
 */

/** Why clamd could not give a verdict. */
export class ClamdError extends Error {
  /**
   * @param code `UNREACHABLE` (cannot connect), `TIMEOUT`, `PROTOCOL` (an answer we cannot
   *   read, or clamd's own ERROR)
   * @param message what happened
   */
  constructor(readonly code: "UNREACHABLE" | "TIMEOUT" | "PROTOCOL", message: string) {
    super(message);
    this.name = "ClamdError";
  }
}

/** clamd's verdict on one stream. */
export type ClamdVerdict = { clean: true } | { clean: false; signature: string };

/** Longest answer line read from clamd. */
const MAX_REPLY_BYTES = 4096;

/**
 * Where clamd listens: a path (a Unix socket, anything starting with `/`), or `host:port`.
 * Returns null for text that is neither.
 */
export function parseClamdAddress(
  text: string,
):
  | { transport: "unix"; path: string }
  | { transport: "tcp"; hostname: string; port: number }
  | null {
  if (text.startsWith("/")) return { transport: "unix", path: text };
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  return { transport: "tcp", hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClamdError("TIMEOUT", `${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads clamd's answer line (up to its NUL, or the end of the connection). */
export function parseClamdReply(text: string): ClamdVerdict {
  const line = text.replace(/\0.*$/s, "").trim();
  const body = line.replace(/^stream:\s*/, "");
  if (body === "OK") return { clean: true };
  const found = /^(.+) FOUND$/.exec(body);
  if (found) return { clean: false, signature: found[1].slice(0, 200) };
  throw new ClamdError("PROTOCOL", `clamd answered: ${line.slice(0, 200) || "(nothing)"}`);
}

/** One `INSTREAM` session with clamd. */
export class ClamdStream {
  readonly #conn: Deno.Conn;
  readonly #timeoutMs: number;
  #closed = false;

  private constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Connects to clamd and starts an `INSTREAM` command.
   *
   * @throws {ClamdError} UNREACHABLE or TIMEOUT
   */
  static async open(address: string, options: { timeoutMs: number }): Promise<ClamdStream> {
    const target = parseClamdAddress(address);
    if (!target) throw new ClamdError("UNREACHABLE", `"${address}" is not a clamd address`);
    let conn: Deno.Conn;
    let connecting: Promise<Deno.Conn> | undefined;
    try {
      connecting = target.transport === "unix"
        ? Deno.connect({ transport: "unix", path: target.path })
        : Deno.connect({ hostname: target.hostname, port: target.port });
      conn = await withTimeout(connecting, options.timeoutMs, "connecting to clamd");
    } catch (err) {
      // A connection that opens after the timeout is closed, not left behind.
      connecting?.then((late) => late.close(), () => {});
      if (err instanceof ClamdError) throw err;
      throw new ClamdError("UNREACHABLE", `cannot connect to clamd at ${address}: ${message(err)}`);
    }
    const stream = new ClamdStream(conn, options.timeoutMs);
    await stream.#send(new TextEncoder().encode("zINSTREAM\0"));
    return stream;
  }

  async #send(bytes: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < bytes.length) {
        offset += await withTimeout(
          this.#conn.write(bytes.subarray(offset)),
          this.#timeoutMs,
          "writing to clamd",
        );
      }
    } catch (err) {
      this.close();
      if (err instanceof ClamdError) throw err;
      throw new ClamdError("PROTOCOL", `clamd closed the stream: ${message(err)}`);
    }
  }

  /** Sends one chunk of the content (empty chunks are skipped: a zero length ends the stream). */
  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, bytes.length);
    await this.#send(header);
    await this.#send(bytes);
  }

  /**
   * Ends the stream and reads clamd's verdict.
   *
   * @throws {ClamdError} TIMEOUT, or PROTOCOL for clamd's ERROR answers
   */
  async finish(): Promise<ClamdVerdict> {
    await this.#send(new Uint8Array(4));
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      const buffer = new Uint8Array(512);
      while (size < MAX_REPLY_BYTES) {
        const n = await withTimeout(this.#conn.read(buffer), this.#timeoutMs, "clamd's answer");
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
        size += n;
        if (buffer.subarray(0, n).includes(0)) break;
      }
    } catch (err) {
      if (err instanceof ClamdError) throw err;
      throw new ClamdError("PROTOCOL", `reading clamd's answer failed: ${message(err)}`);
    } finally {
      this.close();
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return parseClamdReply(new TextDecoder().decode(all));
  }

  /** Drops the connection (an abandoned upload). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
