/**
 * The durable outbound federation queue: its KV layout, what the room pipeline writes into an
 * event's own commit ({@link queuePdu}), and the pure rules the sender follows (backoff, batch
 * limits, catch-up). No network here; `sender.ts` delivers.
 *
 * Keys (every prefix is built by {@link outboxKeys}):
 *
 * - `["fed_outbox", destination, pos, eventId]` -> {@link OutboxItem}: one PDU waiting for one
 *   destination. Ordered by the event's stream position, which the pipeline knows before it
 *   commits, so queueing needs no read and never conflicts with another commit. The value is
 *   small (the room ID and when it was queued); the PDU itself is read from the event record at
 *   send time, so a 64 KiB event never has to fit a second time in a KV value.
 * - `["fed_fanout", pos, eventId, chunk]` -> {@link FanoutRecord}: an event for more
 *   destinations than one commit should carry as single keys (a room spread over hundreds of
 *   servers). The sender expands it into per-destination items in its own commits, then
 *   deletes it; expansion is idempotent (same keys, same values), so a crash midway loses
 *   nothing.
 * - `["fed_destination", destination]` -> {@link DestinationRecord}: retry state and the
 *   transaction in flight. The in-flight transaction (its ID and the items it carries) is
 *   written before the request goes out, so after a failure or a restart the same transaction
 *   ID is retried with the same PDUs, as the spec asks.
 * - `["fed_destination", destination, "edus", i]` -> string: chunk i of the in-flight
 *   transaction's EDUs as JSON text (EDUs have no other durable home, and a retry must carry
 *   them again).
 *
 * An item is deleted only in the commit that records the destination's 200 answer.
 *
 * @module
 */

import { isValidServerName } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";
import { randomString } from "../../crypto/tokens.ts";
import type { Mutations } from "../rooms/mutations.ts";

/** The spec's limits on one transaction. */
export const MAX_PDUS_PER_TXN = 50;
/** The spec's limits on one transaction. */
export const MAX_EDUS_PER_TXN = 100;
/** Up to this many destinations an event is queued as single keys inside its own commit. */
export const DIRECT_FANOUT_MAX = 32;
/** Destinations per fan-out record (a server name is at most 255 bytes: under 64 KiB). */
export const FANOUT_CHUNK = 100;
/** Characters of EDU JSON per KV value (two bytes per character at worst). */
export const EDU_CHUNK_CHARS = 30_000;

/** A PDU waiting for one destination. */
export interface OutboxItem {
  roomId: string;
  /** Milliseconds since the epoch when the event was queued. */
  queuedTs: number;
}

/** An event to deliver to many destinations, expanded by the sender. */
export interface FanoutRecord extends OutboxItem {
  destinations: string[];
}

/** The transaction being delivered to a destination (retried as is until answered). */
export interface InFlightTxn {
  txnId: string;
  /** The transaction's `origin_server_ts`, kept so that a retry is byte-for-byte the same. */
  createdTs: number;
  /** The items it carries: [pos, eventId] (their keys under `fed_outbox`). */
  items: [number, string][];
  /** Chunks of EDU JSON text at `outboxKeys.txnEdus` (0 when none). */
  eduParts: number;
  /** Requests made with this transaction ID so far. */
  attempts: number;
}

/** A destination's delivery state. */
export interface DestinationRecord {
  /** Consecutive failed attempts (0 after a success). */
  failures: number;
  /** No attempt before this time (ms since the epoch); 0 when not backing off. */
  backoffUntil: number;
  /** When the current run of failures began; null when the last attempt succeeded. */
  downSinceTs: number | null;
  lastSuccessTs: number | null;
  lastAttemptTs: number | null;
  lastError: string | null;
  inFlight: InFlightTxn | null;
  /** PDUs the destination acknowledged (accepted or refused with a per-PDU error). */
  delivered: number;
  /** PDUs the destination answered with a per-PDU error, and the last such error. */
  refused: number;
  lastRefusal: string | null;
  /** PDUs dropped without delivery (catch-up, permanent failures, events gone). */
  dropped: number;
}

/** What the pipeline queues for an event (one of this server's own accepted events). */
export interface QueuedPdu {
  eventId: string;
  /** The event's stream position (the queue's order). */
  pos: number;
  roomId: string;
}

/** Key builders of the outbound federation area. */
export const outboxKeys = {
  /** `["fed_outbox", destination, pos, eventId]` -> OutboxItem. */
  item: (destination: string, pos: number, eventId: string): Deno.KvKey => [
    "fed_outbox",
    destination,
    pos,
    eventId,
  ],
  /** A destination's queue. */
  queueOf: (destination: string): Deno.KvKey => ["fed_outbox", destination],
  /** Every queue. */
  queues: (): Deno.KvKey => ["fed_outbox"],
  /** `["fed_fanout", pos, eventId, chunk]` -> FanoutRecord. */
  fanout: (pos: number, eventId: string, chunk: number): Deno.KvKey => [
    "fed_fanout",
    pos,
    eventId,
    chunk,
  ],
  /** Every fan-out record. */
  fanouts: (): Deno.KvKey => ["fed_fanout"],
  /** `["fed_destination", destination]` -> DestinationRecord. */
  destination: (destination: string): Deno.KvKey => ["fed_destination", destination],
  /** Every destination record. */
  destinations: (): Deno.KvKey => ["fed_destination"],
  /** `["fed_destination", destination, "edus", i]` -> string. */
  txnEdus: (destination: string, i: number): Deno.KvKey => [
    "fed_destination",
    destination,
    "edus",
    i,
  ],
  /** The in-flight EDU chunks of a destination. */
  txnEdusOf: (destination: string): Deno.KvKey => ["fed_destination", destination, "edus"],
} as const;

/**
 * Queues one committed event for delivery to `destinations`, inside the caller's commit (the
 * event's own): a crash cannot lose it and nothing is read. Invalid server names and
 * duplicates are skipped (names come from room state, which remote servers write). Call
 * {@link FederationSender.wake} after the commit. Returns the destinations queued.
 */
export function queuePdu(
  m: Mutations,
  destinations: Iterable<string>,
  item: QueuedPdu & { queuedTs?: number },
): string[] {
  const targets = [...new Set(destinations)].filter(isValidServerName).sort();
  const value: OutboxItem = { roomId: item.roomId, queuedTs: item.queuedTs ?? Date.now() };
  if (targets.length <= DIRECT_FANOUT_MAX) {
    for (const destination of targets) {
      m.set(outboxKeys.item(destination, item.pos, item.eventId), value, {
        sizeHint: item.roomId.length * 2 + 48,
      });
    }
    return targets;
  }
  for (let i = 0; i * FANOUT_CHUNK < targets.length; i++) {
    const chunk = targets.slice(i * FANOUT_CHUNK, (i + 1) * FANOUT_CHUNK);
    const record: FanoutRecord = { ...value, destinations: chunk };
    m.set(outboxKeys.fanout(item.pos, item.eventId, i), record);
  }
  return targets;
}

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** The cap. */
  maxMs: number;
  /** A number in [0, 1) (Math.random by default): spreads retries by up to -20%. */
  random?: number;
}

/** Default backoff: 5 s after the first failure, doubling, at most 30 minutes. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { baseMs: 5_000, maxMs: 30 * 60_000 };

/**
 * How long to wait after the `failures`-th consecutive failure: `baseMs * 2^(failures-1)`,
 * capped, minus up to a fifth at random so that destinations that failed together do not all
 * retry in the same instant.
 */
export function backoffDelay(failures: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = Math.min(Math.max(failures, 1) - 1, 40);
  const delay = Math.min(options.baseMs * 2 ** exp, options.maxMs);
  const random = options.random ?? Math.random();
  return Math.max(1, Math.round(delay * (1 - 0.2 * random)));
}

/** A fresh transaction ID: unique per destination for ever (time plus randomness). */
export function newTxnId(now: number = Date.now()): string {
  return `${now.toString(36)}.${randomString(12)}`;
}

/** A destination record before its first attempt. */
export function emptyDestinationRecord(): DestinationRecord {
  return {
    failures: 0,
    backoffUntil: 0,
    downSinceTs: null,
    lastSuccessTs: null,
    lastAttemptTs: null,
    lastError: null,
    inFlight: null,
    delivered: 0,
    refused: 0,
    lastRefusal: null,
    dropped: 0,
  };
}

/** One queued item as listed from KV. */
export interface ListedItem {
  key: Deno.KvKey;
  roomId: string;
}

/**
 * Catch-up: which items to drop from a queue listed in order (oldest first) so that only the
 * newest event of each room is left, except items in `keep` (the in-flight transaction). The
 * peer then fetches what it lacks from the newest events' `prev_events`
 * (`/get_missing_events`, `/backfill`) instead of receiving thousands of old transactions.
 */
export function catchUpDrops(
  items: readonly ListedItem[],
  keep: ReadonlySet<string>,
): Deno.KvKey[] {
  const newest = new Map<string, number>();
  items.forEach((item, i) => newest.set(item.roomId, i));
  const drops: Deno.KvKey[] = [];
  items.forEach((item, i) => {
    if (newest.get(item.roomId) !== i && !keep.has(itemId(item.key))) drops.push(item.key);
  });
  return drops;
}

/** A stable string for an outbox item key ("pos eventId"), for sets of in-flight items. */
export function itemId(key: Deno.KvKey): string {
  return `${String(key[2])} ${String(key[3])}`;
}

/** Splits text into KV-sized chunks (see {@link EDU_CHUNK_CHARS}). */
export function splitText(text: string, size: number = EDU_CHUNK_CHARS): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

/** The per-PDU errors of a 200 answer (the spec's `pdus` map), bounded for logging. */
export function pduErrors(
  results: Record<string, { error?: string }> | undefined,
): { eventId: string; error: string }[] {
  const out: { eventId: string; error: string }[] = [];
  if (!results || typeof results !== "object") return out;
  for (const [eventId, result] of Object.entries(results)) {
    const error = result && typeof result === "object" ? result.error : undefined;
    if (typeof error === "string") out.push({ eventId, error: error.slice(0, 200) });
  }
  return out;
}

/** One destination as the admin API and `federation status` show it. */
export interface DestinationStatus {
  destination: string;
  /** Items waiting (at most `countLimit`; `queuedCapped` when there are more). */
  queued: number;
  queuedCapped: boolean;
  failures: number;
  /** 0 when not backing off. */
  backoffUntil: number;
  downSinceTs: number | null;
  lastSuccessTs: number | null;
  lastAttemptTs: number | null;
  lastError: string | null;
  inFlightTxnId: string | null;
  delivered: number;
  refused: number;
  lastRefusal: string | null;
  dropped: number;
}

/**
 * Every destination with a record or pending items, sorted by name. Reads KV only, so the CLI
 * can call it without a running sender.
 */
export async function outboxStatus(
  kv: Deno.Kv,
  options: { countLimit?: number } = {},
): Promise<DestinationStatus[]> {
  const limit = options.countLimit ?? 100_000;
  const records = new Map<string, DestinationRecord>();
  for await (const entry of kv.list<DestinationRecord>({ prefix: outboxKeys.destinations() })) {
    if (entry.key.length === 2) records.set(entry.key[1] as string, entry.value);
  }
  const names = new Set([...records.keys(), ...await destinationsWithItems(kv)]);
  const out: DestinationStatus[] = [];
  for (const destination of [...names].sort()) {
    const record = records.get(destination) ?? emptyDestinationRecord();
    const queued = await countItems(kv, destination, limit + 1);
    out.push({
      destination,
      queued: Math.min(queued, limit),
      queuedCapped: queued > limit,
      failures: record.failures,
      backoffUntil: record.backoffUntil,
      downSinceTs: record.downSinceTs,
      lastSuccessTs: record.lastSuccessTs,
      lastAttemptTs: record.lastAttemptTs,
      lastError: record.lastError,
      inFlightTxnId: record.inFlight?.txnId ?? null,
      delivered: record.delivered,
      refused: record.refused,
      lastRefusal: record.lastRefusal,
      dropped: record.dropped,
    });
  }
  return out;
}

/** Items queued for a destination, counting at most `limit`. */
export async function countItems(kv: Deno.Kv, destination: string, limit: number): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: outboxKeys.queueOf(destination) }, { limit })) n++;
  return n;
}

/**
 * The destinations that have queued items, found by skipping from one destination's queue to
 * the next (one short read per destination, however long the queues are).
 */
export async function destinationsWithItems(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  const prefix = outboxKeys.queues();
  let start: Deno.KvKey | null = null;
  while (true) {
    let found: string | null = null;
    const selector: Deno.KvListSelector = start === null ? { prefix } : { prefix, start };
    for await (const entry of kv.list(selector, { limit: 1 })) found = entry.key[1] as string;
    if (found === null) return out;
    out.push(found);
    // "\0" appended sorts after every key of `found`'s queue and before the next name.
    start = [...prefix, `${found}\0`];
  }
}

/** Serialised EDUs of an in-flight transaction, read back for a retry. */
export async function readTxnEdus(
  kv: Deno.Kv,
  destination: string,
  parts: number,
): Promise<JsonObject[]> {
  if (parts === 0) return [];
  const texts: string[] = [];
  for await (const entry of kv.list<string>({ prefix: outboxKeys.txnEdusOf(destination) })) {
    texts.push(entry.value);
  }
  if (texts.length !== parts) return [];
  const edus = JSON.parse(texts.join(""));
  return Array.isArray(edus) ? edus : [];
}

/**
 * Ends a destination's backoff from outside the running server (the CLI): the server's
 * periodic sweep then retries it. Returns false for a destination without a record.
 */
export async function clearBackoff(kv: Deno.Kv, destination: string): Promise<boolean> {
  const key = outboxKeys.destination(destination);
  while (true) {
    const entry = await kv.get<DestinationRecord>(key);
    if (!entry.value) return false;
    if (entry.value.backoffUntil === 0) return true;
    // Checked: the sender may be writing the same record (its transaction in flight).
    const next = { ...entry.value, backoffUntil: 0 };
    if ((await kv.atomic().check(entry).set(key, next).commit()).ok) return true;
  }
}
