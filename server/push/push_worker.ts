/**
 * The push worker: it hears every committed room event from the pipeline, evaluates the push
 * rules of the room's local members who have HTTP or Web Push pushers, queues a notification
 * per pusher in KV (`push_queue.ts`), and has the queue delivered to the push gateways or push
 * services (`push_delivery.ts`) and badge updates sent after reads (`badge_updates.ts`).
 *
 * The pipeline's subscriber only checks, in memory, whether a member of the room has a pusher:
 * sending in rooms where nobody is pushed to costs one set lookup. Evaluation runs after the
 * commit; the durable cursor (`["push_cursor"]`) records the stream position up to which every
 * event was evaluated, so events committed just before a crash are evaluated at the next
 * start-up. Delivery is at least once: a gateway is asked to drop duplicates by event ID.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { CommittedEvent } from "../rooms/pipeline_types.ts";
import type { StoredEvent } from "../rooms/room_store.ts";
import { ignoredUsers } from "../sync/ignored_users.ts";
import { BadgeUpdater } from "./badge_updates.ts";
import { evaluateFor, memberIn, stateAtEvent } from "./notifications.ts";
import { GatewayPool } from "./gateway_http.ts";
import { PushDelivery } from "./push_delivery.ts";
import { priorityOf, type PushQueueItem, pushQueueKeys, tweaksOf } from "./push_queue.ts";
import {
  addressOf,
  allPushers,
  isDelivered,
  listPushers,
  type PusherAddress,
  type StoredPusher,
} from "./pusher_store.ts";
import { cachedPushRules } from "./rules_store.ts";
import { invitesBlocked } from "../client/invite_permission.ts";

/** How often the cursor follows the stream while nothing needs evaluating. */
const CURSOR_INTERVAL_MS = 5_000;
/** Timeline entries per room evaluated again at start-up, at most. */
const RECOVERY_PER_ROOM = 1_000;
/**
 * Events waiting in memory for evaluation, at most; beyond, they are left to the timeline
 * (the cursor stays below them, and they are read back once the backlog is gone).
 */
const MAX_PENDING = 10_000;
/** Queue items written per KV commit. */
const QUEUE_WRITES_PER_COMMIT = 500;
/**
 * Events evaluated again at start-up must be at most this old: after a long stop (or with
 * delivery switched off for a while), phones are not woken for yesterday's messages.
 */
const RECOVERY_MAX_AGE_MS = 60 * 60 * 1000;

interface Pending {
  pos: number;
  stored: StoredEvent;
  /** Who to evaluate for; undefined: the room's local members with pushers. */
  users?: Set<string>;
}

/** Evaluates and delivers push notifications of one server. */
export class PushWorker {
  readonly #hs: Homeserver;
  /** Every user's pushers, kept in step with storage by {@link pushersChanged}. */
  #pushers = new Map<string, StoredPusher[]>();
  #accepting = false;
  #closed = false;
  #queue: Pending[] = [];
  #processing: Promise<void> | null = null;
  #cursorWritten = 0;
  /** The lowest position of an event not kept in memory because the backlog was full. */
  #overflowFrom: number | null = null;
  #cursorTimer: ReturnType<typeof setInterval> | undefined;
  #started: Promise<void> | null = null;
  readonly #badges: BadgeUpdater;
  readonly #delivery: PushDelivery;
  readonly #pool = new GatewayPool();

  constructor(hs: Homeserver) {
    this.#hs = hs;
    this.#badges = new BadgeUpdater(hs, {
      hasPusher: (userId) => this.#pushers.has(userId),
      anyPushers: () => this.#pushers.size > 0,
      pool: this.#pool,
    });
    this.#delivery = new PushDelivery(hs, {
      delivered: (userId, badge) => this.#badges.sent(userId, badge),
      pusherRemoved: (userId) => this.pushersChanged(userId),
      pool: this.#pool,
    });
  }

  /** The pipeline subscriber: queues an event whose room has a member with a pusher. */
  onCommitted(committed: CommittedEvent): void {
    if (!this.#accepting || this.#pushers.size === 0) return;
    if (committed.streamPos === null || committed.pos === null) return;
    if (committed.outcome !== "accepted") return;
    const listeners = this.#hs.notifier.listenersOf(committed.stored.event.roomId);
    let any = false;
    if (listeners.size <= this.#pushers.size) {
      for (const user of listeners) if (this.#pushers.has(user)) any = true;
    } else {
      for (const user of this.#pushers.keys()) if (listeners.has(user)) any = true;
    }
    if (!any) return;
    if (this.#queue.length >= MAX_PENDING || this.#overflowFrom !== null) {
      this.#overflowFrom ??= committed.pos;
      return;
    }
    this.#queue.push({ pos: committed.pos, stored: committed.stored });
    this.#kick();
  }

  /** Starts the worker once the server's stream is loaded (start-up evaluation, delivery). */
  start(): Promise<void> {
    this.#started ??= this.#start().catch((err) => console.error("push worker start:", err));
    return this.#started;
  }

  async #start(): Promise<void> {
    const hs = this.#hs;
    while (!hs.stream.loaded) {
      if (this.#closed) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.#pushers = await allPushers(hs.kv);
    this.#accepting = true;
    this.#badges.start();
    const cursor = (await hs.kv.get<number>(pushQueueKeys.cursor())).value;
    if (cursor === null) {
      // The first start: history is not pushed.
      await this.#writeCursor(hs.stream.visiblePosition);
    } else {
      // The cursor moves past these events once they are evaluated (#process).
      this.#cursorWritten = cursor;
      const upto = hs.stream.highestAllocated;
      if (cursor < upto && this.#pushers.size > 0) await this.#recover(cursor, upto);
    }
    this.#kick();
    this.#cursorTimer = setInterval(() => {
      if (this.#queue.length === 0 && this.#processing === null) this.#kick();
    }, CURSOR_INTERVAL_MS);
    for (const [userId, pushers] of this.#pushers) {
      for (const stored of pushers) this.wake(addressOf(userId, stored));
    }
  }

  /** Queues the events of pushed users' rooms in `(after, upto]` for evaluation. */
  async #recover(after: number, upto: number): Promise<void> {
    const byEvent = new Map<string, { pos: number; users: Set<string> }>();
    for (const userId of this.#pushers.keys()) {
      for (const m of await this.#hs.rooms.roomsOfUser(userId)) {
        if (m.membership !== "join" && m.membership !== "invite") continue;
        const entries = await this.#hs.rooms.timeline(m.roomId, {
          dir: "f",
          from: after,
          to: upto,
          limit: RECOVERY_PER_ROOM,
        });
        for (const entry of entries) {
          const found = byEvent.get(entry.eventId) ?? { pos: entry.pos, users: new Set() };
          found.users.add(userId);
          byEvent.set(entry.eventId, found);
        }
      }
    }
    const ordered = [...byEvent].sort((a, b) => a[1].pos - b[1].pos);
    const loaded = await this.#hs.rooms.events(ordered.map(([id]) => id));
    const oldest = Date.now() - RECOVERY_MAX_AGE_MS;
    for (const [eventId, { pos, users }] of ordered) {
      const stored = loaded.get(eventId);
      if (stored && stored.meta.receivedTs >= oldest) this.#queue.push({ pos, stored, users });
    }
  }

  /** The user's pushers changed: keep the in-memory set right and deliver what is queued. */
  async pushersChanged(userId: string): Promise<void> {
    const pushers = await listPushers(this.#hs.kv, userId);
    if (pushers.length > 0) this.#pushers.set(userId, pushers);
    else this.#pushers.delete(userId);
  }

  #kick(): void {
    if (this.#processing || this.#closed || !this.#accepting) return;
    this.#processing = this.#process().finally(() => {
      this.#processing = null;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #process(): Promise<void> {
    while (!this.#closed || this.#queue.length > 0) {
      // Every event at or below `visible` was published before this point, so it is in the
      // batch (or was not for anyone with a pusher).
      const visible = this.#hs.stream.visiblePosition;
      const batch = this.#queue.splice(0);
      for (const pending of batch) {
        try {
          await this.#evaluate(pending);
        } catch (err) {
          console.error(`push evaluation of ${pending.stored.event.eventId} failed:`, err);
        }
      }
      const overflow = this.#overflowFrom;
      const upto = overflow === null ? visible : Math.min(visible, overflow - 1);
      if (upto > this.#cursorWritten) await this.#writeCursor(upto);
      if (this.#queue.length === 0 && overflow !== null && !this.#closed) {
        // The backlog is gone: read the events that did not fit from the timelines. Events
        // still in flight now are published after this point, so they are queued live.
        this.#overflowFrom = null;
        await this.#recover(overflow - 1, this.#hs.stream.highestAllocated);
      }
      if (this.#queue.length === 0) return;
    }
  }

  async #writeCursor(pos: number): Promise<void> {
    await this.#hs.kv.set(pushQueueKeys.cursor(), pos);
    this.#cursorWritten = pos;
  }

  async #evaluate(pending: Pending): Promise<void> {
    const hs = this.#hs;
    const { stored, pos } = pending;
    const { event } = stored;
    const candidates: string[] = [];
    for (const user of pending.users ?? hs.notifier.listenersOf(event.roomId)) {
      if (user !== event.sender && this.#pushers.has(user)) candidates.push(user);
    }
    if (candidates.length === 0) return;
    const room = await stateAtEvent(hs, stored);
    if (!room) return;
    const writes: [Deno.KvKey, PushQueueItem][] = [];
    const woken: PusherAddress[] = [];
    for (const userId of candidates) {
      const member = await memberIn(hs, room.state, userId);
      const invited = event.type === "m.room.member" && event.stateKey === userId &&
        event.content.membership === "invite";
      if (member.membership !== "join" && !invited) continue;
      // No push for an ignored sender (an invite from them included, as Synapse does).
      if ((await ignoredUsers(hs, userId)).has(event.sender)) continue;
      // No push for an invite the user does not see (invite blocking, v1.18).
      if (invited && await invitesBlocked(hs, userId)) continue;
      const ruleset = await cachedPushRules(hs, userId);
      const outcome = evaluateFor(
        stored,
        { userId, displayName: member.displayName, ruleset },
        room,
      );
      if (!outcome.notify) continue;
      const tweaks = tweaksOf(outcome.actions);
      const item: PushQueueItem = {
        roomId: event.roomId,
        eventId: event.eventId,
        tweaks,
        prio: priorityOf(event.type, tweaks),
        queuedTs: Date.now(),
      };
      for (const pusher of this.#pushers.get(userId) ?? []) {
        if (!isDelivered(pusher, hs.config.email.enabled)) continue;
        const address = addressOf(userId, pusher);
        writes.push([pushQueueKeys.item(address, pos, event.eventId), item]);
        woken.push(address);
      }
    }
    // Commits stay under KV's mutation limit in rooms with many pushed members.
    for (let i = 0; i < writes.length; i += QUEUE_WRITES_PER_COMMIT) {
      const op = hs.kv.atomic();
      for (const [key, item] of writes.slice(i, i + QUEUE_WRITES_PER_COMMIT)) op.set(key, item);
      if (!(await op.commit()).ok) throw new Error("push queue commit failed");
    }
    for (const address of woken) this.wake(address);
  }

  /** Pushes a new `webpush` pusher's activation token (not when delivery is switched off). */
  sendActivation(stored: StoredPusher, token: string): void {
    if (!this.#closed && this.#hs.config.push.enabled) {
      this.#delivery.sendActivation(stored, token);
    }
  }

  /** Delivers a pusher's queue (unless it is backing off or already being delivered). */
  wake(address: PusherAddress): void {
    if (!this.#closed) this.#delivery.wake(address);
  }

  /** Stops timers, finishes the evaluation in progress and writes the cursor. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#cursorTimer);
    await this.#badges.close();
    await this.#started;
    if (this.#processing) await this.#processing;
    await this.#delivery.close();
    this.#pool.close();
  }
}

const workers = new WeakMap<Homeserver, PushWorker>();

/**
 * The server's push worker, created (and subscribed to the pipeline, and started) on first
 * use; the pusher routes call it while the server is built.
 */
export function pushWorkerOf(hs: Homeserver): PushWorker {
  let worker = workers.get(hs);
  if (!worker) {
    const created = new PushWorker(hs);
    worker = created;
    workers.set(hs, created);
    // `[push] enabled = false` (a staging copy, a command-line tool opening the data
    // directory) keeps pushers and answers the API, but evaluates and sends nothing.
    if (hs.config.push.enabled) {
      hs.pipeline.subscribe((committed) => created.onCommitted(committed));
      hs.addCloseHook(() => created.close());
      created.start();
    }
  }
  return worker;
}
