/**
 * Pushing events to application services (spec: Application Service API, "Pushing events"):
 * a queue per service in KV, filled behind the room pipeline's commits, and one sender per
 * service that delivers `PUT /_matrix/app/v1/transactions/{txnId}` in stream order, one
 * transaction in flight, retrying the same transaction (same ID, same events) with exponential
 * backoff until the service answers 2xx.
 *
 * Keys (prefix `appservice`, see docs/appservices.md):
 * - `["appservice", "queue", asId, pos, eventId]` -> null: an event waiting for a transaction;
 * - `["appservice", "txn", asId]` -> {@link TxnRecord}: the transaction in flight;
 * - `["appservice", "next_txn", asId]` -> number: the next transaction ID;
 * - `["appservice", "enqueued"]` -> number: the stream position up to which every committed
 *   event has been looked at. Queue entries are written behind the event's commit, so after a
 *   crash between the two, start-up looks at the rooms' timelines above this mark again.
 *
 * @module
 */

import type { RoomEvent } from "../../federation/types.ts";
import type { Homeserver } from "../homeserver.ts";
import type { CommittedEvent } from "../rooms/pipeline_types.ts";
import { STREAM_META_KEY } from "../stream.ts";
import { clientEvents } from "../client/client_event.ts";
import { callAppservice } from "./client.ts";
import { interestedServices } from "./interest.ts";
import type { AppserviceRegistration } from "./registration.ts";
import { APP_V1 } from "./registry.ts";
import { EphemeralFeed } from "./ephemeral.ts";
import type { JsonObject } from "../http_util.ts";

/** A transaction in flight: retried as it is until the service takes it. */
export interface TxnRecord {
  txnId: string;
  eventIds: string[];
  /** Receipts and presence (`receive_ephemeral`), taken from memory into this transaction. */
  ephemeral?: JsonObject[];
}

/** Events per transaction at most. */
const MAX_TXN_EVENTS = 50;
/** Committed events looked at per queue commit at most. */
const ENQUEUE_BATCH = 100;
/** Bytes of ephemeral data per transaction at most (the record must fit in one KV value). */
const MAX_TXN_EPHEMERAL_BYTES = 32 * 1024;

/** Options of {@link AppserviceDelivery}. */
export interface DeliveryOptions {
  /** First retry delay after a failed transaction (doubles up to `retryMaxMs`). */
  retryBaseMs?: number;
  /** Longest retry delay. */
  retryMaxMs?: number;
  /** Time a service has to answer one transaction. */
  timeoutMs?: number;
}

/** The queues and senders of a server's application services. */
export class AppserviceDelivery {
  readonly #hs: Homeserver;
  readonly #services: readonly AppserviceRegistration[];
  readonly #options: Required<DeliveryOptions>;
  readonly #pending: CommittedEvent[] = [];
  readonly #wakers = new Map<string, () => void>();
  /** Services with work queued since their sender last looked. */
  readonly #dirty = new Set<string>();
  readonly #closing = new AbortController();
  #ready: Promise<void> | null = null;
  #caughtUpTo = 0;
  #draining: Promise<void> | null = null;
  #loops: Promise<void>[] = [];
  readonly #ephemeral: EphemeralFeed;

  constructor(
    hs: Homeserver,
    services: readonly AppserviceRegistration[],
    options: DeliveryOptions = {},
  ) {
    this.#hs = hs;
    this.#services = services;
    this.#options = {
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 5 * 60_000,
      timeoutMs: options.timeoutMs ?? 60_000,
    };
    this.#ephemeral = new EphemeralFeed(hs, { services, onData: (id) => this.#wake(id) });
  }

  /** Starts listening to commits and the senders (after looking at what was missed). */
  start(): void {
    this.#hs.pipeline.subscribe((committed) => this.#committed(committed));
    this.#ready = this.#catchUp().catch((err) => {
      console.error("appservice: catching up on missed events failed:", err);
    });
    for (const reg of this.#services) {
      if (reg.url !== null) this.#loops.push(this.#run(reg));
    }
  }

  /** Stops the senders (a transaction in flight is retried at the next start). */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const wake of [...this.#wakers.values()]) wake();
    await this.#ephemeral.stop();
    await this.#draining;
    await Promise.all(this.#loops);
  }

  #committed(committed: CommittedEvent): void {
    if (committed.streamPos === null || committed.pos === null || committed.pos <= 0) return;
    // After close, the next start's catch-up queues it.
    if (this.#closing.signal.aborted) return;
    this.#pending.push(committed);
    this.#kick();
  }

  #kick(): void {
    if (this.#draining || this.#pending.length === 0) return;
    this.#draining = this.#drain()
      .catch((err) => console.error("appservice: queueing events failed:", err))
      .finally(() => {
        this.#draining = null;
        if (!this.#closing.signal.aborted) this.#kick();
      });
  }

  async #drain(): Promise<void> {
    await this.#ready;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, ENQUEUE_BATCH)
        .filter((c) => c.pos! > this.#caughtUpTo)
        .map((c) => ({ event: c.stored.event, pos: c.pos! }));
      if (batch.length > 0) await this.#enqueue(batch);
    }
  }

  /** Queues `events` for the services they interest, and moves the mark, in one commit. */
  async #enqueue(
    events: { event: RoomEvent; pos: number }[],
    options: { fromKv?: boolean } = {},
  ): Promise<void> {
    const { kv, rooms } = this.#hs;
    const cache = new Map<string, Promise<string[]>>();
    // At start-up the notifier's member index is not built yet: ask KV (once per room).
    const members = options.fromKv
      ? (roomId: string) => {
        let found = cache.get(roomId);
        if (!found) {
          found = Promise.all([rooms.members(roomId, "join"), rooms.members(roomId, "invite")])
            .then(([joined, invited]) => [...joined, ...invited]);
          cache.set(roomId, found);
        }
        return found;
      }
      : undefined;
    const op = kv.atomic();
    const woken = new Set<string>();
    let top = 0;
    for (const { event, pos } of events) {
      top = Math.max(top, pos);
      for (const reg of await interestedServices(this.#hs, this.#services, event, { members })) {
        if (reg.url === null) continue;
        op.set(["appservice", "queue", reg.id, pos, event.eventId], null);
        woken.add(reg.id);
      }
    }
    const mark = await kv.get<number>(["appservice", "enqueued"]);
    if ((mark.value ?? 0) < top) op.set(["appservice", "enqueued"], top);
    await op.commit();
    for (const id of woken) this.#wake(id);
  }

  #wake(id: string): void {
    const waker = this.#wakers.get(id);
    if (waker) waker();
    else this.#dirty.add(id);
  }

  /**
   * Queues the events committed above the mark that never reached the queue (a crash, or
   * events committed while the server shut down). The first start with application services
   * begins at the present: the history before it is not pushed.
   */
  async #catchUp(): Promise<void> {
    const { kv, rooms } = this.#hs;
    const streamTop = Number((await kv.get<Deno.KvU64>(STREAM_META_KEY)).value?.value ?? 0n);
    this.#caughtUpTo = streamTop;
    this.#ephemeral.start(streamTop);
    const mark = (await kv.get<number>(["appservice", "enqueued"])).value;
    if (mark === null) {
      await kv.set(["appservice", "enqueued"], streamTop);
      return;
    }
    if (mark >= streamTop) return;
    const missed: { eventId: string; pos: number }[] = [];
    for await (const entry of kv.list({ prefix: ["room"] })) {
      const roomId = entry.key[1] as string;
      let from = mark;
      while (true) {
        const page = await rooms.timeline(roomId, { dir: "f", from, to: streamTop, limit: 500 });
        for (const item of page) missed.push({ eventId: item.eventId, pos: item.pos });
        if (page.length < 500) break;
        from = page[page.length - 1].pos;
      }
    }
    missed.sort((a, b) => a.pos - b.pos);
    for (let i = 0; i < missed.length; i += ENQUEUE_BATCH) {
      const slice = missed.slice(i, i + ENQUEUE_BATCH);
      const stored = await rooms.events(slice.map((m) => m.eventId));
      const events = slice.flatMap((m) => {
        const s = stored.get(m.eventId);
        return s ? [{ event: s.event, pos: m.pos }] : [];
      });
      if (events.length > 0) await this.#enqueue(events, { fromKv: true });
    }
    const current = (await kv.get<number>(["appservice", "enqueued"])).value ?? 0;
    if (current < streamTop) await kv.set(["appservice", "enqueued"], streamTop);
  }

  /** The sender of one service: one transaction at a time, in order, retried with backoff. */
  async #run(reg: AppserviceRegistration): Promise<void> {
    await this.#ready;
    let failures = 0;
    const signal = this.#closing.signal;
    while (!signal.aborted) {
      let txn: TxnRecord | null;
      this.#dirty.delete(reg.id);
      try {
        txn = await this.#nextTransaction(reg);
      } catch (err) {
        console.error(`appservice ${reg.id}: reading the queue failed:`, err);
        txn = null;
        await this.#sleep(this.#options.retryBaseMs);
        continue;
      }
      if (!txn) {
        await this.#waitForWork(reg);
        continue;
      }
      if (await this.#send(reg, txn)) {
        await this.#hs.kv.delete(["appservice", "txn", reg.id]);
        failures = 0;
        continue;
      }
      failures++;
      const delay = Math.min(
        this.#options.retryBaseMs * 2 ** Math.min(failures - 1, 30),
        this.#options.retryMaxMs,
      );
      await this.#sleep(delay);
    }
  }

  /** The transaction in flight, or a new one from the head of the queue (one commit). */
  async #nextTransaction(reg: AppserviceRegistration): Promise<TxnRecord | null> {
    const { kv } = this.#hs;
    const inFlight = await kv.get<TxnRecord>(["appservice", "txn", reg.id]);
    if (inFlight.value) return inFlight.value;
    const keys: Deno.KvKey[] = [];
    const eventIds: string[] = [];
    const iter = kv.list({ prefix: ["appservice", "queue", reg.id] }, { limit: MAX_TXN_EVENTS });
    for await (const entry of iter) {
      keys.push(entry.key);
      eventIds.push(entry.key[4] as string);
    }
    const ephemeral = reg.receiveEphemeral
      ? this.#ephemeral.take(reg.id, MAX_TXN_EPHEMERAL_BYTES)
      : [];
    if (keys.length === 0 && ephemeral.length === 0) return null;
    const counter = await kv.get<number>(["appservice", "next_txn", reg.id]);
    const n = counter.value ?? 1;
    const txn: TxnRecord = { txnId: String(n), eventIds };
    if (ephemeral.length > 0) txn.ephemeral = ephemeral;
    const op = kv.atomic().check(inFlight).check(counter)
      .set(["appservice", "txn", reg.id], txn)
      .set(["appservice", "next_txn", reg.id], n + 1);
    for (const key of keys) op.delete(key);
    return (await op.commit()).ok ? txn : null;
  }

  async #send(reg: AppserviceRegistration, txn: TxnRecord): Promise<boolean> {
    const stored = await this.#hs.rooms.events(txn.eventIds);
    const found = txn.eventIds.map((id) => stored.get(id)).filter((s) => s !== undefined);
    const events = await clientEvents(this.#hs.rooms, found);
    const answer = await callAppservice(
      reg,
      `${APP_V1}/transactions/${encodeURIComponent(txn.txnId)}`,
      {
        method: "PUT",
        body: txn.ephemeral ? { events, ephemeral: txn.ephemeral } : { events },
        timeoutMs: this.#options.timeoutMs,
        signal: this.#closing.signal,
      },
    );
    if (!answer.ok && !this.#closing.signal.aborted) {
      const why = answer.status === 0 ? answer.error ?? "no answer" : `HTTP ${answer.status}`;
      console.error(`appservice ${reg.id}: transaction ${txn.txnId} failed (${why}); will retry`);
    }
    return answer.ok;
  }

  #waitForWork(reg: AppserviceRegistration): Promise<void> {
    if (this.#dirty.has(reg.id) || this.#closing.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wakers.set(reg.id, () => {
        this.#wakers.delete(reg.id);
        resolve();
      });
    });
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#closing.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
  }
}
