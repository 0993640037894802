/**
 * What every Synapse-compatible admin route shares: the server-admin check and the strict
 * readers of its query parameters (offsets, limits, directions, orderings), so a malformed
 * value is 400 M_INVALID_PARAM and never a surprise further in.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { forbidden, invalidParam, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";

/** Middleware after `requireAuth`: 403 M_FORBIDDEN unless the caller is a server admin. */
export function requireAdmin(hs: Homeserver): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = await getUser(hs.kv, c.var.auth.userId);
    if (!user?.admin) throw forbidden("You are not a server admin");
    await next();
  };
}

/**
 * An integer query parameter between `min` and `max`: `fallback` when absent (M_MISSING_PARAM
 * without one), M_INVALID_PARAM for anything but plain decimal digits in range.
 */
export function integerQuery(
  c: Context<AppEnv>,
  name: string,
  range: { min: number; max: number; fallback?: number },
): number {
  const text = c.req.query(name);
  if (text === undefined) {
    if (range.fallback !== undefined) return range.fallback;
    throw missingParam(name);
  }
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw invalidParam(`'${name}' must be an integer from ${range.min} to ${range.max}`);
  }
  return value;
}

/** Most items one page of an admin list holds. */
export const MAX_PAGE = 1000;

/** `from` (an offset, default 0) and `limit` (default `defaultLimit`, at most {@link MAX_PAGE}). */
export function pageQuery(c: Context<AppEnv>, defaultLimit = 100): { from: number; limit: number } {
  return {
    from: integerQuery(c, "from", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    limit: integerQuery(c, "limit", { min: 1, max: MAX_PAGE, fallback: defaultLimit }),
  };
}

/** `dir`: "f" or "b" (`fallback` when absent). */
export function dirQuery(c: Context<AppEnv>, fallback: "f" | "b"): "f" | "b" {
  const dir = c.req.query("dir") ?? fallback;
  if (dir !== "f" && dir !== "b") throw invalidParam("'dir' must be 'f' or 'b'");
  return dir;
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

/** A free-text query parameter of at most `maxLength` characters, or undefined. */
export function textQuery(
  c: Context<AppEnv>,
  name: string,
  maxLength = 255,
): string | undefined {
  const value = c.req.query(name);
  if (value === undefined) return undefined;
  if (value.length > maxLength) {
    throw invalidParam(`'${name}' must be at most ${maxLength} characters`);
  }
  return value;
}

/** `true`/`false` query flag, or undefined when absent. */
export function booleanQuery(c: Context<AppEnv>, name: string): boolean | undefined {
  const value = c.req.query(name);
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") {
    throw invalidParam(`'${name}' must be 'true' or 'false'`);
  }
  return value === "true";
}

/**
 * One page of a sorted list, with Synapse's pagination fields: `next_token` when more follow
 * (an offset, as Synapse's lists give it).
 */
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

/** Compares two values for sorting: numbers numerically, null/undefined first, else as text. */
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
