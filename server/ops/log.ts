/**
 * Structured logs: one line per record, as readable text or as a JSON object, filtered by
 * level (`[log]`). Records carry a message and flat fields; what goes in is chosen by the
 * callers: request lines name the route, path, status and time, never a query string, header
 * or body, so access tokens (`?access_token=`, `Authorization`) and message contents never
 * reach a log.
 *
 * @module
 */

import { LOG_LEVELS, type LogConfig, type LogLevel } from "./ops_settings.ts";

/** A field value of a record. */
export type LogValue = string | number | boolean | null | undefined;
/** The fields of a record. */
export type LogFields = Record<string, LogValue>;
/** Where formatted lines go (tests capture them). */
export type LogSink = (line: string, level: LogLevel) => void;

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}

/** Buffered lines wait at most this long. */
const FLUSH_MS = 50;
/** A buffer this large is written at once. */
const FLUSH_BYTES = 32 << 10;

/**
 * The default sink: standard error. Request lines are gathered and written every 50 ms (a write
 * per request costs more than the rest of the log line); warnings and errors are written at
 * once, with what was gathered before them, so the order holds and nothing waits behind a crash
 * report. `flush()` writes what waits (the server calls it as it stops).
 */
export function stderrSink(): LogSink & { flush(): void } {
  let buffer = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (buffer === "") return;
    const text = buffer;
    buffer = "";
    writeStderr(text);
  };
  globalThis.addEventListener("unload", flush);
  const sink = (line: string, level: LogLevel) => {
    buffer += line + "\n";
    if (level === "warn" || level === "error" || buffer.length >= FLUSH_BYTES) return flush();
    if (timer === undefined) {
      timer = setTimeout(flush, FLUSH_MS);
      Deno.unrefTimer(timer as unknown as number);
    }
  };
  return Object.assign(sink, { flush });
}

function textValue(value: LogValue): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** Writes records at or above the configured level. */
export class Logger {
  readonly #format: LogConfig["format"];
  readonly #min: number;
  readonly #sink: LogSink & { flush?: () => void };
  /** Whether request lines (`info`) are written; off for embedded servers unless asked. */
  readonly requests: boolean;

  /**
   * @param config `[log]`
   * @param options `sink` (default standard error), `requests` (write request lines)
   */
  constructor(config: LogConfig, options: { sink?: LogSink; requests?: boolean } = {}) {
    this.#format = config.format;
    this.#min = LOG_LEVELS.indexOf(config.level);
    this.#sink = options.sink ?? stderrSink();
    this.requests = options.requests ?? true;
  }

  /** Writes what a buffering sink holds (call before the process exits). */
  flush(): void {
    this.#sink.flush?.();
  }

  /** Whether a record of `level` would be written. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  /** Writes one record. */
  log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const ts = new Date().toISOString();
    let line: string;
    if (this.#format === "json") {
      line = JSON.stringify({ ts, level, msg: message, ...fields });
    } else {
      line = `${ts} ${level.toUpperCase().padEnd(5)} ${message}`;
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) line += ` ${key}=${textValue(value)}`;
      }
    }
    this.#sink(line, level);
  }

  /** A `debug` record. */
  debug(message: string, fields?: LogFields): void {
    this.log("debug", message, fields);
  }
  /** An `info` record. */
  info(message: string, fields?: LogFields): void {
    this.log("info", message, fields);
  }
  /** A `warn` record. */
  warn(message: string, fields?: LogFields): void {
    this.log("warn", message, fields);
  }
  /** An `error` record. */
  error(message: string, fields?: LogFields): void {
    this.log("error", message, fields);
  }
}

/** One served request, as the request log and the metrics see it. */
export interface RequestRecord {
  method: string;
  /** The matched route pattern (`/_matrix/client/v3/rooms/:roomId/send/...`). */
  route: string;
  /** The path without its query string. */
  path: string;
  status: number;
  /** Seconds from arrival to the response being ready. */
  seconds: number;
}

/** Writes a request line (no query, headers or body: see the module doc). */
export function logRequest(logger: Logger, record: RequestRecord): void {
  if (!logger.requests || !logger.enabled("info")) return;
  logger.info("request", {
    method: record.method,
    path: record.path.length > 300 ? record.path.slice(0, 300) + "..." : record.path,
    route: record.route,
    status: record.status,
    ms: Math.round(record.seconds * 10_000) / 10,
  });
}

/**
 * Sends the process's `console` output through `logger` (the server's modules report their
 * problems with `console.error`/`console.warn`), so that with `format = "json"` every line is
 * JSON. Only `main.ts serve` calls this: it owns its process.
 *
 * @returns a function that puts `console` back
 */
export function routeConsoleTo(logger: Logger): () => void {
  const saved = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    debug: console.debug,
  };
  const write = (level: LogLevel) => (...args: unknown[]) => {
    if (!logger.enabled(level)) return;
    const text = args.map((arg) =>
      typeof arg === "string" ? arg : Deno.inspect(arg, { depth: 4, colors: false })
    ).join(" ");
    logger.log(level, text);
  };
  console.log = write("info");
  console.info = write("info");
  console.warn = write("warn");
  console.error = write("error");
  console.debug = write("debug");
  return () => Object.assign(console, saved);
}
