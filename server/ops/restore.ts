/**
 * Restores a backup (`backup.ts`) into an empty data directory: every file is written to a
 * staging directory beside it and checked against the header's SHA-256, the database passes
 * SQLite's integrity check, and only then does the staging directory become the data directory.
 * A failed restore leaves nothing behind.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";
import { DATA_FORMAT_VERSION } from "../store/data_format.ts";
import {
  BackupError,
  type BackupHeader,
  MAX_HEADER_BYTES,
  StreamReader,
  validateHeader,
} from "./backup_format.ts";
import { KV_FILE } from "./backup.ts";

/** Where and for which server to restore. */
export interface RestoreTarget {
  /** The data directory: must not exist, or be empty. */
  dataDir: string;
  /** The configured `server_name`: must be the backup's. */
  serverName: string;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    throw err;
  }
}

function checkHeader(header: BackupHeader, target: RestoreTarget): void {
  if (header.serverName !== target.serverName) {
    throw new BackupError(
      "WRONG_SERVER_NAME",
      `the backup is of ${header.serverName}, but server_name is ${target.serverName}: ` +
        `restore with a config whose server_name is "${header.serverName}"`,
    );
  }
  if (header.dataFormat > DATA_FORMAT_VERSION) {
    throw new BackupError(
      "FORMAT_TOO_NEW",
      `the backup's data format ${header.dataFormat} is newer than this gemeng's ` +
        `(${DATA_FORMAT_VERSION}): restore it with a newer gemeng`,
    );
  }
  if (header.files[0]?.name !== KV_FILE) {
    throw new BackupError("BAD_BACKUP", "not a gemeng backup: no database");
  }
}

async function writeEntries(reader: StreamReader, header: BackupHeader, staging: string) {
  for (const entry of header.files) {
    const path = `${staging}/${entry.name}`;
    const parent = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(parent, { recursive: true });
    const hash = createHash("sha256");
    {
      using file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      await reader.exactly(entry.size, async (chunk) => {
        hash.update(chunk);
        let written = 0;
        while (written < chunk.length) written += await file.write(chunk.subarray(written));
      });
      await file.syncData();
    }
    if (hash.digest("hex") !== entry.sha256) {
      throw new BackupError("BAD_BACKUP", `${entry.name} is damaged (checksum mismatch)`);
    }
    await Deno.chmod(path, entry.mode & 0o777);
  }
  if (!await reader.atEnd()) {
    throw new BackupError("BAD_BACKUP", "unexpected bytes after the last file");
  }
}

function checkDatabase(path: string): void {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("PRAGMA integrity_check").all() as Record<string, unknown>[];
    const result = rows.map((row) => String(Object.values(row)[0])).join("; ");
    if (result !== "ok") {
      throw new BackupError("BAD_BACKUP", `the database in the backup is damaged: ${result}`);
    }
  } finally {
    db.close();
  }
}

/**
 * Restores `file` into `target.dataDir`.
 *
 * @returns the backup's header
 * @throws {BackupError} `DATA_DIR_NOT_EMPTY`, `WRONG_SERVER_NAME`, `FORMAT_TOO_NEW` or
 *   `BAD_BACKUP` (unreadable, truncated or damaged file); nothing is written then
 */
export async function restoreBackup(file: string, target: RestoreTarget): Promise<BackupHeader> {
  const dataDir = target.dataDir.replace(/\/+$/, "");
  if (!await isEmptyOrMissing(dataDir)) {
    throw new BackupError(
      "DATA_DIR_NOT_EMPTY",
      `${dataDir} is not empty: restore only into a new (or empty) data directory`,
    );
  }
  let input: Deno.FsFile;
  try {
    input = await Deno.open(file, { read: true });
  } catch (err) {
    throw new BackupError("BAD_BACKUP", `cannot read ${file}: ${(err as Error).message}`);
  }
  const reader = new StreamReader(input.readable.pipeThrough(new DecompressionStream("gzip")));
  const slash = dataDir.lastIndexOf("/");
  const parent = slash < 0 ? "." : slash === 0 ? "/" : dataDir.slice(0, slash);
  await Deno.mkdir(parent, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: parent, prefix: ".gemeng-restore-" });
  try {
    let header: BackupHeader;
    try {
      header = validateHeader(JSON.parse(await reader.line(MAX_HEADER_BYTES)));
      checkHeader(header, target);
      await writeEntries(reader, header, staging);
    } catch (err) {
      if (err instanceof BackupError) throw err;
      // A broken gzip stream or header: the file is not (or no longer) a backup.
      throw new BackupError("BAD_BACKUP", `cannot read the backup: ${(err as Error).message}`);
    }
    checkDatabase(`${staging}/${KV_FILE}`);
    await Deno.remove(dataDir).catch(() => {});
    await Deno.rename(staging, dataDir);
    return header;
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  } finally {
    await reader.cancel();
  }
}
