/**
 * The settings of `[backup]`, `[metrics]` and `[log]` and their embedded defaults, in a module
 * without imports: `config.ts` reads its defaults from here while it is being loaded, and
 * `ops_config.ts` (the reader) imports `config.ts`.
 *
 * @module
 */

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** `[log]`. */
export interface LogConfig {
  /** `format`: `text` (one readable line) or `json` (one object per line). */
  readonly format: "text" | "json";
  /** `level`: the least severe level written. */
  readonly level: LogLevel;
}

/** `[metrics]`: Prometheus metrics. */
export interface MetricsConfig {
  /** `enabled`: collect and serve metrics. */
  readonly enabled: boolean;
  /** `listen`: `host:port` of a separate listener for `/metrics` ("" for none). */
  readonly listen: string;
  /** `token`: serve `/metrics` on the main port to `Authorization: Bearer <token>` ("" for no). */
  readonly token: string;
}

/** A parsed `[backup] schedule`. */
export type BackupSchedule =
  | { readonly kind: "every"; readonly intervalMs: number }
  | { readonly kind: "daily"; readonly minuteOfDay: number };

/** `[backup]`: scheduled backups. */
export interface BackupConfig {
  /** `schedule`, parsed; null when scheduled backups are off. */
  readonly schedule: BackupSchedule | null;
  /** `dir`: where scheduled backups are written. */
  readonly dir: string;
  /** `keep`: how many scheduled backups are kept. */
  readonly keep: number;
}

/** The embedded defaults of these sections (appended to config.ts's). */
export const OPS_DEFAULT_TOML = `
[backup]
schedule = ""                       # "" (off), "hourly", "daily" (03:00 UTC), "daily 02:30", "every 6h"
dir = ""                            # where scheduled backups go (needed with a schedule)
keep = 7                            # scheduled backups kept; older ones are deleted

[metrics]
enabled = false                     # Prometheus metrics
listen = ""                         # e.g. "127.0.0.1:9100": a separate listener serving /metrics
token = ""                          # or /metrics on the main port for "Authorization: Bearer <token>"

[log]
format = "text"                     # "text" or "json" (one object per line)
level = "info"                      # "debug", "info" (also one line per request), "warn", "error"
`;
