/**
 * Ephemeral data for services whose registration sets `receive_ephemeral` (spec: Application
 * Service API, "Pushing ephemeral data"): read receipts and typing notifications of rooms the
 * service is interested in (as for events: the room's ID or one of its aliases in the service's
 * namespaces, or one of its users in the room; private receipts only of its own users), and
 * presence of local users it shares a room with or that are in its namespace.
 *
 * Typing comes from the typing tracker's change listener (`server/sync/typing.ts`), local and
 * remote typing alike, as `m.typing` with the room's whole typing set and its `room_id`; a
 * newer set for a room replaces one still held, since only the latest matters.
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
import { typingTracker } from "../sync/typing.ts";
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
  /** Typing changes are handled one after another, so a stop never overtakes its start. */
  #typingChain: Promise<void> = Promise.resolve();
  #stopTyping: (() => void) | null = null;
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
    this.#stopTyping = typingTracker(this.#hs).onChange((roomId, userIds) => {
      if (this.#stopped) return;
      this.#typingChain = this.#typingChain
        .then(() => this.#typing(roomId, userIds))
        .catch((err) => this.#log(err));
    });
  }

  /** Stops following (held data is dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopTyping?.();
    await Promise.all([this.#reading, this.#typingChain]);
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
      const users = entries.map((entry) => entry.userId);
      for (const reg of await this.#interested(roomId, users)) {
        const content = receiptContent(entries, reg);
        if (content) this.#hold(reg.id, { type: "m.receipt", room_id: roomId, content });
      }
    }
  }

  async #typing(roomId: string, userIds: string[]): Promise<void> {
    if (this.#stopped) return;
    const item: JsonObject = { type: "m.typing", room_id: roomId, content: { user_ids: userIds } };
    for (const reg of await this.#interested(roomId, userIds)) {
      const held = this.#held.get(reg.id);
      const older = held?.findIndex((e) => e.type === "m.typing" && e.room_id === roomId) ?? -1;
      if (older >= 0) held!.splice(older, 1);
      this.#hold(reg.id, item);
    }
  }

  /**
   * The services interested in a room's ephemeral data: its ID or one of its aliases is in
   * their namespaces, or one of their users is a local member or among `users` (who made it).
   */
  async #interested(
    roomId: string,
    users: readonly string[],
  ): Promise<AppserviceRegistration[]> {
    const members = [...this.#hs.notifier.listenersOf(roomId)];
    let aliases: string[] | null = null;
    const out: AppserviceRegistration[] = [];
    for (const reg of this.#services) {
      let interested = matchesNamespace(reg, "rooms", roomId) ||
        members.some((userId) => ownsUser(reg, userId)) ||
        users.some((userId) => ownsUser(reg, userId));
      if (!interested && reg.namespaces.aliases.length > 0) {
        aliases ??= await roomAliases(this.#hs, roomId);
        interested = aliases.some((alias) => matchesNamespace(reg, "aliases", alias));
      }
      if (interested) out.push(reg);
    }
    return out;
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

/** The room's local aliases and those its canonical alias event advertises. */
async function roomAliases(hs: Homeserver, roomId: string): Promise<string[]> {
  const aliases = await hs.rooms.aliasesOf(roomId);
  const canonical = (await hs.rooms.currentStateEvent(roomId, "m.room.canonical_alias", ""))?.event
    .content;
  if (typeof canonical?.alias === "string") aliases.push(canonical.alias);
  if (Array.isArray(canonical?.alt_aliases)) {
    for (const alias of canonical.alt_aliases) if (typeof alias === "string") aliases.push(alias);
  }
  return aliases;
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
