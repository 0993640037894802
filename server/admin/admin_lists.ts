/**
 * Lists in the admin API: Synapse's offset pagination (`from`, `limit`, `next_token`), sort
 * orders chosen by name, and three-state filters; added to the guard and query readers of
 * `admin_common.ts` by the room, media and report modules.
 *
 * @module
 */

import type { Context } from "hono";
import { invalidParam } from "../errors.ts";
import type { AppEnv } from "../request_context.ts";
import { integerQuery } from "./admin_common.ts";

/** Most items one page of an admin list holds. */
export const MAX_PAGE = 1000;

/** `from` (an offset, default 0) and `limit` (default `defaultLimit`, at most {@link MAX_PAGE}). */
export function pageQuery(c: Context<AppEnv>, defaultLimit = 100): { from: number; limit: number } {
  return {
    from: integerQuery(c, "from", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    limit: integerQuery(c, "limit", { min: 1, max: MAX_PAGE, fallback: defaultLimit }),
  };
}

/** One of `allowed` (`fallback` when absent). */
export function choiceQuery<T extends string>(
  c: Context<AppEnv>,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = c.req.query(name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidParam(`'${name}' must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/** A `true`/`false` filter that is off (undefined) when absent. */
export function filterQuery(c: Context<AppEnv>, name: string): boolean | undefined {
  const value = c.req.query(name);
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") {
    throw invalidParam(`'${name}' must be true or false`);
  }
  return value === "true";
}

/** One page of a sorted list, with `next_token` (the next offset) when more follow. */
export function pageOf<T>(
  items: readonly T[],
  page: { from: number; limit: number },
): { items: T[]; total: number; next_token?: number } {
  const slice = items.slice(page.from, page.from + page.limit);
  const end = page.from + slice.length;
  return {
    items: slice,
    total: items.length,
    ...(end < items.length ? { next_token: end } : {}),
  };
}

/** Compares two values for sorting: null/undefined first, numbers numerically, else as text. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return a ? 1 : -1;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
