/**
 * The federation sender: delivers the durable outbox (`outbox.ts`) to each destination as
 * `PUT /_matrix/federation/v1/send/{txnId}` transactions.
 *
 * - One worker per destination, at most one transaction in flight to it; a transaction carries
 *   up to 50 PDUs in stream order (and up to 100 EDUs from an optional {@link EduSource}).
 * - The transaction (ID, items, EDUs) is stored before the request; until the destination
 *   answers 200 the same ID is retried with the same content, across restarts too. Items are
 *   deleted in the commit that records the 200. Per-PDU errors in the answer are final (the
 *   spec: the sender should not retry them).
 * - Failures back off exponentially per destination (`backoffDelay`); a dead destination holds
 *   at most one of the `maxConcurrent` request slots, and only until `requestTimeoutMs`.
 * - After failures or a restart, a queue longer than `catchUpThreshold` is collapsed to the
 *   newest event of each room: the peer fetches the gap through `prev_events`.
 * - `start()` sweeps KV for pending work, so a restart loses nothing; a periodic sweep also
 *   picks up work queued by other processes, fan-out records and cleared backoffs.
 *
 * One running sender per KV store (the CLI only reads `outboxStatus`, or clears a backoff).
 *
 * @module
 */

import type { JsonObject } from "../../federation/types.ts";
import { commitBatches, deleteCost, deleteRange, setCost } from "../store/kv_batch.ts";
import {
  backoffDelay,
  type BackoffOptions,
  catchUpDrops,
  countItems,
  DEFAULT_BACKOFF,
  type DestinationRecord,
  type DestinationStatus,
  destinationsWithItems,
  DIRECT_FANOUT_MAX,
  emptyDestinationRecord,
  type FanoutRecord,
  type InFlightTxn,
  type ListedItem,
  MAX_EDUS_PER_TXN,
  MAX_PDUS_PER_TXN,
  newTxnId,
  type OutboxItem,
  outboxKeys,
  outboxStatus,
  pduErrors,
  readTxnEdus,
  splitText,
} from "./outbox.ts";
import type { PduLoader, TransactionBody, TransactionTransport } from "./transaction_transport.ts";

/**
 * Where EDUs come from (typing, receipts, presence, device lists: the next issue). `take`
 * hands over up to `limit` EDUs for a destination; the sender stores them with the
 * transaction and retries them with it. Call `FederationSender.wake` when some are waiting.
 */
export interface EduSource {
  take(destination: string, limit: number): Promise<JsonObject[]>;
}

/** Options of {@link FederationSender}. */
export interface FederationSenderOptions {
  /** This server's name (the transactions' `origin`). */
  origin: string;
  transport: TransactionTransport;
  /** Reads a queued event's PDU (`pduLoader` of `transaction_transport.ts`). */
  loadPdu: PduLoader;
  edus?: EduSource;
  /** Transactions in flight at once over all destinations (default 32). */
  maxConcurrent?: number;
  /** Default {@link DEFAULT_BACKOFF}: 5 s doubling up to 30 min. */
  backoff?: Partial<BackoffOptions>;
  /** A request not answered by then counts as failed (default 120 s). */
  requestTimeoutMs?: number;
  /** A queue longer than this after failures or a restart is collapsed (default 1,000). */
  catchUpThreshold?: number;
  /** How often KV is swept for work nobody woke the sender for (default 60 s). */
  sweepIntervalMs?: number;
  /** Reports delivery failures (default: console.warn). */
  log?: (message: string) => void;
}

interface Worker {
  running: boolean;
  again: boolean;
  retryNow: boolean;
  backoffUntil: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** The queue may be long (a restart or failures since the last check): see catch-up. */
  checkCatchUp: boolean;
}

type StepOutcome = "more" | "idle" | "backoff";

/** Delivers queued PDUs to remote servers (one instance per homeserver). */
export class FederationSender {
  readonly #kv: Deno.Kv;
  readonly #o: Required<Omit<FederationSenderOptions, "edus" | "backoff">> & {
    edus?: EduSource;
    backoff: BackoffOptions;
  };
  readonly #workers = new Map<string, Worker>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  readonly #waiting: (() => void)[] = [];
  #free: number;
  #started = false;
  #closed = false;
  #sweepTimer: ReturnType<typeof setTimeout> | null = null;
  #sweeping: Promise<void> | null = null;
  #sweepAgain = false;
  #expanding = false;
  #expandAgain = false;

  constructor(kv: Deno.Kv, options: FederationSenderOptions) {
    this.#kv = kv;
    this.#o = {
      maxConcurrent: 32,
      requestTimeoutMs: 120_000,
      catchUpThreshold: 1_000,
      sweepIntervalMs: 60_000,
      log: (message) => console.warn(message),
      ...options,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    };
    this.#free = this.#o.maxConcurrent;
  }

  /** Starts delivering: sweeps KV for everything pending (a restart resumes here). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#sweep();
  }

  /**
   * Tells the sender that items were committed for these destinations (call after the
   * commit). Without destinations, looks for fan-out records and pending queues in KV.
   */
  wake(destinations?: Iterable<string>): void {
    if (!this.#started || this.#closed) return;
    if (destinations === undefined) return this.#sweep();
    const names = [...new Set(destinations)];
    // More than queuePdu writes as single keys: fan-out records to expand (which drains).
    if (names.length > DIRECT_FANOUT_MAX) return this.#expandSoon();
    for (const destination of names) this.#drain(destination);
  }

  /** Clears a destination's backoff and tries it at once (admin "retry now"). */
  retryNow(destination: string): void {
    if (this.#closed) return;
    const w = this.#worker(destination);
    w.retryNow = true;
    w.backoffUntil = 0;
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    if (this.#started) this.#drain(destination);
  }

  /**
   * A request from `destination` just arrived: it is up again, so a backoff is pointless.
   * Cheap when it is not backing off (the inbound handlers may call it on every request).
   */
  destinationUp(destination: string): void {
    const w = this.#workers.get(destination);
    if (w && w.backoffUntil > Date.now()) this.retryNow(destination);
  }

  /** Every destination's delivery state (admin API, `federation status`). */
  async status(): Promise<DestinationStatus[]> {
    return await outboxStatus(this.#kv);
  }

  /**
   * Stops: no new requests, requests in flight are abandoned (their transaction stays stored
   * and is resent with the same ID by the next start), waits for the workers to finish.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new Error("federation sender closed"));
    if (this.#sweepTimer !== null) clearTimeout(this.#sweepTimer);
    for (const w of this.#workers.values()) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.timer = null;
    }
    for (const wake of this.#waiting.splice(0)) wake();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /** Same as {@link close}. */
  async stop(): Promise<void> {
    await this.close();
  }

  #worker(destination: string): Worker {
    let w = this.#workers.get(destination);
    if (!w) {
      w = {
        running: false,
        again: false,
        retryNow: false,
        backoffUntil: 0,
        timer: null,
        checkCatchUp: true,
      };
      this.#workers.set(destination, w);
    }
    return w;
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  #drain(destination: string): void {
    const w = this.#worker(destination);
    if (w.running) {
      w.again = true;
      return;
    }
    if (!w.retryNow && w.backoffUntil > Date.now()) return;
    w.running = true;
    this.#track((async () => {
      try {
        do {
          w.again = false;
          if ((await this.#step(destination, w)) === "more") w.again = true;
        } while (w.again && !this.#closed);
      } catch (err) {
        // KV trouble: try again later rather than spin.
        this.#o.log(`federation sender: ${destination}: ${String(err)}`);
        this.#scheduleRetry(destination, w, Date.now() + this.#o.backoff.baseMs);
      } finally {
        w.running = false;
      }
    })());
  }

  #scheduleRetry(destination: string, w: Worker, at: number): void {
    w.backoffUntil = at;
    if (w.timer !== null) clearTimeout(w.timer);
    if (this.#closed) return;
    w.timer = setTimeout(() => {
      w.timer = null;
      w.backoffUntil = 0;
      this.#drain(destination);
    }, Math.max(0, at - Date.now()));
  }

  /** One transaction (or nothing to do): the destination's whole protocol. */
  async #step(destination: string, w: Worker): Promise<StepOutcome> {
    const key = outboxKeys.destination(destination);
    const record = (await this.#kv.get<DestinationRecord>(key)).value ??
      emptyDestinationRecord();
    const now = Date.now();
    if (w.retryNow) {
      w.retryNow = false;
      if (record.backoffUntil !== 0) {
        record.backoffUntil = 0;
        await this.#kv.set(key, record);
      }
    }
    if (record.backoffUntil > now) {
      this.#scheduleRetry(destination, w, record.backoffUntil);
      return "backoff";
    }
    w.backoffUntil = 0;
    if (destination === this.#o.origin) {
      await deleteRange(this.#kv, { prefix: outboxKeys.queueOf(destination) });
      return "idle";
    }
    let txn = record.inFlight;
    let edus: JsonObject[];
    if (txn) {
      edus = await readTxnEdus(this.#kv, destination, txn.eduParts);
    } else {
      if (w.checkCatchUp) {
        w.checkCatchUp = false;
        record.dropped += await this.#catchUp(destination);
      }
      const items: [number, string][] = [];
      const iter = this.#kv.list({ prefix: outboxKeys.queueOf(destination) }, {
        limit: MAX_PDUS_PER_TXN,
      });
      for await (const entry of iter) items.push([entry.key[2] as number, entry.key[3] as string]);
      edus = this.#o.edus ? await this.#o.edus.take(destination, MAX_EDUS_PER_TXN) : [];
      if (items.length === 0 && edus.length === 0) return "idle";
      const eduTexts = edus.length > 0 ? splitText(JSON.stringify(edus)) : [];
      txn = { txnId: newTxnId(now), createdTs: now, items, eduParts: eduTexts.length, attempts: 0 };
      const op = this.#kv.atomic().set(key, { ...record, inFlight: txn });
      eduTexts.forEach((text, i) => op.set(outboxKeys.txnEdus(destination, i), text));
      await op.commit();
    }
    const pdus: JsonObject[] = [];
    for (const [, eventId] of txn.items) {
      const pdu = await this.#o.loadPdu(eventId);
      if (pdu) pdus.push(pdu);
    }
    if (pdus.length === 0 && edus.length === 0) {
      // Every event is gone (or must not be sent): nothing to deliver.
      await this.#finish(destination, record, txn, { dropped: txn.items.length });
      return "more";
    }
    const body: TransactionBody = {
      origin: this.#o.origin,
      origin_server_ts: txn.createdTs,
      pdus,
    };
    if (edus.length > 0) body.edus = edus;
    const result = await this.#send(destination, txn.txnId, body);
    if (this.#closed) return "idle";
    const after = Date.now();
    if (result.ok) {
      const errors = pduErrors(result.pduResults);
      await this.#finish(destination, record, txn, {
        delivered: pdus.length,
        dropped: txn.items.length - pdus.length,
        refused: errors.length,
        lastRefusal: errors.length > 0
          ? `${errors[0].eventId}: ${errors[0].error}`
          : record.lastRefusal,
        success: after,
      });
      return "more";
    }
    const failures = record.failures + 1;
    const backoffUntil = after + backoffDelay(failures, this.#o.backoff);
    const error = result.error.slice(0, 500);
    this.#o.log(`federation sender: ${destination}: transaction ${txn.txnId} failed: ${error}`);
    w.checkCatchUp = true;
    if (!result.retryable) {
      // A refusal that will not change: these PDUs are undeliverable; still pause a little.
      await this.#finish(destination, record, txn, { dropped: txn.items.length });
    }
    const failed: DestinationRecord = {
      ...record,
      failures,
      backoffUntil,
      downSinceTs: record.downSinceTs ?? after,
      lastAttemptTs: after,
      lastError: error,
    };
    if (result.retryable) failed.inFlight = { ...txn, attempts: txn.attempts + 1 };
    await this.#kv.set(key, failed);
    this.#scheduleRetry(destination, w, backoffUntil);
    return "backoff";
  }

  /** Sends with a timeout and a request slot; exceptions become retryable failures. */
  async #send(destination: string, txnId: string, body: TransactionBody) {
    await this.#acquire();
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new Error("timed out")),
      this.#o.requestTimeoutMs,
    );
    try {
      if (this.#closed) return { ok: false, retryable: true, error: "closed" } as const;
      const signal = AbortSignal.any([this.#abort.signal, timeout.signal]);
      const sending = this.#o.transport.sendTransaction(destination, txnId, body, { signal });
      // A transport that ignores the signal must not hold the slot (or close()) for longer.
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
      sending.catch(() => {});
      aborted.catch(() => {});
      const result = await Promise.race([sending, aborted]);
      if (result.ok || !timeout.signal.aborted) return result;
      return { ok: false, retryable: true, error: "timed out" } as const;
    } catch (err) {
      const reason = timeout.signal.aborted ? "timed out" : String(err);
      return { ok: false, retryable: true, error: reason } as const;
    } finally {
      clearTimeout(timer);
      this.#release();
    }
  }

  /** Deletes a transaction's items and EDUs and records the outcome, in one commit. */
  async #finish(
    destination: string,
    record: DestinationRecord,
    txn: InFlightTxn,
    outcome: {
      delivered?: number;
      refused?: number;
      dropped?: number;
      lastRefusal?: string | null;
      success?: number;
    },
  ): Promise<void> {
    const next: DestinationRecord = {
      ...record,
      inFlight: null,
      delivered: record.delivered + (outcome.delivered ?? 0),
      refused: record.refused + (outcome.refused ?? 0),
      dropped: record.dropped + (outcome.dropped ?? 0),
      lastRefusal: outcome.lastRefusal ?? record.lastRefusal,
    };
    if (outcome.success !== undefined) {
      Object.assign(next, {
        failures: 0,
        backoffUntil: 0,
        downSinceTs: null,
        lastSuccessTs: outcome.success,
        lastAttemptTs: outcome.success,
        lastError: null,
      });
    }
    const op = this.#kv.atomic();
    for (const [pos, eventId] of txn.items) op.delete(outboxKeys.item(destination, pos, eventId));
    for (let i = 0; i < txn.eduParts; i++) op.delete(outboxKeys.txnEdus(destination, i));
    op.set(outboxKeys.destination(destination), next);
    await op.commit();
    Object.assign(record, next);
  }

  /** Collapses a long queue to the newest item of each room; returns how many it dropped. */
  async #catchUp(destination: string): Promise<number> {
    const threshold = this.#o.catchUpThreshold;
    if (await countItems(this.#kv, destination, threshold + 1) <= threshold) return 0;
    const items: ListedItem[] = [];
    const prefix = outboxKeys.queueOf(destination);
    for await (const entry of this.#kv.list<OutboxItem>({ prefix })) {
      items.push({ key: entry.key, roomId: entry.value.roomId });
    }
    // Called only between transactions: nothing is in flight to keep.
    const drops = catchUpDrops(items, new Set());
    for (const batch of commitBatches(drops, deleteCost)) {
      const op = this.#kv.atomic();
      for (const key of batch) op.delete(key);
      await op.commit();
    }
    if (drops.length > 0) {
      this.#o.log(
        `federation sender: ${destination}: catching up, ${drops.length} older PDUs left for ` +
          `the peer to fetch`,
      );
    }
    return drops.length;
  }

  async #acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }

  /** Looks for pending work in KV (start-up, periodically, and when asked). */
  #sweep(): void {
    if (this.#sweeping) {
      this.#sweepAgain = true;
      return;
    }
    const run = (async () => {
      try {
        do {
          this.#sweepAgain = false;
          await this.#expandFanouts();
          const names = new Set(await destinationsWithItems(this.#kv));
          const iter = this.#kv.list<DestinationRecord>({ prefix: outboxKeys.destinations() });
          for await (const entry of iter) {
            if (entry.key.length !== 2) continue;
            const name = entry.key[1] as string;
            if (entry.value.inFlight) names.add(name);
            // A backoff cleared by another process (the CLI).
            const w = this.#workers.get(name);
            if (w && w.backoffUntil > entry.value.backoffUntil) w.backoffUntil = 0;
          }
          for (const name of names) this.#drain(name);
        } while (this.#sweepAgain && !this.#closed);
      } catch (err) {
        this.#o.log(`federation sender: sweep failed: ${String(err)}`);
      } finally {
        this.#sweeping = null;
        if (!this.#closed) {
          if (this.#sweepTimer !== null) clearTimeout(this.#sweepTimer);
          this.#sweepTimer = setTimeout(() => this.#sweep(), this.#o.sweepIntervalMs);
        }
      }
    })();
    this.#sweeping = run;
    this.#track(run);
  }

  /** Expands fan-out records now, or again after the expansion under way. */
  #expandSoon(): void {
    if (this.#expanding) {
      this.#expandAgain = true;
      return;
    }
    this.#expanding = true;
    this.#track((async () => {
      try {
        do {
          this.#expandAgain = false;
          await this.#expandFanouts();
        } while (this.#expandAgain && !this.#closed);
      } catch (err) {
        this.#o.log(`federation sender: fan-out failed: ${String(err)}`);
      } finally {
        this.#expanding = false;
      }
    })());
  }

  /** Turns fan-out records into per-destination items (idempotent; see `outbox.ts`). */
  async #expandFanouts(): Promise<void> {
    while (!this.#closed) {
      const records: Deno.KvEntry<FanoutRecord>[] = [];
      const iter = this.#kv.list<FanoutRecord>({ prefix: outboxKeys.fanouts() }, { limit: 20 });
      for await (const entry of iter) records.push(entry);
      if (records.length === 0) return;
      for (const { key, value } of records) {
        const [, pos, eventId] = key as [string, number, string, number];
        const item: OutboxItem = { roomId: value.roomId, queuedTs: value.queuedTs };
        const keys = value.destinations.map((d) => outboxKeys.item(d, pos, eventId));
        const batches = commitBatches(keys, (k) => setCost(k, { value: item }));
        for (const [i, batch] of batches.entries()) {
          const op = this.#kv.atomic();
          for (const k of batch) op.set(k, item);
          if (i === batches.length - 1) op.delete(key);
          await op.commit();
        }
        if (batches.length === 0) await this.#kv.delete(key);
        for (const d of value.destinations) this.#drain(d);
      }
    }
  }
}
