/**
 * The version of the stored data's layout, and the migrations that bring an older database up
 * to it. `["meta", "format_version"]` holds the version a database was last migrated to; a
 * database without it is format 0 (written before versions were recorded). Start-up runs the
 * missing migrations in order before anything else reads the database, and refuses a database
 * written by a newer gemeng.
 *
 * Format 1 adds `["meta", "node"]`: which server the database belongs to, so that a data
 * directory (or a restored backup) started under another `server_name` is refused instead of
 * serving users and rooms of a different name.
 *
 * @module
 */

/** `["meta", "format_version"]` -> number. */
export const FORMAT_VERSION_KEY: Deno.KvKey = ["meta", "format_version"];
/** `["meta", "node"]` -> {@link NodeRecord}. */
export const NODE_KEY: Deno.KvKey = ["meta", "node"];

/** The format this code reads and writes. */
export const DATA_FORMAT_VERSION = 1;

/** The identity of the node a database belongs to. */
export interface NodeRecord {
  /** The `server_name` its users, rooms and keys were made under. */
  serverName: string;
  /** When the record was written (ms since the epoch). */
  createdTs: number;
}

/** The database cannot be used by this server (too new, or another server's). */
export class DataFormatError extends Error {
  /** `FORMAT_TOO_NEW` or `WRONG_SERVER_NAME`. */
  readonly code: "FORMAT_TOO_NEW" | "WRONG_SERVER_NAME";
  /**
   * @param code what is wrong
   * @param message what to do about it
   */
  constructor(code: "FORMAT_TOO_NEW" | "WRONG_SERVER_NAME", message: string) {
    super(message);
    this.name = "DataFormatError";
    this.code = code;
  }
}

/** What a migration gets to work with. */
export interface MigrationContext {
  /** The configured `server_name`. */
  serverName: string;
}

/**
 * One step from format `to - 1` to `to`. `run` must be safe to repeat: a crash before the
 * version is recorded runs it again at the next start.
 */
export interface Migration {
  /** The format the database is in after this step. */
  to: number;
  /** One line for the log. */
  description: string;
  /** Rewrites the data; the runner records `to` afterwards. */
  run(kv: Deno.Kv, context: MigrationContext): Promise<void>;
}

/** The domain of a user ID (`@local:domain`). */
function domainOf(userId: string): string {
  return userId.slice(userId.indexOf(":") + 1);
}

/** Format 1: record the node's server name, found in the accounts already stored. */
async function recordNodeIdentity(kv: Deno.Kv, context: MigrationContext): Promise<void> {
  if ((await kv.get(NODE_KEY)).value !== null) return;
  // Only local accounts live under ["user"], so any of them names the node.
  let stored: string | null = null;
  for await (const entry of kv.list({ prefix: ["user"] }, { limit: 1 })) {
    stored = domainOf(String(entry.key[1]));
  }
  if (stored !== null && stored !== context.serverName) {
    throw new DataFormatError(
      "WRONG_SERVER_NAME",
      `this database holds the accounts of ${stored}, but server_name is ` +
        `${context.serverName}: start it with server_name = "${stored}"`,
    );
  }
  const node: NodeRecord = { serverName: context.serverName, createdTs: Date.now() };
  await kv.atomic().check({ key: NODE_KEY, versionstamp: null }).set(NODE_KEY, node).commit();
}

/** Every migration, in order; `MIGRATIONS[i].to` is `i + 1`. */
export const MIGRATIONS: readonly Migration[] = [
  { to: 1, description: "record the node's server name", run: recordNodeIdentity },
];

/** Options for {@link migrateDataFormat}. */
export interface MigrateOptions extends MigrationContext {
  /** The steps to run (tests pass their own); default {@link MIGRATIONS}. */
  migrations?: readonly Migration[];
  /** Told about each step before it runs. */
  onStep?: (migration: Migration, from: number) => void;
}

async function isEmpty(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kv.list({ prefix: [] }, { limit: 1 })) return false;
  return true;
}

/** Reads the format a database is in (0 when never recorded). */
export async function readDataFormat(kv: Deno.Kv): Promise<number> {
  const value = (await kv.get<number>(FORMAT_VERSION_KEY)).value;
  return typeof value === "number" ? value : 0;
}

/**
 * Brings the database to the newest format and checks that it belongs to this server.
 *
 * @returns the format found and the format now recorded
 * @throws {DataFormatError} for a database of a newer gemeng or of another server name
 */
export async function migrateDataFormat(
  kv: Deno.Kv,
  options: MigrateOptions,
): Promise<{ from: number; to: number }> {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations.at(-1)?.to ?? 0;
  const from = await readDataFormat(kv);
  if (from > latest) {
    throw new DataFormatError(
      "FORMAT_TOO_NEW",
      `the database is in data format ${from}, this gemeng knows formats up to ${latest}: ` +
        "run the newer gemeng (or restore a backup made by this version)",
    );
  }
  let current = from;
  if (from === 0 && await isEmpty(kv)) {
    // A new database is made in the newest format: nothing to migrate.
    const node: NodeRecord = { serverName: options.serverName, createdTs: Date.now() };
    await kv.atomic().check({ key: NODE_KEY, versionstamp: null }).set(NODE_KEY, node)
      .set(FORMAT_VERSION_KEY, latest).commit();
    return { from, to: latest };
  }
  for (const migration of migrations) {
    if (migration.to <= current) continue;
    if (migration.to !== current + 1) {
      throw new Error(`migrations out of order: ${current} -> ${migration.to}`);
    }
    options.onStep?.(migration, current);
    await migration.run(kv, options);
    await kv.set(FORMAT_VERSION_KEY, migration.to);
    current = migration.to;
  }
  const node = (await kv.get<NodeRecord>(NODE_KEY)).value;
  if (node && node.serverName !== options.serverName) {
    throw new DataFormatError(
      "WRONG_SERVER_NAME",
      `this database belongs to ${node.serverName}, but server_name is ${options.serverName}: ` +
        `start it with server_name = "${node.serverName}"`,
    );
  }
  return { from, to: current };
}
