/**
 * Federation administration: the outbound queue's destinations, over Synapse's admin API
 * shapes (server admins only), and the `federation` command of the CLI.
 *
 * - `GET /_synapse/admin/v1/federation/destinations?from=N&limit=N&order_by=F&dir=f|b&destination=S`:
 *   every destination with a delivery record or queued PDUs. Synapse's fields
 *   (`destination`, `retry_last_ts`, `retry_interval`, `failure_ts`,
 *   `last_successful_stream_ordering`) plus gemeng's: `last_success_ts`, `backoff_until_ts`,
 *   `failures`, `queue_length`, `last_error`, `in_flight_txn_id` and delivery counters.
 * - `GET /_synapse/admin/v1/federation/destinations/{destination}`: one of them.
 * - `POST /_synapse/admin/v1/federation/destinations/{destination}/reset_connection`: ends
 *   the destination's backoff and tries it at once.
 *
 * The CLI reads and writes KV only ({@link runFederationCommand}), so it works beside a
 * running server: `federation retry` clears the stored backoff, which the server's sender sees
 * at its next periodic sweep.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { isValidServerName } from "../../federation/identifiers.ts";
import { forbidden, invalidParam, notFound } from "../errors.ts";
import { clearBackoff, type DestinationStatus, outboxStatus } from "../federation/outbox.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";

/** Queued items counted per destination at most (the count says when it is capped). */
const QUEUE_COUNT_LIMIT = 10_000;
/** Most destinations one page holds. */
const MAX_LIMIT = 1000;

/** Sort orders of the destination list (Synapse's, and two of gemeng's). */
const ORDERS: Record<string, (d: DestinationStatus) => number | string> = {
  destination: (d) => d.destination,
  retry_last_ts: (d) => retryLastTs(d),
  retry_interval: (d) => retryInterval(d),
  failure_ts: (d) => d.downSinceTs ?? 0,
  last_successful_stream_ordering: () => 0,
  queue_length: (d) => d.queued,
  failures: (d) => d.failures,
};

/** Synapse's `retry_last_ts`: the last failed attempt of the current run of failures, or 0. */
function retryLastTs(d: DestinationStatus): number {
  return d.failures > 0 ? d.lastAttemptTs ?? 0 : 0;
}

/** Synapse's `retry_interval`: how long after the last attempt the next one may go, or 0. */
function retryInterval(d: DestinationStatus): number {
  if (d.failures === 0 || d.backoffUntil === 0) return 0;
  return Math.max(0, d.backoffUntil - (d.lastAttemptTs ?? d.backoffUntil));
}

/** One destination as the admin API shows it. */
export function destinationJson(d: DestinationStatus): Record<string, unknown> {
  return {
    destination: d.destination,
    retry_last_ts: retryLastTs(d),
    retry_interval: retryInterval(d),
    failure_ts: d.downSinceTs,
    // Synapse's catch-up marker; gemeng's queue is per destination and needs none.
    last_successful_stream_ordering: null,
    last_success_ts: d.lastSuccessTs,
    last_attempt_ts: d.lastAttemptTs,
    backoff_until_ts: d.backoffUntil,
    failures: d.failures,
    queue_length: d.queued,
    queue_length_capped: d.queuedCapped,
    last_error: d.lastError,
    in_flight_txn_id: d.inFlightTxnId,
    delivered: d.delivered,
    refused: d.refused,
    last_refusal: d.lastRefusal,
    dropped: d.dropped,
  };
}

function requireAdmin(hs: Homeserver) {
  return async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const user = await getUser(hs.kv, c.var.auth.userId);
    if (!user?.admin) throw forbidden("You are not a server admin");
    await next();
  };
}

function integerQuery(c: Context<AppEnv>, name: string, range: { max: number; fallback: number }) {
  const text = c.req.query(name);
  if (text === undefined) return range.fallback;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= range.max)) {
    throw invalidParam(`'${name}' must be an integer from 0 to ${range.max}`);
  }
  return value;
}

async function findDestination(hs: Homeserver, destination: string) {
  const all = await outboxStatus(hs.kv, { countLimit: QUEUE_COUNT_LIMIT });
  return all.find((d) => d.destination === destination) ?? null;
}

/** Routes of federation administration. */
export function federationAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = [requireAuth(hs), requireAdmin(hs)] as const;
  const base = "/_synapse/admin/v1/federation/destinations";

  app.get(base, ...admin, async (c) => {
    const from = integerQuery(c, "from", { max: Number.MAX_SAFE_INTEGER, fallback: 0 });
    const limit = integerQuery(c, "limit", { max: MAX_LIMIT, fallback: 100 });
    const orderBy = c.req.query("order_by") ?? "destination";
    const order = Object.hasOwn(ORDERS, orderBy) ? ORDERS[orderBy] : undefined;
    if (!order) {
      throw invalidParam(`'order_by' must be one of ${Object.keys(ORDERS).join(", ")}`);
    }
    const dir = c.req.query("dir") ?? "f";
    if (dir !== "f" && dir !== "b") throw invalidParam("'dir' must be f or b");
    const filter = c.req.query("destination");
    if (filter !== undefined && filter.length > 255) {
      throw invalidParam("'destination' must be at most 255 characters");
    }
    let all = await outboxStatus(hs.kv, { countLimit: QUEUE_COUNT_LIMIT });
    if (filter) all = all.filter((d) => d.destination.includes(filter));
    // Ties keep the name order outboxStatus gives.
    all.sort((a, b) => {
      const x = order(a), y = order(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    if (dir === "b") all.reverse();
    const page = all.slice(from, from + limit);
    return c.json({
      destinations: page.map(destinationJson),
      total: all.length,
      ...(from + limit < all.length ? { next_token: String(from + limit) } : {}),
    });
  });

  app.get(`${base}/:serverName`, ...admin, async (c) => {
    const found = await findDestination(hs, c.req.param("serverName"));
    if (!found) throw notFound("No delivery record for this destination");
    return c.json(destinationJson(found));
  });

  app.post(`${base}/:serverName/reset_connection`, ...admin, async (c) => {
    const destination = c.req.param("serverName");
    if (destination === hs.config.serverName) {
      throw invalidParam("This server does not send to itself");
    }
    const found = await findDestination(hs, destination);
    if (!found) throw notFound("No delivery record for this destination");
    await clearBackoff(hs.kv, destination);
    hs.sender.retryNow(destination);
    return c.json({});
  });

  return app;
}

/** Usage lines of the `federation` command (part of `server/cli.ts`'s usage text). */
export const FEDERATION_CLI_USAGE =
  `  federation status                       list the destinations of outbound federation
  federation retry SERVER                 end a destination's backoff (the running server
                                          retries it within a minute)
  federation rotate-key                   retire the signing key (still published as an old
                                          key) and make a new one; stop the server first
`;

function time(ts: number | null): string {
  return ts === null || ts === 0 ? "-" : new Date(ts).toISOString().replace(/\.\d+Z$/, "Z");
}

/** The `federation status` table: a header and one line per destination. */
export function statusLines(destinations: readonly DestinationStatus[], now: number): string[] {
  if (destinations.length === 0) return ["no destinations yet"];
  const rows = destinations.map((d) => [
    d.destination,
    `${d.queued}${d.queuedCapped ? "+" : ""}`,
    String(d.failures),
    d.backoffUntil > now ? `${Math.ceil((d.backoffUntil - now) / 1000)}s` : "-",
    time(d.lastSuccessTs),
    d.inFlightTxnId ?? "-",
    (d.lastError ?? "-").replace(/\s+/g, " ").slice(0, 80),
  ]);
  const header = ["DESTINATION", "QUEUED", "FAILURES", "BACKOFF", "LAST SUCCESS", "IN FLIGHT"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => i < widths.length ? cell.padEnd(widths[i]) : cell).join("  ")
      .trimEnd();
  return [line([...header, "LAST ERROR"]), ...rows.map(line)];
}

/**
 * Runs `federation SUBCOMMAND ...` on a server's KV; `words` are the positional arguments after
 * `federation`. Returns the lines to print.
 *
 * @throws {Error} with `code` USAGE for a malformed command line, or NOT_FOUND for an unknown
 *   destination
 */
export async function runFederationCommand(
  kv: Deno.Kv,
  words: readonly string[],
): Promise<string[]> {
  const fail = (code: string, message: string) => Object.assign(new Error(message), { code });
  const [sub, arg] = words;
  if (sub === "status" && words.length === 1) {
    return statusLines(await outboxStatus(kv), Date.now());
  }
  if (sub === "retry" && words.length === 2) {
    if (!isValidServerName(arg)) throw fail("USAGE", `not a server name: ${arg}`);
    if (!await clearBackoff(kv, arg)) throw fail("NOT_FOUND", `no delivery record for ${arg}`);
    return [`backoff of ${arg} cleared; the running server retries it at its next sweep`];
  }
  throw fail("USAGE", `unknown federation command: ${words.join(" ")}`);
}
