/**
 * Ephemeral data for services whose registration sets `receive_ephemeral` (spec: Application
 * Service API, "Pushing ephemeral data"): read receipts of rooms the service is interested in
 * (private ones only of its own users) and presence of local users it shares a room with or
 * that are in its namespace. Typing notifications are not pushed yet.
 *
 * Ephemeral data is not durable (as in Synapse): what arrives while the server runs is held in
 * memory until the service's next transaction takes it; that transaction stores it with its
 * events, so a retry sends the same data.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { JsonObject } from "../http_util.ts";
import { type ReceiptEntry, receiptsBetween } from "../store/receipts.ts";
import { getPresence, onPresenceWritten } from "../store/presence.ts";
import { matchesNamespace, ownsUser } from "./registration.ts";
import type { AppserviceRegistration } from "./registration.ts";

/** Items held per service at most; older ones are dropped first. */
const MAX_HELD = 200;

/** Collects receipts and presence for the services that want them. */
export class EphemeralFeed {
  readonly #hs: Homeserver;
  readonly #services: readonly AppserviceRegistration[];
  readonly #held = new Map<string, JsonObject[]>();
  readonly #onData: (asId: string) => void;
  #receiptCursor: number | null = null;
  #receiptTarget = 0;
  #reading: Promise<void> | null = null;
  #stopped = false;

  /**
   * @param hs the server
   * @param options the services (only those with `receive_ephemeral` are fed) and a callback
   *   told when a service has new data
   */
  constructor(
    hs: Homeserver,
    options: { services: readonly AppserviceRegistration[]; onData: (asId: string) => void },
  ) {
    this.#hs = hs;
    this.#services = options.services.filter((reg) => reg.receiveEphemeral && reg.url !== null);
    this.#onData = options.onData;
  }

  /** Starts following receipts (from stream position `from`) and presence writes. */
  start(from: number): void {
    if (this.#services.length === 0) return;
    this.#receiptCursor = from;
    this.#hs.stream.onVisible((visible) => {
      this.#receiptTarget = Math.max(this.#receiptTarget, visible);
      this.#kick();
    });
    onPresenceWritten(this.#hs, (userId) => {
      if (!this.#stopped) this.#presence(userId).catch((err) => this.#log(err));
    });
  }

  /** Stops following (held data is dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#reading;
  }

  /** Takes up to `maxBytes` of the data held for a service. */
  take(asId: string, maxBytes: number): JsonObject[] {
    const held = this.#held.get(asId);
    if (!held || held.length === 0) return [];
    let bytes = 0;
    let n = 0;
    while (n < held.length) {
      bytes += JSON.stringify(held[n]).length;
      if (bytes > maxBytes && n > 0) break;
      n++;
    }
    return held.splice(0, n);
  }

  /** Whether data is held for a service. */
  has(asId: string): boolean {
    return (this.#held.get(asId)?.length ?? 0) > 0;
  }

  #kick(): void {
    if (this.#reading || this.#stopped) return;
    this.#reading = this.#readReceipts()
      .catch((err) => this.#log(err))
      .finally(() => {
        this.#reading = null;
        if (this.#receiptCursor !== null && this.#receiptCursor < this.#receiptTarget) this.#kick();
      });
  }

  async #readReceipts(): Promise<void> {
    const since = this.#receiptCursor!;
    const upto = this.#receiptTarget;
    if (upto <= since) return;
    const byRoom = await receiptsBetween(this.#hs, { since, upto });
    this.#receiptCursor = upto;
    for (const [roomId, entries] of byRoom) {
      const members = [...this.#hs.notifier.listenersOf(roomId)];
      for (const reg of this.#services) {
        const interested = matchesNamespace(reg, "rooms", roomId) ||
          members.some((userId) => ownsUser(reg, userId)) ||
          entries.some((entry) => ownsUser(reg, entry.userId));
        if (!interested) continue;
        const content = receiptContent(entries, reg);
        if (content) this.#hold(reg.id, { type: "m.receipt", room_id: roomId, content });
      }
    }
  }

  async #presence(userId: string): Promise<void> {
    const record = await getPresence(this.#hs, userId);
    if (!record) return;
    const rooms = await this.#hs.rooms.joinedRooms(userId);
    const now = Date.now();
    const content: JsonObject = {
      presence: record.presence,
      last_active_ago: Math.max(0, now - record.lastActiveTs),
    };
    if (record.presence === "online") content.currently_active = now - record.lastActiveTs < 60_000;
    if (record.statusMsg !== null) content.status_msg = record.statusMsg;
    for (const reg of this.#services) {
      const shares = ownsUser(reg, userId) ||
        rooms.some((roomId) =>
          [...this.#hs.notifier.listenersOf(roomId)].some((member) => ownsUser(reg, member))
        );
      if (shares) this.#hold(reg.id, { type: "m.presence", sender: userId, content });
    }
  }

  #hold(asId: string, item: JsonObject): void {
    let held = this.#held.get(asId);
    if (!held) this.#held.set(asId, held = []);
    held.push(item);
    if (held.length > MAX_HELD) held.splice(0, held.length - MAX_HELD);
    this.#onData(asId);
  }

  #log(err: unknown): void {
    if (!this.#stopped) console.error("appservice: reading ephemeral data failed:", err);
  }
}

/** The `m.receipt` content for a service: private receipts only of its own users. */
function receiptContent(
  entries: readonly ReceiptEntry[],
  reg: AppserviceRegistration,
): JsonObject | null {
  const content: Record<string, Record<string, Record<string, JsonObject>>> = {};
  let any = false;
  for (const entry of entries) {
    if (entry.receiptType === "m.read.private" && !ownsUser(reg, entry.userId)) continue;
    const byType = content[entry.eventId] ??= {};
    const byUser = byType[entry.receiptType] ??= {};
    const data: JsonObject = { ts: entry.ts };
    if (entry.threadKey !== "") data.thread_id = entry.threadKey;
    byUser[entry.userId] = data;
    any = true;
  }
  return any ? content : null;
}
