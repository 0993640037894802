/**
 * What every admin API module needs: the server-admin guard and strict query parameters, so
 * each endpoint answers bad input with M_INVALID_PARAM (never a 500) in the same words.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { forbidden, invalidParam, missingParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";

/** Middleware: the caller must be a server admin (403 M_FORBIDDEN otherwise). */
export function requireServerAdmin(hs: Homeserver): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = await getUser(hs.kv, c.var.auth.userId);
    if (!user?.admin || user.deactivated) throw forbidden("You are not a server admin");
    await next();
  };
}

/** The two middlewares of an admin route: a valid access token of a server admin. */
export function adminOnly(
  hs: Homeserver,
): readonly [MiddlewareHandler<AppEnv>, MiddlewareHandler<AppEnv>] {
  return [requireAuth(hs), requireServerAdmin(hs)] as const;
}

/**
 * An integer query parameter from `min` to `max`: `fallback` when absent (M_MISSING_PARAM
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

/** The `dir` query parameter: `f` (forwards) or `b` (backwards), `fallback` when absent. */
export function dirQuery(c: Context<AppEnv>, fallback: "f" | "b"): "f" | "b" {
  const dir = c.req.query("dir") ?? fallback;
  if (dir !== "f" && dir !== "b") throw invalidParam("'dir' must be f or b");
  return dir;
}

/**
 * A boolean query parameter as Synapse spells it (`true` / `false`); `fallback` when absent.
 */
export function booleanQuery(c: Context<AppEnv>, name: string, fallback: boolean): boolean {
  const text = c.req.query(name);
  if (text === undefined) return fallback;
  if (text === "true") return true;
  if (text === "false") return false;
  throw invalidParam(`'${name}' must be true or false`);
}

/** A free-text query parameter of at most `maxLength` characters, or undefined when absent. */
export function textQuery(
  c: Context<AppEnv>,
  name: string,
  maxLength: number,
): string | undefined {
  const text = c.req.query(name);
  if (text === undefined) return undefined;
  if (text.length > maxLength) {
    throw invalidParam(`'${name}' must be at most ${maxLength} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw invalidParam(`'${name}' must not hold control characters`);
  }
  return text;
}
