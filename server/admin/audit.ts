/**
 * The admin audit log: one record per admin action (who, what, on what, when, from where),
 * kept in KV under `["admin_audit", id]`, newest last in key order.
 *
 * Admin modules call {@link auditAdminAction} after an action succeeded (a refused or failed
 * request changed nothing, so it is not an action); the command line records its own actions
 * with {@link appendAuditEntry} and `via: "cli"`. Read-only admin requests (lists, lookups) are
 * not recorded, except exports of the audit log itself.
 *
 * - `GET /_synapse/admin/v1/gemeng/audit_log?from=ID&limit=N&dir=b|f&user_id=&action=&target=`
 *   `&since_ts=&until_ts=`: a page of entries, newest first by default; `next_token` continues.
 * - `GET /_synapse/admin/v1/gemeng/audit_log/export?since_ts=&until_ts=`: every entry in time
 *   order as one JSON array, streamed as an attachment.
 * - `main.ts audit-log export FILE` writes the same JSON array from the KV file.
 *
 * Details never hold secrets: callers record which fields changed, not passwords or tokens.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { randomString } from "../../crypto/tokens.ts";
import { invalidParam } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp } from "../request_context.ts";
import { adminOnly, dirQuery, integerQuery, textQuery } from "./admin_common.ts";

/** One recorded admin action. */
export interface AuditEntry {
  /** Sortable ID: the time, a per-process sequence and a random tail. */
  id: string;
  /** When it happened (ms since the epoch). */
  ts: number;
  /** The admin's user ID, or `cli` for the command line. */
  actor: string;
  /** What was done, as `area.verb` (e.g. `user.deactivate`, `registration_token.create`). */
  action: string;
  /** What it was done to (a user ID, room ID, token...), or null. */
  target: string | null;
  /** The client's address, or null (command line). */
  ip: string | null;
  /** The client's User-Agent (shortened), or null. */
  userAgent: string | null;
  /** Over the HTTP admin API or the command line. */
  via: "api" | "cli";
  /** Small, secret-free facts about the action (which fields changed, counts...). */
  details: Record<string, unknown>;
}

/** Largest JSON size of an entry's details; bigger ones are replaced by a note. */
const MAX_DETAILS_BYTES = 4096;
/** Most entries one page holds. */
const MAX_LIMIT = 1000;
/** Most keys one list request reads while filtering, so a rare filter cannot scan forever. */
const SCAN_LIMIT = 10_000;
const ID_PATTERN = /^\d{15}-\d{6}-[A-Za-z0-9]{6}$/;

let sequence = 0;

function newId(ts: number): string {
  sequence = (sequence + 1) % 1_000_000;
  return `${String(ts).padStart(15, "0")}-${String(sequence).padStart(6, "0")}-${randomString(6)}`;
}

function auditKey(id: string): Deno.KvKey {
  return ["admin_audit", id];
}

function boundedDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!details) return {};
  const size = new TextEncoder().encode(JSON.stringify(details)).length;
  return size <= MAX_DETAILS_BYTES ? details : { truncated: true, bytes: size };
}

/** Stores one entry and returns it. */
export async function appendAuditEntry(
  kv: Deno.Kv,
  entry: Omit<AuditEntry, "id" | "ts" | "details"> & {
    details?: Record<string, unknown>;
    ts?: number;
  },
): Promise<AuditEntry> {
  const ts = entry.ts ?? Date.now();
  const stored: AuditEntry = {
    id: newId(ts),
    ts,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    ip: entry.ip,
    userAgent: entry.userAgent?.slice(0, 200) ?? null,
    via: entry.via,
    details: boundedDetails(entry.details),
  };
  await kv.set(auditKey(stored.id), stored);
  return stored;
}

/**
 * Records an admin action of the request's caller (call it once the action succeeded).
 *
 * @param action `area.verb`, e.g. `user.deactivate`
 * @param options what it was done to, and small secret-free details
 */
export async function auditAdminAction(
  hs: Homeserver,
  c: Context<AppEnv>,
  action: string,
  options: { target?: string | null; details?: Record<string, unknown> } = {},
): Promise<AuditEntry> {
  const ip = clientIp(c);
  return await appendAuditEntry(hs.kv, {
    actor: c.var.auth.userId,
    action,
    target: options.target ?? null,
    ip: ip === "unknown" ? null : ip,
    userAgent: c.req.header("user-agent") ?? null,
    via: "api",
    details: options.details,
  });
}

/** An entry as the admin API and the export show it. */
export function auditEntryJson(entry: AuditEntry): Record<string, unknown> {
  return {
    id: entry.id,
    ts: entry.ts,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    ip: entry.ip,
    user_agent: entry.userAgent,
    via: entry.via,
    details: entry.details,
  };
}

/** Filters of a list or an export. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  sinceTs?: number;
  untilTs?: number;
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  return (filter.actor === undefined || entry.actor === filter.actor) &&
    (filter.action === undefined || entry.action === filter.action ||
      entry.action.startsWith(`${filter.action}.`)) &&
    (filter.target === undefined || entry.target === filter.target) &&
    (filter.sinceTs === undefined || entry.ts >= filter.sinceTs) &&
    (filter.untilTs === undefined || entry.ts < filter.untilTs);
}

/**
 * The KV selector of IDs from `lower` (inclusive) to `upper` (exclusive). IDs start with the
 * zero-padded time, so a time bound is an ID bound, and every ID sorts below "z".
 */
function rangeSelector(filter: AuditFilter, bounds: { lower?: string; upper?: string } = {}) {
  const pad = (ts: number) => String(ts).padStart(15, "0");
  let lower = filter.sinceTs !== undefined ? pad(filter.sinceTs) : "";
  let upper = filter.untilTs !== undefined ? pad(filter.untilTs) : "z";
  if (bounds.lower !== undefined && bounds.lower > lower) lower = bounds.lower;
  if (bounds.upper !== undefined && bounds.upper < upper) upper = bounds.upper;
  // An empty range (KV refuses a start above the end).
  if (upper < lower) upper = lower;
  return { start: auditKey(lower), end: auditKey(upper) };
}

/** Every matching entry in time order (for exports). */
export async function* auditEntries(
  kv: Deno.Kv,
  filter: AuditFilter = {},
): AsyncGenerator<AuditEntry> {
  for await (const item of kv.list<AuditEntry>(rangeSelector(filter), { batchSize: 500 })) {
    if (matches(item.value, filter)) yield item.value;
  }
}

/** One page of the log: entries after `from` (exclusive) in the direction `dir`. */
export async function auditPage(
  kv: Deno.Kv,
  options: { from?: string; limit: number; dir: "f" | "b"; filter: AuditFilter },
): Promise<{ entries: AuditEntry[]; nextToken: string | null }> {
  // `from` itself was the last entry of the previous page.
  const selector = options.from === undefined
    ? rangeSelector(options.filter)
    : options.dir === "b"
    ? rangeSelector(options.filter, { upper: options.from })
    : rangeSelector(options.filter, { lower: `${options.from}\u0000` });
  const entries: AuditEntry[] = [];
  let scanned = 0;
  let lastId: string | null = null;
  const iter = kv.list<AuditEntry>(selector, {
    reverse: options.dir === "b",
    batchSize: Math.min(500, options.limit + 1),
  });
  for await (const item of iter) {
    if (entries.length === options.limit) return { entries, nextToken: lastId };
    scanned++;
    lastId = item.value.id;
    if (matches(item.value, options.filter)) entries.push(item.value);
    // A rare filter: hand back where the scan stopped, and the client goes on from there.
    if (scanned >= SCAN_LIMIT && entries.length < options.limit) {
      return { entries, nextToken: lastId };
    }
  }
  return { entries, nextToken: null };
}

function filterQuery(c: Context<AppEnv>): AuditFilter {
  const max = Number.MAX_SAFE_INTEGER;
  const since = c.req.query("since_ts");
  const until = c.req.query("until_ts");
  return {
    actor: textQuery(c, "user_id", 255),
    action: textQuery(c, "action", 100),
    target: textQuery(c, "target", 255),
    sinceTs: since === undefined ? undefined : integerQuery(c, "since_ts", { min: 0, max }),
    untilTs: until === undefined ? undefined : integerQuery(c, "until_ts", { min: 0, max }),
  };
}

/** Routes of the audit log. */
export function auditRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const base = "/_synapse/admin/v1/gemeng/audit_log";

  app.get(base, ...adminOnly(hs), async (c) => {
    const limit = integerQuery(c, "limit", { min: 1, max: MAX_LIMIT, fallback: 100 });
    const dir = dirQuery(c, "b");
    const from = c.req.query("from");
    if (from !== undefined && !ID_PATTERN.test(from)) {
      throw invalidParam("'from' must be a next_token of an earlier page");
    }
    const page = await auditPage(hs.kv, { from, limit, dir, filter: filterQuery(c) });
    return c.json({
      entries: page.entries.map(auditEntryJson),
      ...(page.nextToken !== null ? { next_token: page.nextToken } : {}),
    });
  });

  app.get(`${base}/export`, ...adminOnly(hs), async (c) => {
    const filter = filterQuery(c);
    await auditAdminAction(hs, c, "audit_log.export", {
      details: { since_ts: filter.sinceTs ?? null, until_ts: filter.untilTs ?? null },
    });
    const name = `gemeng-audit-${new Date().toISOString().slice(0, 10)}.json`;
    return new Response(exportStream(hs.kv, filter), {
      headers: {
        "Content-Type": "application/json",
        "Content-Disposition": `attachment; filename="${name}"`,
      },
    });
  });

  return app;
}

/** The export: a JSON array of entries in time order, one entry per line. */
export function exportStream(kv: Deno.Kv, filter: AuditFilter = {}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const entries = auditEntries(kv, filter);
  let first = true;
  let done = false;
  return new ReadableStream({
    async pull(controller) {
      if (done) return;
      const next = await entries.next();
      if (next.done) {
        controller.enqueue(encoder.encode(first ? "[]\n" : "\n]\n"));
        done = true;
        controller.close();
        return;
      }
      const line = JSON.stringify(auditEntryJson(next.value));
      controller.enqueue(encoder.encode(`${first ? "[\n" : ",\n"}${line}`));
      first = false;
    },
    async cancel() {
      await entries.return(undefined);
    },
  });
}

/** Usage lines of the `audit-log` command (part of `server/cli.ts`'s usage text). */
export const AUDIT_CLI_USAGE =
  `  audit-log export FILE [--since DATE]    write the admin audit log as a JSON array ("-" for
                                          standard output)
`;

/**
 * Runs `audit-log export FILE` on a server's KV; `words` are the positional arguments after
 * `audit-log`. Returns how many entries were written.
 *
 * @throws {Error} with `code` USAGE for a malformed command line
 */
export async function runAuditCommand(
  kv: Deno.Kv,
  words: readonly string[],
  options: { since?: string; write: (chunk: Uint8Array) => Promise<void> },
): Promise<number> {
  const usage = (message: string) => Object.assign(new Error(message), { code: "USAGE" });
  if (words[0] !== "export" || words.length !== 2) {
    throw usage(`unknown audit-log command: ${words.join(" ")}`);
  }
  let sinceTs: number | undefined;
  if (options.since !== undefined) {
    sinceTs = Date.parse(options.since);
    if (Number.isNaN(sinceTs)) throw usage("--since must be a date, e.g. 2026-01-31");
  }
  let count = 0;
  const encoder = new TextEncoder();
  await options.write(encoder.encode("["));
  for await (const entry of auditEntries(kv, { sinceTs })) {
    const line = JSON.stringify(auditEntryJson(entry));
    await options.write(encoder.encode(`${count === 0 ? "\n" : ",\n"}${line}`));
    count++;
  }
  await options.write(encoder.encode(count === 0 ? "]\n" : "\n]\n"));
  return count;
}
