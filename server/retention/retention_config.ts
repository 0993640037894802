/**
 * `[retention]`: message retention (MSC1763, as Synapse implements it). Read by `config.ts`
 * with its table reader and documented in its embedded defaults.
 *
 * @module
 */

import { ConfigError, type TableReader } from "../config.ts";

/** `[retention]`. Lifetimes are milliseconds; null means "none". */
export interface RetentionConfig {
  /** `enabled`: run the purge job and honour `m.room.retention`. */
  readonly enabled: boolean;
  /** `default_min_lifetime`: for rooms without a policy (informational, as in Synapse). */
  readonly defaultMinLifetimeMs: number | null;
  /** `default_max_lifetime`: rooms without a policy lose messages older than this. */
  readonly defaultMaxLifetimeMs: number | null;
  /** `allowed_lifetime_min`: a room's max_lifetime below this is raised to it by the job. */
  readonly allowedLifetimeMinMs: number | null;
  /** `allowed_lifetime_max`: a room's max_lifetime above this (or none) is lowered to it. */
  readonly allowedLifetimeMaxMs: number | null;
  /** `purge_interval`: how often the purge job runs. */
  readonly purgeIntervalMs: number;
}

/** The embedded defaults of the section (appended to config.ts's). */
export const RETENTION_DEFAULT_TOML = `
[retention]
enabled = false                     # purge messages older than the room's max_lifetime
default_min_lifetime = 0            # ms; 0 = none (informational, sent to no one, as Synapse)
default_max_lifetime = 0            # ms; 0 = keep messages of rooms without m.room.retention
allowed_lifetime_min = 0            # ms; a room's max_lifetime is raised to at least this
allowed_lifetime_max = 0            # ms; and lowered to at most this (0 = no bound)
purge_interval = 86400000           # ms between runs of the purge job (default one day)
`;

/** The largest lifetime accepted anywhere (about 285,000 years: a safe integer). */
export const MAX_LIFETIME_MS = 2 ** 53 - 1;

/** Reads `[retention]`. */
export function readRetentionConfig(root: TableReader): RetentionConfig {
  const table = root.table("retention");
  const ms = { min: 0, max: MAX_LIFETIME_MS, int: true };
  const orNull = (value: number) => value === 0 ? null : value;
  const enabled = table.boolean("enabled", false);
  const defaultMinLifetimeMs = orNull(table.number("default_min_lifetime", 0, ms));
  const defaultMaxLifetimeMs = orNull(table.number("default_max_lifetime", 0, ms));
  const allowedLifetimeMinMs = orNull(table.number("allowed_lifetime_min", 0, ms));
  const allowedLifetimeMaxMs = orNull(table.number("allowed_lifetime_max", 0, ms));
  const purgeIntervalMs = table.number("purge_interval", 86_400_000, {
    min: 1000,
    max: 2 ** 40,
    int: true,
  });
  if (
    allowedLifetimeMinMs !== null && allowedLifetimeMaxMs !== null &&
    allowedLifetimeMinMs > allowedLifetimeMaxMs
  ) {
    throw new ConfigError(
      table.key("allowed_lifetime_min"),
      "must not exceed allowed_lifetime_max",
    );
  }
  if (
    defaultMinLifetimeMs !== null && defaultMaxLifetimeMs !== null &&
    defaultMinLifetimeMs > defaultMaxLifetimeMs
  ) {
    throw new ConfigError(
      table.key("default_min_lifetime"),
      "must not exceed default_max_lifetime",
    );
  }
  table.finish();
  return {
    enabled,
    defaultMinLifetimeMs,
    defaultMaxLifetimeMs,
    allowedLifetimeMinMs,
    allowedLifetimeMaxMs,
    purgeIntervalMs,
  };
}
