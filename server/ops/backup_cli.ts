/**
 * `main.ts backup FILE` and `main.ts restore FILE`. The backup reads the database file
 * directly (SQLite allows a second process to read a database in WAL mode while the server
 * writes), so it needs no running server and no admin credentials, and works the same whether
 * the server runs or not.
 *
 * @module
 */

import { type Config, kvPath } from "../config.ts";
import {
  DATA_FORMAT_VERSION,
  NODE_KEY,
  type NodeRecord,
  readDataFormat,
} from "../store/data_format.ts";
import { createBackup } from "./backup.ts";
import { BackupError } from "./backup_format.ts";
import { restoreBackup } from "./restore.ts";

/** Usage lines of these commands. */
export const BACKUP_CLI_USAGE =
  `  backup FILE                             write a consistent backup of the whole node (while it
                                          runs, too) to FILE
  restore FILE                            restore a backup into the (empty) data_dir
`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Reads the database's data format and checks it belongs to this config's server. */
async function describeDatabase(config: Config): Promise<number> {
  const path = kvPath(config);
  if (!await exists(path)) {
    throw new BackupError("NO_DATABASE", `no database at ${path}: check data_dir`);
  }
  const kv = await Deno.openKv(path);
  try {
    const format = await readDataFormat(kv);
    const node = (await kv.get<NodeRecord>(NODE_KEY)).value;
    if (node && node.serverName !== config.serverName) {
      throw new BackupError(
        "WRONG_SERVER_NAME",
        `the database belongs to ${node.serverName}, but server_name is ${config.serverName}`,
      );
    }
    if (format > DATA_FORMAT_VERSION) {
      throw new BackupError("FORMAT_TOO_NEW", `data format ${format} is newer than this gemeng's`);
    }
    return format;
  } finally {
    kv.close();
  }
}

/** Runs `backup FILE`; returns the lines to print. */
export async function backupCommand(config: Config, file: string): Promise<string[]> {
  if (await exists(file)) throw new BackupError("EXISTS", `${file} exists: choose a new name`);
  const dataFormat = await describeDatabase(config);
  const { header, bytes } = await createBackup(
    { dataDir: config.dataDir, serverName: config.serverName, dataFormat },
    file,
  );
  return [
    `backup of ${header.serverName} taken at ${header.created} written to ${file}`,
    `${header.files.length} files, ${bytes} bytes compressed, data format ${header.dataFormat}`,
  ];
}

/** Runs `restore FILE`; returns the lines to print. */
export async function restoreCommand(config: Config, file: string): Promise<string[]> {
  const header = await restoreBackup(file, {
    dataDir: config.dataDir,
    serverName: config.serverName,
  });
  return [
    `restored the backup of ${header.serverName} taken at ${header.created} into ` +
    config.dataDir,
    "start the server (main.ts serve) to use it",
  ];
}
