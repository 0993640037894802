/**
 * Online backup of a node: its Deno KV database (accounts, rooms, keys, media: everything)
 * and the other files of its data directory (the signing key, old signing keys, certificates),
 * written as one compressed file (`backup_format.ts`) while the server keeps running.
 *
 * Consistency comes from SQLite, which Deno KV stores its data in (WAL mode): `VACUUM INTO`
 * copies the database inside one read transaction, so the copy is the database as it was at
 * one instant, with every commit that finished before it (and so every write acknowledged to a
 * client before the backup started) and none of a commit that had not. Readers do not block
 * the server's writers in WAL mode, and a read-only connection never checkpoints or removes the
 * server's WAL. See docs/operations.md.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  type BackupEntry,
  BackupError,
  type BackupHeader,
} from "./backup_format.ts";

/** The KV database's file name in the data directory. */
export const KV_FILE = "gemeng.kv";
/** Temporary directories of backups in progress start with this. */
const TEMP_PREFIX = ".gemeng-backup-";
/** Files SQLite keeps beside the database: part of the snapshot, never copied raw. */
const KV_SIDE_FILES = new Set([KV_FILE, `${KV_FILE}-wal`, `${KV_FILE}-shm`, `${KV_FILE}-journal`]);
/** Other files of the data directory are read whole; larger ones are not data we wrote. */
const MAX_OTHER_FILE = 64 << 20;

/** What to back up. */
export interface BackupSource {
  /** The data directory (holding `gemeng.kv`). */
  dataDir: string;
  /** The node's `server_name`, for the header. */
  serverName: string;
  /** The database's data format, for the header. */
  dataFormat: number;
  /** Directories inside the data directory to leave out (e.g. where backups go). */
  exclude?: readonly string[];
}

/** What a finished backup holds. */
export interface BackupResult {
  header: BackupHeader;
  /** Size of the backup file in bytes. */
  bytes: number;
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

function parentOf(path: string): string {
  const i = trimSlash(path).lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

async function sha256File(path: string): Promise<{ hex: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest("hex"), size };
}

/** The data directory's other files, relative names, excluding the KV files and `exclude`. */
async function otherFiles(
  dir: string,
  excluded: ReadonlySet<string>,
  prefix = "",
): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const name = prefix + entry.name;
    const path = `${dir}/${entry.name}`;
    if (excluded.has(trimSlash(path)) || entry.name.startsWith(TEMP_PREFIX)) continue;
    if (entry.isDirectory) names.push(...await otherFiles(path, excluded, `${name}/`));
    else if (entry.isFile && !(prefix === "" && KV_SIDE_FILES.has(entry.name))) names.push(name);
  }
  return names.sort();
}

async function realPathOrSelf(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/**
 * Snapshots the database with `VACUUM INTO` (one read transaction) into `target`.
 *
 * @throws {BackupError} `NO_DATABASE` when the data directory has no database
 */
export function snapshotDatabase(kvFile: string, target: string): void {
  try {
    Deno.statSync(kvFile);
  } catch {
    throw new BackupError("NO_DATABASE", `no database at ${kvFile}: check data_dir`);
  }
  // Read-only: this connection takes no write lock and never checkpoints the server's WAL.
  const db = new DatabaseSync(kvFile, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    db.prepare("VACUUM INTO ?").run(target);
  } finally {
    db.close();
  }
}

/**
 * Writes a backup of `source` to `file` (through `file.partial`, renamed when complete, so a
 * file with the final name is always whole).
 *
 * @throws {BackupError} when the data directory has no database
 */
export async function createBackup(source: BackupSource, path: string): Promise<BackupResult> {
  const dataDir = trimSlash(source.dataDir);
  const realDataDir = await realPathOrSelf(dataDir);
  const outDir = await realPathOrSelf(parentOf(path));
  const file = `${outDir}/${trimSlash(path).slice(trimSlash(path).lastIndexOf("/") + 1)}`;
  const temp = await Deno.makeTempDir({ dir: outDir, prefix: TEMP_PREFIX });
  const partial = `${file}.partial`;
  try {
    const createdTs = Date.now();
    const snapshot = `${temp}/${KV_FILE}`;
    snapshotDatabase(`${dataDir}/${KV_FILE}`, snapshot);
    const excluded = new Set<string>();
    for (const path of [...(source.exclude ?? []), file, partial]) {
      excluded.add(trimSlash(await realPathOrSelf(path)));
    }
    const contents = new Map<string, Uint8Array<ArrayBuffer>>();
    const entries: BackupEntry[] = [];
    const digest = await sha256File(snapshot);
    entries.push({ name: KV_FILE, size: digest.size, mode: 0o600, sha256: digest.hex });
    for (const name of await otherFiles(realDataDir, excluded)) {
      const path = `${realDataDir}/${name}`;
      const info = await Deno.stat(path);
      if (info.size > MAX_OTHER_FILE) continue;
      const bytes = await Deno.readFile(path);
      contents.set(name, bytes);
      const hex = createHash("sha256").update(bytes).digest("hex");
      entries.push({ name, size: bytes.length, mode: (info.mode ?? 0o600) & 0o777, sha256: hex });
    }
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      serverName: source.serverName,
      createdTs,
      created: new Date(createdTs).toISOString(),
      dataFormat: source.dataFormat,
      files: entries,
    };
    // Pulled as the compressor takes it: the database is never in memory whole.
    const body: ReadableStream<BufferSource> = ReadableStream.from(
      (async function* (): AsyncGenerator<Uint8Array<ArrayBuffer>> {
        yield new TextEncoder().encode(JSON.stringify(header) + "\n");
        using db = await Deno.open(snapshot, { read: true });
        yield* db.readable;
        for (const entry of entries.slice(1)) yield contents.get(entry.name)!;
      })(),
    );
    const out = await Deno.open(partial, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    await body.pipeThrough(new CompressionStream("gzip")).pipeTo(out.writable);
    {
      using done = await Deno.open(partial, { read: true, write: true });
      await done.syncData();
    }
    await Deno.rename(partial, file);
    return { header, bytes: (await Deno.stat(file)).size };
  } catch (err) {
    await Deno.remove(partial).catch(() => {});
    throw err;
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}
