/**
 * EDUs (ephemeral data units: typing, receipts, presence, device lists, to-device messages)
 * to other servers. Outbound, they wait in KV per destination (`["fed_edu", destination, seq]`)
 * until the sender (`sender.ts`) takes up to 100 of them into a transaction, which it stores
 * with the transaction in flight, so a retry sends the same ones. Inbound, a transaction's EDUs
 * go to the handler registered for their `edu_type` (features register theirs when their
 * routes are made); an EDU nobody handles, or whose handler fails, is dropped, as the spec has
 * it (EDUs carry no acknowledgement).
 *
 * @module
 */

import { isValidServerName } from "../../federation/identifiers.ts";
import type { JsonObject } from "../../federation/types.ts";

/** The largest EDU kept (as JSON text): larger ones must be split by their sender. */
export const MAX_EDU_CHARS = 60_000;
/** Destinations written per KV commit. */
const DESTINATIONS_PER_COMMIT = 200;

/** Key builders of the outbound EDU queue. */
export const eduKeys = {
  /** `["fed_edu", destination, seq]` -> the EDU as JSON text. */
  item: (destination: string, seq: number): Deno.KvKey => ["fed_edu", destination, seq],
  /** A destination's queue. */
  of: (destination: string): Deno.KvKey => ["fed_edu", destination],
  /** Every queue. */
  all: (): Deno.KvKey => ["fed_edu"],
};

/** An EDU too large to queue as one. */
export class EduTooLargeError extends Error {
  readonly code = "M_TOO_LARGE";
  constructor(type: string, chars: number) {
    super(`an ${type} EDU of ${chars} characters is too large to queue; split it`);
    this.name = "EduTooLargeError";
  }
}

/** Handles one inbound EDU's content from `origin`. */
export type EduHandler = (origin: string, content: JsonObject) => Promise<void> | void;

/** The outbound queue and the inbound dispatch of EDUs (one per server: `hs.edus`). */
export class Edus {
  readonly #kv: Deno.Kv;
  readonly #serverName: string;
  readonly #handlers = new Map<string, EduHandler>();
  #wake: (destinations: readonly string[]) => void = () => {};
  #seq = 0;

  constructor(kv: Deno.Kv, options: { serverName: string }) {
    this.#kv = kv;
    this.#serverName = options.serverName;
  }

  /** Who to wake when EDUs were queued (the sender). */
  onQueued(wake: (destinations: readonly string[]) => void): void {
    this.#wake = wake;
  }

  /**
   * Queues one EDU for each destination (this server and invalid names are skipped) and wakes
   * the sender. Resolves once the queue entries are written.
   *
   * @throws {EduTooLargeError} when the EDU is larger than {@link MAX_EDU_CHARS}
   */
  async send(
    destinations: Iterable<string>,
    edu: { edu_type: string; content: JsonObject },
  ): Promise<string[]> {
    const targets = [...new Set(destinations)]
      .filter((d) => d !== this.#serverName && isValidServerName(d)).sort();
    if (targets.length === 0) return [];
    const text = JSON.stringify(edu);
    if (text.length > MAX_EDU_CHARS) throw new EduTooLargeError(edu.edu_type, text.length);
    for (let i = 0; i < targets.length; i += DESTINATIONS_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (const destination of targets.slice(i, i + DESTINATIONS_PER_COMMIT)) {
        op.set(eduKeys.item(destination, this.#nextSeq()), text);
      }
      const result = await op.commit();
      if (!result.ok) throw new Error("could not queue an EDU");
    }
    this.#wake(targets);
    return targets;
  }

  /**
   * Takes up to `limit` of a destination's EDUs, oldest first, out of the queue (the sender
   * keeps them with its transaction in flight).
   */
  async take(destination: string, limit: number): Promise<JsonObject[]> {
    const entries: Deno.KvEntry<string>[] = [];
    for await (
      const entry of this.#kv.list<string>({ prefix: eduKeys.of(destination) }, { limit })
    ) {
      entries.push(entry);
    }
    if (entries.length === 0) return [];
    const out: JsonObject[] = [];
    for (let i = 0; i < entries.length; i += 100) {
      const op = this.#kv.atomic();
      for (const entry of entries.slice(i, i + 100)) op.check(entry).delete(entry.key);
      const result = await op.commit();
      if (!result.ok) continue; // taken meanwhile by another sender: not ours to send
      for (const entry of entries.slice(i, i + 100)) {
        try {
          out.push(JSON.parse(entry.value) as JsonObject);
        } catch { /* a broken entry is dropped */ }
      }
    }
    return out;
  }

  /** Destinations with EDUs waiting (for waking the sender at start-up). */
  async pendingDestinations(): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    while (true) {
      const selector: Deno.KvListSelector = cursor === null
        ? { prefix: eduKeys.all() }
        : { prefix: eduKeys.all(), start: [...eduKeys.of(cursor), Infinity] };
      let found: string | null = null;
      for await (const entry of this.#kv.list(selector, { limit: 1 })) {
        found = entry.key[1] as string;
      }
      if (found === null) return out;
      out.push(found);
      cursor = found;
    }
  }

  /** Registers the handler of an inbound EDU type (one per type; the last one wins). */
  handle(type: string, handler: EduHandler): void {
    this.#handlers.set(type, handler);
  }

  /** Hands a transaction's EDUs from `origin` to their handlers; failures are logged. */
  async dispatch(origin: string, edus: readonly unknown[]): Promise<void> {
    for (const edu of edus) {
      if (typeof edu !== "object" || edu === null || Array.isArray(edu)) continue;
      const { edu_type: type, content } = edu as Record<string, unknown>;
      if (typeof type !== "string") continue;
      if (typeof content !== "object" || content === null || Array.isArray(content)) continue;
      const handler = this.#handlers.get(type);
      if (!handler) continue;
      try {
        await handler(origin, content as JsonObject);
      } catch (err) {
        console.error(`EDU ${type.slice(0, 64)} from ${origin}:`, err);
      }
    }
  }

  #nextSeq(): number {
    this.#seq = Math.max(this.#seq + 1, Date.now() * 1000);
    return this.#seq;
  }
}
