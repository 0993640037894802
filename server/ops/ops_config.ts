/**
 * The operations sections of the config: `[backup]`, `[metrics]` and `[log]`, read by
 * `config.ts` with its table reader; the settings and defaults are in `ops_settings.ts`.
 *
 * @module
 */

import { ConfigError, splitHostPort, type TableReader } from "../config.ts";
import {
  type BackupConfig,
  type BackupSchedule,
  LOG_LEVELS,
  type LogConfig,
  type LogLevel,
  type MetricsConfig,
} from "./ops_settings.ts";

export type { BackupConfig, BackupSchedule, LogConfig, LogLevel, MetricsConfig };
export { LOG_LEVELS };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a backup schedule: `hourly`, `daily`, `daily HH:MM` (UTC) or `every N` with a unit
 * `s`, `m`, `h` or `d`.
 *
 * @returns null for "" (off); undefined when the text is not a schedule
 */
export function parseBackupSchedule(text: string): BackupSchedule | null | undefined {
  const value = text.trim().toLowerCase();
  if (value === "") return null;
  if (value === "hourly") return { kind: "every", intervalMs: UNIT_MS.h };
  const daily = /^daily(?:\s+(\d{1,2}):(\d{2}))?$/.exec(value);
  if (daily) {
    const hour = daily[1] === undefined ? 3 : Number(daily[1]);
    const minute = daily[2] === undefined ? 0 : Number(daily[2]);
    if (hour > 23 || minute > 59) return undefined;
    return { kind: "daily", minuteOfDay: hour * 60 + minute };
  }
  const every = /^every\s+(\d{1,6})\s*([smhd])$/.exec(value);
  if (every && Number(every[1]) > 0) {
    return { kind: "every", intervalMs: Number(every[1]) * UNIT_MS[every[2]] };
  }
  return undefined;
}

/** Reads `[backup]`, `[metrics]` and `[log]`. */
export function readOpsConfig(
  root: TableReader,
): { backup: BackupConfig; metrics: MetricsConfig; log: LogConfig } {
  const backupTable = root.table("backup");
  const scheduleText = backupTable.string("schedule", "");
  const schedule = parseBackupSchedule(scheduleText);
  if (schedule === undefined) {
    throw new ConfigError(
      backupTable.key("schedule"),
      `"${scheduleText}" is not a schedule: use "hourly", "daily", "daily 02:30" or "every 6h"`,
    );
  }
  const dir = backupTable.string("dir", "");
  if (schedule !== null && dir.trim() === "") {
    throw new ConfigError(backupTable.key("dir"), "scheduled backups need a directory");
  }
  const keep = backupTable.number("keep", 7, { min: 1, max: 10_000, int: true });
  backupTable.finish();

  const metricsTable = root.table("metrics");
  const enabled = metricsTable.boolean("enabled", false);
  const listen = metricsTable.string("listen", "");
  const parsed = listen === "" ? null : splitHostPort(listen);
  if (listen !== "" && (parsed === null || parsed.port === null)) {
    throw new ConfigError(metricsTable.key("listen"), `"${listen}" is not of the form host:port`);
  }
  const token = metricsTable.string("token", "");
  if (token !== "" && token.length < 16) {
    throw new ConfigError(metricsTable.key("token"), "use at least 16 characters");
  }
  if (enabled && listen === "" && token === "") {
    throw new ConfigError(
      metricsTable.key("enabled"),
      "metrics need a listen address or a token (they are not served to everyone)",
    );
  }
  metricsTable.finish();

  const logTable = root.table("log");
  const format = logTable.string("format", "text");
  if (format !== "text" && format !== "json") {
    throw new ConfigError(logTable.key("format"), 'expected "text" or "json"');
  }
  const level = logTable.string("level", "info");
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(logTable.key("level"), `expected one of ${LOG_LEVELS.join(", ")}`);
  }
  logTable.finish();

  return {
    backup: { schedule, dir, keep },
    metrics: { enabled, listen, token },
    log: { format, level: level as LogLevel },
  };
}
