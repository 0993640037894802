/**
 * The rules of `m.room.retention` (MSC1763 as Synapse implements it): validating a local
 * event's content, reading a policy, and the effective max_lifetime under the server's bounds.
 * Pure, so the pipeline's policy checks can use it without loading the purge code.
 *
 * @module
 */

import { badJson } from "../errors.ts";
import { MAX_LIFETIME_MS, type RetentionConfig } from "./retention_config.ts";

/** The state event type of a room's retention policy. */
export const RETENTION_EVENT_TYPE = "m.room.retention";

/** A room's policy; null fields are absent. */
export interface RetentionPolicy {
  minLifetimeMs: number | null;
  maxLifetimeMs: number | null;
}

/** Whether a value is a lifetime a policy may hold. */
function isLifetime(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 &&
    value <= MAX_LIFETIME_MS;
}

/**
 * Checks the content of a local `m.room.retention` event (Synapse checks that both fields are
 * integers; gemeng also wants them non-negative and min <= max).
 *
 * @throws {MatrixError} 400 M_BAD_JSON naming the field
 */
export function validateRetentionContent(content: Record<string, unknown>): void {
  for (const field of ["min_lifetime", "max_lifetime"]) {
    if (content[field] !== undefined && !isLifetime(content[field])) {
      throw badJson(`'${field}' must be a whole number of milliseconds from 0 to 2^53-1`);
    }
  }
  const { min_lifetime: min, max_lifetime: max } = content;
  if (isLifetime(min) && isLifetime(max) && min > max) {
    throw badJson("'min_lifetime' must not exceed 'max_lifetime'");
  }
}

/** A policy from an event's content (invalid fields, e.g. from another server, are ignored). */
export function policyOf(content: Record<string, unknown> | undefined): RetentionPolicy {
  return {
    minLifetimeMs: isLifetime(content?.min_lifetime) ? content.min_lifetime : null,
    maxLifetimeMs: isLifetime(content?.max_lifetime) ? content.max_lifetime : null,
  };
}

/** The max_lifetime the job applies to a room with `policy` (null: nothing expires). */
export function effectiveMaxLifetime(
  config: RetentionConfig,
  policy: RetentionPolicy | null,
): number | null {
  let max = policy?.maxLifetimeMs ?? config.defaultMaxLifetimeMs;
  // No policy and no default: nothing expires (Synapse's purge jobs skip such rooms too).
  if (max === null) return null;
  if (config.allowedLifetimeMinMs !== null) max = Math.max(max, config.allowedLifetimeMinMs);
  if (config.allowedLifetimeMaxMs !== null) max = Math.min(max, config.allowedLifetimeMaxMs);
  return max;
}
