/**
 * Transaction IDs of local sends (spec: "Transaction identifiers"): a repeated
 * `PUT /send/{txnId}` answers the first event. The `["txn", ...]` key is written in the
 * event's own commit; this process is its only writer, so a process-local map of the sends in
 * progress closes the race between two attempts of one transaction: the first attempt
 * registers itself before it reads the key, and every later attempt finds either it (and waits
 * for its outcome) or, once it has finished, its committed key.
 *
 * `PUT /send` asks {@link Transactions.find} first (a repeat is answered before the rate limit
 * and the body), then sends through {@link Transactions.run}. So that a new transaction costs
 * one KV read, not two, `run` trusts the absence `find` read unless an attempt of a
 * transaction hashing to the same bucket finished since: an attempt that finished before the
 * read would have been seen by it, and one still running is waited for.
 *
 * Under load those reads are grouped: at most {@link READS_IN_FLIGHT} KV reads run at once, and
 * lookups that arrive meanwhile ride in the next one (`getMany`, up to 10 keys), so a busy
 * server pays one read operation for several sends and an idle one waits for nothing.
 *
 * @module
 */

import type { RoomStore, StoredEvent } from "./room_store.ts";
import { roomKeys } from "./schema.ts";

/** Identifies one transaction of one device in one room. */
export interface TransactionKey {
  userId: string;
  deviceId: string;
  roomId: string;
  txnId: string;
}

/** The stored record of a transaction. */
interface TxnRecord {
  eventId: string;
}

/** Buckets of finished-attempt counters. */
const BUCKETS = 4096;
/** Absences remembered between `find` and `run` (a request's body read and checks). */
const MAX_ABSENT = 10_000;
/** Grouped reads running at once. */
const READS_IN_FLIGHT = 4;
/** Keys per grouped read (KV's limit for `getMany`). */
const KEYS_PER_READ = 10;

interface Lookup {
  key: Deno.KvKey;
  resolve: (record: TxnRecord | null) => void;
  reject: (err: unknown) => void;
}

/** Runs each transaction at most once at a time, and answers repeats with the first event. */
export class Transactions {
  readonly #kv: Deno.Kv;
  readonly #rooms: RoomStore;
  readonly #running = new Map<string, Promise<StoredEvent>>();
  /** Attempts finished per bucket of transaction keys. */
  readonly #finished = new Uint32Array(BUCKETS);
  /** Transactions `find` saw absent from KV, with their bucket's count before that read. */
  readonly #absent = new Map<string, number>();
  #lookups: Lookup[] = [];
  #reads = 0;

  constructor(kv: Deno.Kv, rooms: RoomStore) {
    this.#kv = kv;
    this.#rooms = rooms;
  }

  /**
   * The event of an earlier attempt of the transaction, or null when there is none (waits for
   * an attempt in progress; null if it fails).
   */
  async find(key: TransactionKey): Promise<string | null> {
    const id = mapKey(key);
    const running = this.#running.get(id);
    if (running) {
      try {
        return (await running).event.eventId;
      } catch {
        return null;
      }
    }
    const count = this.#finished[bucketOf(id)];
    const record = await this.#read(key);
    if (record) return record.eventId;
    this.#absent.delete(id);
    this.#absent.set(id, count);
    if (this.#absent.size > MAX_ABSENT) this.#absent.delete(this.#absent.keys().next().value!);
    return null;
  }

  /**
   * Runs `send` unless the transaction already produced an event (then returns that event). A
   * concurrent attempt waits for the one in progress and shares its outcome.
   */
  run(key: TransactionKey, send: () => Promise<StoredEvent>): Promise<StoredEvent> {
    const id = mapKey(key);
    const running = this.#running.get(id);
    if (running) return running;
    const bucket = bucketOf(id);
    const checked = this.#absent.get(id);
    this.#absent.delete(id);
    const known = checked !== undefined && checked === this.#finished[bucket];
    const attempt = (async () => {
      if (known) return await send();
      const record = await this.#read(key);
      if (record) {
        const stored = await this.#rooms.event(record.eventId);
        if (stored) return stored;
      }
      return await send();
    })();
    this.#running.set(id, attempt);
    // The send has committed (or failed) when `attempt` settles, so a later attempt that does
    // not find it here finds its key in KV.
    const forget = () => {
      this.#finished[bucket]++;
      if (this.#running.get(id) === attempt) this.#running.delete(id);
    };
    attempt.then(forget, forget);
    return attempt;
  }

  /** The stored record of a transaction, read alone or with others waiting (module doc). */
  #read(key: TransactionKey): Promise<TxnRecord | null> {
    return new Promise((resolve, reject) => {
      const kvKey = roomKeys.txn(key.userId, key.deviceId, key.roomId, key.txnId);
      this.#lookups.push({ key: kvKey, resolve, reject });
      if (this.#reads < READS_IN_FLIGHT) this.#readMore();
    });
  }

  async #readMore(): Promise<void> {
    this.#reads++;
    try {
      while (this.#lookups.length > 0) {
        const group = this.#lookups.splice(0, KEYS_PER_READ);
        try {
          const entries = await this.#kv.getMany<TxnRecord[]>(group.map((l) => l.key));
          group.forEach((lookup, i) => lookup.resolve(entries[i].value));
        } catch (err) {
          for (const lookup of group) lookup.reject(err);
        }
      }
    } finally {
      this.#reads--;
    }
  }
}

/** Length-prefixed, so that no two keys share a string whatever their characters. */
function mapKey(key: TransactionKey): string {
  const { userId, deviceId, roomId, txnId } = key;
  return `${userId.length}:${userId}${deviceId.length}:${deviceId}${roomId.length}:${roomId}${txnId}`;
}

/** FNV-1a of the key, into {@link BUCKETS}. */
function bucketOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}
