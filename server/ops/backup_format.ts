/**
 * The backup file: one gzip stream holding a header line (JSON) and then the bytes of each file
 * the header lists, in its order. The header says what the backup is (format and version, the
 * node's `server_name`, when it was taken, the data format of its database) and each file's
 * name, size, mode and SHA-256, so a restore checks every byte before the node is used.
 *
 * @module
 */

/** The `format` field of every backup header. */
export const BACKUP_FORMAT = "gemeng-backup";
/** The version of the backup file layout this code writes and reads. */
export const BACKUP_FORMAT_VERSION = 1;
/** The largest header read (a header lists a few files). */
export const MAX_HEADER_BYTES = 1 << 20;

/** One file of the data directory inside a backup. */
export interface BackupEntry {
  /** Path relative to the data directory, `/`-separated. */
  name: string;
  /** Bytes that follow for it. */
  size: number;
  /** Permission bits (e.g. 0o600 for the signing key). */
  mode: number;
  /** SHA-256 of its bytes, lowercase hex. */
  sha256: string;
}

/** The first line of a backup. */
export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  /** The node's `server_name`. */
  serverName: string;
  /** When the snapshot was taken (ms since the epoch): every write acknowledged before is in. */
  createdTs: number;
  /** The same instant, ISO 8601, for people reading the header. */
  created: string;
  /** `["meta", "format_version"]` of the database in the backup. */
  dataFormat: number;
  /** The files, in the order their bytes follow. */
  files: BackupEntry[];
}

/** A backup file that cannot be read or restored. */
export class BackupError extends Error {
  /** Stable code, e.g. `BAD_BACKUP`, `DATA_DIR_NOT_EMPTY`, `WRONG_SERVER_NAME`. */
  readonly code: string;
  /**
   * @param code what is wrong
   * @param message what to do about it
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = "BackupError";
    this.code = code;
  }
}

const SAFE_NAME = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._\-]+(?:\/[A-Za-z0-9._\-]+)*$/;

/** Whether a file name from a header stays inside the data directory. */
export function isSafeEntryName(name: string): boolean {
  return name.length <= 512 && SAFE_NAME.test(name);
}

/** Checks a parsed header's shape. */
export function validateHeader(value: unknown): BackupHeader {
  const bad = (why: string) => new BackupError("BAD_BACKUP", `not a gemeng backup: ${why}`);
  if (typeof value !== "object" || value === null) throw bad("no header");
  const h = value as Record<string, unknown>;
  if (h.format !== BACKUP_FORMAT) throw bad("wrong format");
  if (h.version !== BACKUP_FORMAT_VERSION) {
    throw new BackupError(
      "BAD_BACKUP",
      `backup file version ${h.version} is not supported (this gemeng reads ${BACKUP_FORMAT_VERSION})`,
    );
  }
  if (typeof h.serverName !== "string" || typeof h.createdTs !== "number") throw bad("header");
  if (typeof h.dataFormat !== "number" || !Array.isArray(h.files)) throw bad("header");
  for (const file of h.files as Record<string, unknown>[]) {
    if (
      typeof file !== "object" || file === null || typeof file.name !== "string" ||
      !isSafeEntryName(file.name) || !Number.isSafeInteger(file.size) ||
      (file.size as number) < 0 || typeof file.sha256 !== "string" ||
      !/^[0-9a-f]{64}$/.test(file.sha256) || !Number.isInteger(file.mode)
    ) {
      throw bad(`file entry ${JSON.stringify(file).slice(0, 100)}`);
    }
  }
  return value as BackupHeader;
}

/** Reads a byte stream by lines and exact lengths. */
export class StreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: Uint8Array = new Uint8Array(0);
  #done = false;

  /** @param stream the decompressed backup */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const { value, done } = await this.#reader.read();
    if (done) {
      this.#done = true;
      return false;
    }
    const merged = new Uint8Array(this.#buffer.length + value.length);
    merged.set(this.#buffer);
    merged.set(value, this.#buffer.length);
    this.#buffer = merged;
    return true;
  }

  /** The bytes up to the next newline (without it); throws past `max` bytes. */
  async line(max: number): Promise<string> {
    while (true) {
      const end = this.#buffer.indexOf(10);
      if (end >= 0) {
        const text = new TextDecoder().decode(this.#buffer.subarray(0, end));
        this.#buffer = this.#buffer.subarray(end + 1);
        return text;
      }
      if (this.#buffer.length > max) throw new BackupError("BAD_BACKUP", "header too long");
      if (!await this.#fill()) throw new BackupError("BAD_BACKUP", "the file ends early");
    }
  }

  /** Hands exactly `size` bytes to `sink`, in pieces. */
  async exactly(size: number, sink: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
    let left = size;
    while (left > 0) {
      if (this.#buffer.length === 0 && !await this.#fill()) {
        throw new BackupError("BAD_BACKUP", "the file ends early (truncated backup)");
      }
      const take = Math.min(left, this.#buffer.length);
      await sink(this.#buffer.slice(0, take));
      this.#buffer = this.#buffer.subarray(take);
      left -= take;
    }
  }

  /** Whether the stream has ended with nothing left over. */
  async atEnd(): Promise<boolean> {
    if (this.#buffer.length > 0) return false;
    return !await this.#fill() && this.#buffer.length === 0;
  }

  /** Stops reading. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Reads just the header of a backup file (e.g. to list backups). */
export async function readBackupHeader(path: string): Promise<BackupHeader> {
  const file = await Deno.open(path, { read: true });
  const reader = new StreamReader(
    file.readable.pipeThrough(new DecompressionStream("gzip")),
  );
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await reader.line(MAX_HEADER_BYTES));
    } catch (err) {
      if (err instanceof BackupError) throw err;
      throw new BackupError("BAD_BACKUP", `not a gemeng backup: ${(err as Error).message}`);
    }
    return validateHeader(parsed);
  } finally {
    await reader.cancel();
  }
}
