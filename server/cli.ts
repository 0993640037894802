/**
 * The command line: `serve`, and the admin commands `user create`, `user reset-password`,
 * `token create`, `media ...` and `federation ...`, which work directly on the server's KV
 * database.
 *
 * @module
 */

import { hashPassword } from "../crypto/password.ts";
import { randomString } from "../crypto/tokens.ts";
import { type Config, ConfigError, kvPath, loadConfig } from "./config.ts";
import { MatrixError } from "./errors.ts";
import { Homeserver } from "./homeserver.ts";
import {
  createRegistrationToken,
  createUser,
  getUser,
  userIdForLocalpart,
} from "./store/accounts.ts";
import { userExportStream } from "./retention/user_export.ts";
import { deleteDevices } from "./store/devices.ts";
import { addUserUpdate } from "./client/account.ts";
import { checkNewPassword } from "./client/registration.ts";
import { startIdleMemoryTrim, trimMemoryNow } from "./memory_trim.ts";
import { awaitRevocationsSeen } from "./store/token_cache.ts";
import { MEDIA_CLI_USAGE, runMediaCommand } from "./admin/media_admin.ts";
import { FEDERATION_CLI_USAGE, runFederationCommand } from "./admin/federation_admin.ts";
import { rotateSigningKey } from "./federation/key_rotation.ts";
import { appendAuditEntry, AUDIT_CLI_USAGE, runAuditCommand } from "./admin/audit.ts";
import { selfCheck } from "./tls/self_check.ts";
import { BACKUP_CLI_USAGE, backupCommand, restoreCommand } from "./ops/backup_cli.ts";
import { Logger, routeConsoleTo } from "./ops/log.ts";
import { startBackupSchedule } from "./ops/backup_schedule.ts";

/** A command-line usage mistake. */
export class UsageError extends Error {
  /** Always `USAGE`. */
  readonly code = "USAGE";
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Usage text. */
export const USAGE = `usage: main.ts <command> [--config FILE]

commands:
  serve                                   run the homeserver
  user create NAME [--admin] [--password P]
                                          create an account (a password is generated and
                                          printed when --password is absent)
  user reset-password NAME [--password P] set a new password and log out all devices
  user export NAME FILE                   write everything stored about the user (GDPR) to
                                          FILE, gzip-compressed JSON lines (docs/retention.md)
  token create [--uses N] [--expires DATE]
                                          create a registration token and print it
${MEDIA_CLI_USAGE}${FEDERATION_CLI_USAGE}${AUDIT_CLI_USAGE}${BACKUP_CLI_USAGE}`;

/** Parsed command line: positional words and `--flag [value]` options. */
export interface ParsedArgs {
  words: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set([
  "config",
  "password",
  "uses",
  "expires",
  "limit",
  "before-days",
  "since",
]);
const BOOLEAN_FLAGS = new Set(["admin", "help"]);

/** Splits arguments into words and flags; `--name=value` and `--name value` both work. */
export function parseArgs(args: readonly string[]): ParsedArgs {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (BOOLEAN_FLAGS.has(name) && eq < 0) {
      flags.set(name, true);
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { words, flags };
}

/** Where command output goes (tests capture it). */
export interface CliOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleOutput: CliOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

function flagString(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === "string" ? value : undefined;
}

function generatedPassword(): string {
  return randomString(24);
}

function userIdFor(name: string, config: Config): string {
  const localpart = name.startsWith("@") ? name.slice(1).split(":")[0] : name;
  if (name.startsWith("@") && name.slice(name.indexOf(":") + 1) !== config.serverName) {
    throw new UsageError(`${name} is not a user of ${config.serverName}`);
  }
  return userIdForLocalpart(localpart, config.serverName);
}

async function withServer<T>(config: Config, fn: (hs: Homeserver) => Promise<T>): Promise<T> {
  // Federation, push delivery and application services off: with them on, opening the server
  // starts a second federation sender, push worker and transaction queue beside the running
  // server's, on the same KV (one of each per KV). No command sends room events; one that does
  // will need them back (and the running server's workers woken).
  const hs = await Homeserver.open({
    ...config,
    federation: { ...config.federation, enabled: false },
    push: { ...config.push, enabled: false },
    appservices: { ...config.appservices, registrationFiles: [] },
  });
  try {
    const result = await fn(hs);
    // A running server on the same data directory must have dropped revoked tokens from its
    // cache before the command reports success.
    const pending = await awaitRevocationsSeen(hs.kv);
    if (pending.length > 0) {
      console.error(
        `warning: ${pending.length} running server(s) did not confirm the logout in time; ` +
          "old sessions may work for up to 30 seconds",
      );
    }
    return result;
  } finally {
    await hs.close();
  }
}

async function userCreate(config: Config, args: ParsedArgs, io: CliOutput): Promise<void> {
  const name = args.words[2];
  if (!name || args.words.length > 3) throw new UsageError("user create needs exactly one NAME");
  const userId = userIdFor(name, config);
  const given = flagString(args, "password");
  const password = given ?? generatedPassword();
  checkNewPassword(password);
  const admin = args.flags.get("admin") === true;
  await withServer(config, async (hs) => {
    const passwordHash = await hashPassword(password, { cost: hs.passwordCost });
    await createUser(hs.kv, { userId, passwordHash, admin });
    await hs.notify("userRegistered", userId);
    await cliAudit(hs, "user.create", userId, { admin });
  });
  io.out(`created ${userId}${admin ? " (admin)" : ""}`);
  if (given === undefined) io.out(`password: ${password}`);
}

async function userResetPassword(config: Config, args: ParsedArgs, io: CliOutput): Promise<void> {
  const name = args.words[2];
  if (!name || args.words.length > 3) {
    throw new UsageError("user reset-password needs exactly one NAME");
  }
  const userId = userIdFor(name, config);
  const given = flagString(args, "password");
  const password = given ?? generatedPassword();
  checkNewPassword(password);
  await withServer(config, async (hs) => {
    const passwordHash = await hashPassword(password, { cost: hs.passwordCost });
    const deleted = await deleteDevices(hs.kv, userId, {
      prepare: async (op) => {
        await addUserUpdate(hs.kv, op, {
          userId,
          change: (user) => {
            if (user.deactivated) throw new UsageError(`${userId} is deactivated`);
            return { ...user, passwordHash };
          },
        });
      },
    });
    await hs.notify("devicesDeleted", userId, deleted);
    await cliAudit(hs, "user.reset_password", userId, { logout_devices: true });
  });
  io.out(`password of ${userId} reset; all devices logged out`);
  if (given === undefined) io.out(`password: ${password}`);
}

async function userExport(config: Config, args: ParsedArgs, io: CliOutput): Promise<void> {
  const [, , name, file] = args.words;
  if (!name || !file || args.words.length > 4) {
    throw new UsageError("user export needs a NAME and a FILE");
  }
  const userId = userIdFor(name, config);
  const bytes = await withServer(config, async (hs) => {
    if (!(await getUser(hs.kv, userId))) throw new UsageError(`no account ${userId}`);
    // Written beside the target, then renamed: a failed export leaves no half archive.
    const partial = `${file}.partial`;
    const out = await Deno.open(partial, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    await userExportStream(hs, userId).pipeTo(out.writable);
    await Deno.rename(partial, file);
    await cliAudit(hs, "user.export", userId, { file });
    return (await Deno.stat(file)).size;
  });
  io.out(`exported ${userId} to ${file} (${bytes} bytes)`);
}

async function tokenCreate(config: Config, args: ParsedArgs, io: CliOutput): Promise<void> {
  if (args.words.length > 2) throw new UsageError("token create takes no NAME");
  const usesText = flagString(args, "uses");
  let usesAllowed: number | null = null;
  if (usesText !== undefined) {
    usesAllowed = Number(usesText);
    if (!Number.isInteger(usesAllowed) || usesAllowed < 1) {
      throw new UsageError("--uses must be a positive integer");
    }
  }
  const expiresText = flagString(args, "expires");
  let expiryTs: number | null = null;
  if (expiresText !== undefined) {
    expiryTs = Date.parse(expiresText);
    if (Number.isNaN(expiryTs)) throw new UsageError("--expires must be a date, e.g. 2030-01-31");
    if (expiryTs <= Date.now()) throw new UsageError("--expires must be in the future");
  }
  const token = await withServer(
    config,
    async (hs) => {
      const token = await createRegistrationToken(hs.kv, { usesAllowed, expiryTs });
      await cliAudit(hs, "registration_token.create", token, {
        uses_allowed: usesAllowed,
        expiry_time: expiryTs,
      });
      return token;
    },
  );
  io.out(token);
}

function cliAudit(
  hs: Homeserver,
  action: string,
  target: string,
  details: Record<string, unknown>,
) {
  return cliAuditKv(hs.kv, action, target, details);
}

function cliAuditKv(
  kv: Deno.Kv,
  action: string,
  target: string | null,
  details: Record<string, unknown>,
) {
  return appendAuditEntry(kv, {
    actor: "cli",
    action,
    target,
    ip: null,
    userAgent: null,
    via: "cli",
    details,
  });
}

async function openKvFile(config: Config): Promise<Deno.Kv> {
  try {
    return await Deno.openKv(kvPath(config));
  } catch (err) {
    throw new ConfigError("data_dir", `cannot open ${kvPath(config)}: ${String(err)}`);
  }
}

/** Runs `audit-log export FILE` on the KV file alone (it only reads). */
async function auditLogCommand(config: Config, args: ParsedArgs, io: CliOutput) {
  const file = args.words[2];
  const toStdout = file === "-";
  const kv = await openKvFile(config);
  let out: Deno.FsFile | null = null;
  try {
    if (!toStdout && file !== undefined && args.words.length === 3) {
      out = await Deno.open(file, { write: true, create: true, truncate: true });
    }
    const writer = out ?? Deno.stdout;
    const count = await runAuditCommand(kv, args.words.slice(1), {
      since: flagString(args, "since"),
      write: async (chunk) => {
        for (let done = 0; done < chunk.length;) done += await writer.write(chunk.subarray(done));
      },
    });
    if (!toStdout) io.err(`wrote ${count} audit log entries to ${file}`);
  } catch (err) {
    throw (err as { code?: string }).code === "USAGE"
      ? new UsageError(String((err as Error).message))
      : err;
  } finally {
    out?.close();
    kv.close();
  }
}

/**
 * Runs `federation ...` on the KV file alone: opening a whole server would start a second
 * federation sender beside the running one.
 */
async function federationCommand(config: Config, args: ParsedArgs, io: CliOutput) {
  if (args.words[1] === "rotate-key" && args.words.length === 2) {
    const { retired, current } = await rotateSigningKey(config);
    const auditKv = await openKvFile(config);
    try {
      await cliAuditKv(auditKv, "federation.rotate_key", null, { retired, current });
    } finally {
      auditKv.close();
    }
    io.out(`signing key ${retired} retired (published as an old key), new key ${current}`);
    return;
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(kvPath(config));
  } catch (err) {
    throw new ConfigError("data_dir", `cannot open ${kvPath(config)}: ${String(err)}`);
  }
  let lines: string[];
  try {
    lines = await runFederationCommand(kv, args.words.slice(1));
    if (args.words[1] === "retry") {
      await cliAuditKv(kv, "federation.retry", args.words[2] ?? null, {});
    }
  } catch (err) {
    throw (err as { code?: string }).code === "USAGE"
      ? new UsageError(String((err as Error).message))
      : err;
  } finally {
    kv.close();
  }
  for (const line of lines) io.out(line);
}

/** Runs `serve` until SIGINT or SIGTERM, then shuts down gracefully. */
async function serve(config: Config, io: CliOutput): Promise<void> {
  // The process is the server's: its console output becomes log records too (server/ops/log.ts).
  const logger = new Logger(config.log);
  const restoreConsole = routeConsoleTo(logger);
  try {
    // "listening" and "shutting down" are news, not errors, once output is a log.
    const say = (line: string) => logger.info(line);
    await serveWith(config, io === consoleOutput ? { out: say, err: say } : io, logger);
  } finally {
    restoreConsole();
    logger.flush();
  }
}

async function serveWith(config: Config, io: CliOutput, logger: Logger): Promise<void> {
  const hs = await Homeserver.open(config, { logger });
  const scheme = config.http.tls === "off" ? "http" : "https";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    await hs.startTls({
      onHttpListen: (addr) =>
        io.err(
          `gemeng redirecting to https${
            config.http.tls === "acme" ? " (and answering ACME challenges)" : ""
          } on http://${addr.hostname}:${addr.port}/`,
        ),
    });
    server = hs.serve({
      onListen: (addr) => io.err(`gemeng listening on ${scheme}://${addr.hostname}:${addr.port}/`),
    });
  } catch (err) {
    await hs.close();
    throw err;
  }
  // What other servers will see; it needs the listeners up, and never stops the start.
  selfCheck(hs).then(
    (report) => report.lines.forEach((line) => io.err(`self-check: ${line}`)),
    (err) => io.err(`self-check failed: ${String(err)}`),
  );
  const backups = startBackupSchedule(hs);
  if (backups) hs.addCloseHook(() => backups.stop());
  // Start-up garbage, and later each burst's cache growth, heap and freed native memory, go back
  // to the system once the server is quiet.
  trimMemoryNow();
  const trim = startIdleMemoryTrim({ activity: () => hs.requestsServed });
  server.finished.finally(() => trim.stop());
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      io.err("shutting down: finishing in-flight requests");
      await hs.close();
    })();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await server.finished;
    if (stopping) await stopping;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}

/**
 * Runs a command line and returns the process exit code (0 ok, 1 failure, 2 usage or config).
 */
export async function runCli(
  args: readonly string[],
  io: CliOutput = consoleOutput,
): Promise<number> {
  try {
    const parsed = parseArgs(args);
    const [command, sub] = parsed.words;
    if (parsed.flags.has("help") || command === undefined || command === "help") {
      io.out(USAGE);
      return command === undefined && !parsed.flags.has("help") ? 2 : 0;
    }
    const config = await loadConfig(flagString(parsed, "config"));
    if (command === "serve" && parsed.words.length === 1) {
      await serve(config, io);
    } else if (command === "user" && sub === "create") {
      await userCreate(config, parsed, io);
    } else if (command === "user" && sub === "reset-password") {
      await userResetPassword(config, parsed, io);
    } else if (command === "user" && sub === "export") {
      await userExport(config, parsed, io);
    } else if (command === "token" && sub === "create") {
      await tokenCreate(config, parsed, io);
    } else if (command === "media") {
      let lines: string[];
      try {
        lines = await withServer(
          config,
          async (hs) => {
            const out = await runMediaCommand(hs, parsed.words.slice(1), parsed.flags);
            // Everything but the read-only `largest` changes media.
            if (sub !== "largest") {
              await cliAudit(hs, `media.${sub.replaceAll("-", "_")}`, parsed.words[2] ?? "", {
                ...Object.fromEntries(parsed.flags),
                config: undefined,
              });
            }
            return out;
          },
        );
      } catch (err) {
        throw (err as { code?: string }).code === "USAGE"
          ? new UsageError(String((err as Error).message))
          : err;
      }
      for (const line of lines) io.out(line);
    } else if (command === "federation") {
      await federationCommand(config, parsed, io);
    } else if (command === "audit-log") {
      await auditLogCommand(config, parsed, io);
    } else if ((command === "backup" || command === "restore") && parsed.words.length === 2) {
      const run = command === "backup" ? backupCommand : restoreCommand;
      for (const line of await run(config, parsed.words[1])) io.out(line);
    } else {
      throw new UsageError(`unknown command: ${parsed.words.join(" ")}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    if (err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.PermissionDenied) {
      io.err(`error: cannot listen: ${err.message}`);
      return 1;
    }
    if (err instanceof MatrixError || (err instanceof Error && "code" in err)) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
