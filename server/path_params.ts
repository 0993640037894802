/**
 * Path parameters, checked in one place before any handler runs. Every `:name` in a route's
 * path must have a rule here: {@link paramCheckers} is installed by the app for each route
 * that has parameters, and a route whose parameter has no rule fails at start-up, so a
 * handler cannot forget to validate what it reads with `c.req.param()`.
 *
 * Only the APIs (`/_matrix/...`, `/_synapse/...`) are checked here; the web app's own paths
 * (`server/web_assets.ts`) serve files and check their names against the asset table.
 *
 * The rules follow the spec's identifier grammar (appendices) and its size limits: user IDs,
 * room IDs, event IDs and aliases are at most 255 bytes, as are event types and state keys
 * (the PDU limits). Opaque names chosen by clients (transaction IDs, device IDs, account data
 * types, tags...) get the same 255-byte bound, which keeps every storage key they end up in far
 * below Deno KV's 2 KiB key limit.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import {
  isValidRoomAlias,
  isValidRoomId,
  isValidServerName,
  isValidUserId,
  MAX_IDENTIFIER_BYTES,
  utf8ByteLength,
} from "../federation/identifiers.ts";
import { invalidParam } from "./errors.ts";
import { isEventIdShaped } from "./http_util.ts";
import type { AppEnv } from "./request_context.ts";

/** A check of one decoded path parameter: an error message, or null when it is fine. */
type ParamRule = (value: string) => string | null;

/** Longest opaque name (transaction ID, tag, account data type...) in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

/** A non-empty string of at most {@link MAX_NAME_BYTES} bytes without control characters. */
function opaqueName(what: string, options: { allowEmpty?: boolean } = {}): ParamRule {
  return (value) => {
    if (value === "" && !options.allowEmpty) return `${what} must not be empty`;
    const bytes = utf8ByteLength(value);
    if (bytes < 0) return `${what} is not valid Unicode`;
    if (bytes > MAX_NAME_BYTES) return `${what} must be at most ${MAX_NAME_BYTES} bytes`;
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) return `${what} must not hold control characters`;
    return null;
  };
}

function grammar(what: string, valid: (value: string) => boolean): ParamRule {
  return (value) =>
    valid(value) ? null : `'${abbreviate(value)}' is not a valid ${what} (at most ` +
      `${MAX_IDENTIFIER_BYTES} bytes, see the spec's identifier grammar)`;
}

const userId = grammar("user ID", (v) => isValidUserId(v, { historical: true }));
const roomId = grammar("room ID", (v) => isValidRoomId(v));
const roomAlias = grammar("room alias", isValidRoomAlias);
const eventId = grammar("event ID", isEventIdShaped);

/**
 * Media IDs are `[A-Za-z0-9_-]+` on this server, but other servers' media IDs are opaque here:
 * one that names nothing is a 404, as on other servers (the media store checks the grammar).
 */
const mediaId = opaqueName("The media ID");

/**
 * The rule of every path parameter name used by a route. Names are shared across routes, so a
 * name means the same kind of value wherever it appears.
 */
export const PARAM_RULES: Readonly<Record<string, ParamRule>> = {
  userId,
  roomId,
  roomAlias,
  roomIdOrAlias: (value) => value.startsWith("#") ? roomAlias(value) : roomId(value),
  eventId,
  serverName: grammar("server name", isValidServerName),
  mediaId,
  eventType: opaqueName("The event type"),
  // State keys may be empty (`/state/{type}/` and `/state/{type}`) and hold any text.
  stateKey: opaqueName("The state key", { allowEmpty: true }),
  txnId: opaqueName("The transaction ID"),
  deviceId: opaqueName("The device ID"),
  type: opaqueName("The account data type"),
  tag: opaqueName("The tag"),
  filterId: opaqueName("The filter ID"),
  keyName: opaqueName("The profile field name"),
  receiptType: opaqueName("The receipt type"),
  relType: opaqueName("The relation type"),
  kind: opaqueName("The push rule kind"),
  ruleId: opaqueName("The push rule ID"),
  version: opaqueName("The backup version"),
  sessionId: opaqueName("The session ID"),
  fileName: opaqueName("The file name"),
  keyId: opaqueName("The key ID"),
  appserviceId: opaqueName("The application service ID"),
  networkId: opaqueName("The network ID"),
  protocol: opaqueName("The protocol"),
  registrationToken: opaqueName("The registration token"),
  reportId: opaqueName("The report ID"),
  deleteId: opaqueName("The delete ID"),
  idpId: opaqueName("The identity provider ID"),
  purgeId: opaqueName("The purge ID"),
};

/** Shortens a value for an error message (a 70,000-character ID is not worth echoing). */
function abbreviate(value: string): string {
  return value.length <= 64 ? value : `${value.slice(0, 48)}...(${value.length} characters)`;
}

/** The parameter names of a Hono route path (`:name` or `:name{regex}` segments). */
export function paramNamesOf(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]);
}

/**
 * A middleware that checks the named path parameters of its route with {@link PARAM_RULES}
 * and answers 400 M_INVALID_PARAM for the first bad one.
 *
 * @throws {Error} at start-up when a name has no rule
 */
export function paramCheckers(path: string): MiddlewareHandler<AppEnv> {
  const checks = paramChecks(path);
  return async (c, next) => {
    for (const { name, rule } of checks) {
      const problem = rule(c.req.param(name) ?? "");
      if (problem !== null) throw invalidParam(problem);
    }
    await next();
  };
}

/** One parameter of a route and its rule. */
export interface ParamCheck {
  name: string;
  rule: ParamRule;
}

/**
 * The checks of a route's path parameters, in path order (what {@link paramCheckers} runs).
 *
 * @throws {Error} at start-up when a name has no rule
 */
export function paramChecks(path: string): ParamCheck[] {
  return paramNamesOf(path).map((name) => {
    const rule = PARAM_RULES[name];
    if (!rule) throw new Error(`route ${path}: path parameter '${name}' has no rule`);
    return { name, rule };
  });
}
