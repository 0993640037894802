/**
 * The push worker: it hears every committed room event from the pipeline, evaluates the push
 * rules of the room's local members who have HTTP pushers, queues a notification per pusher
 * in KV (`push_queue.ts`), and delivers the queue to the push gateways, one pusher at a time in
 * event order, retrying with exponential backoff.
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
import { getAccountData } from "../store/account_data.ts";
import { BadgeUpdater } from "./badge_updates.ts";
import { notificationBody } from "./gateway.ts";
import { GatewayError, postToGateway } from "./gateway_http.ts";
import { evaluateFor, memberIn, stateAtEvent, unreadBadge } from "./notifications.ts";
import {
  afterFailure,
  priorityOf,
  type PushQueueItem,
  pushQueueKeys,
  type PushRetryState,
  shouldGiveUp,
  tweaksOf,
} from "./push_queue.ts";
import {
  addressOf,
  deletePusher,
  listPushers,
  type PusherAddress,
  pusherKeys,
  storedPusherOf,
  usersWithPushers,
} from "./pusher_store.ts";
import { cachedPushRules } from "./rules_store.ts";

/** How often the cursor follows the stream while nothing needs evaluating. */
const CURSOR_INTERVAL_MS = 5_000;
/** Timeline entries per room evaluated again at start-up, at most. */
const RECOVERY_PER_ROOM = 1_000;
/**
 * Events waiting in memory for evaluation, at most; beyond, they are left to the timeline
 * (the cursor stays below them, and they are read back once the backlog is gone).
 */
const MAX_PENDING = 10_000;
/** Queue items read per KV list during delivery. */
const DELIVERY_BATCH = 20;

interface Pending {
  pos: number;
  stored: StoredEvent;
  /** Who to evaluate for; undefined: the room's local members with pushers. */
  users?: Set<string>;
}

function addressKey(a: PusherAddress): string {
  return JSON.stringify([a.userId, a.appId, a.pushkey]);
}

/** Evaluates and delivers push notifications of one server. */
export class PushWorker {
  readonly #hs: Homeserver;
  #pusherUsers = new Set<string>();
  #accepting = false;
  #closed = false;
  #queue: Pending[] = [];
  #processing: Promise<void> | null = null;
  #cursorWritten = 0;
  /** The lowest position of an event not kept in memory because the backlog was full. */
  #overflowFrom: number | null = null;
  #cursorTimer: ReturnType<typeof setInterval> | undefined;
  readonly #drains = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #started: Promise<void> | null = null;
  readonly #badges: BadgeUpdater;

  constructor(hs: Homeserver) {
    this.#hs = hs;
    this.#badges = new BadgeUpdater(hs, {
      hasPusher: (userId) => this.#pusherUsers.has(userId),
      anyPushers: () => this.#pusherUsers.size > 0,
    });
  }

  /** The pipeline subscriber: queues an event whose room has a member with a pusher. */
  onCommitted(committed: CommittedEvent): void {
    if (!this.#accepting || this.#pusherUsers.size === 0) return;
    if (committed.streamPos === null || committed.pos === null) return;
    if (committed.outcome !== "accepted") return;
    const listeners = this.#hs.notifier.listenersOf(committed.stored.event.roomId);
    let any = false;
    if (listeners.size <= this.#pusherUsers.size) {
      for (const user of listeners) if (this.#pusherUsers.has(user)) any = true;
    } else {
      for (const user of this.#pusherUsers) if (listeners.has(user)) any = true;
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
    this.#pusherUsers = await usersWithPushers(hs.kv);
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
      if (cursor < upto && this.#pusherUsers.size > 0) await this.#recover(cursor, upto);
    }
    this.#kick();
    this.#cursorTimer = setInterval(() => {
      if (this.#queue.length === 0 && this.#processing === null) this.#kick();
    }, CURSOR_INTERVAL_MS);
    for (const userId of this.#pusherUsers) {
      for (const stored of await listPushers(hs.kv, userId)) this.wake(addressOf(userId, stored));
    }
  }

  /** Queues the events of pushed users' rooms in `(after, upto]` for evaluation. */
  async #recover(after: number, upto: number): Promise<void> {
    const byEvent = new Map<string, { pos: number; users: Set<string> }>();
    for (const userId of this.#pusherUsers) {
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
    for (const [eventId, { pos, users }] of ordered) {
      const stored = loaded.get(eventId);
      if (stored) this.#queue.push({ pos, stored, users });
    }
  }

  /** The user's pushers changed: keep the in-memory set right and deliver what is queued. */
  async pushersChanged(userId: string): Promise<void> {
    const pushers = await listPushers(this.#hs.kv, userId);
    if (pushers.length > 0) this.#pusherUsers.add(userId);
    else this.#pusherUsers.delete(userId);
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
      if (user !== event.sender && this.#pusherUsers.has(user)) candidates.push(user);
    }
    if (candidates.length === 0) return;
    const room = await stateAtEvent(hs, stored);
    if (!room) return;
    const op = hs.kv.atomic();
    const woken: PusherAddress[] = [];
    for (const userId of candidates) {
      const member = await memberIn(hs, room.state, userId);
      const invited = event.type === "m.room.member" && event.stateKey === userId &&
        event.content.membership === "invite";
      if (member.membership !== "join" && !invited) continue;
      if (await this.#ignores(userId, event.sender)) continue;
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
      for (const pusher of await listPushers(hs.kv, userId)) {
        if (pusher.pusher.kind !== "http") continue;
        const address = addressOf(userId, pusher);
        op.set(pushQueueKeys.item(address, pos, event.eventId), item);
        woken.push(address);
      }
    }
    if (woken.length === 0) return;
    const result = await op.commit();
    if (!result.ok) throw new Error("push queue commit failed");
    for (const address of woken) this.wake(address);
  }

  async #ignores(userId: string, sender: string): Promise<boolean> {
    const record = await getAccountData(this.#hs, userId, {
      roomId: "",
      type: "m.ignored_user_list",
    });
    const ignored = (record?.content as { ignored_users?: unknown } | undefined)?.ignored_users;
    return typeof ignored === "object" && ignored !== null && Object.hasOwn(ignored, sender);
  }

  /** Delivers a pusher's queue (unless it is backing off or already being delivered). */
  wake(address: PusherAddress): void {
    if (this.#closed) return;
    const key = addressKey(address);
    if (this.#drains.has(key)) {
      this.#again.add(key);
      return;
    }
    const timer = this.#timers.get(key);
    if (timer !== undefined) return; // backing off: the timer delivers
    const run = this.#drain(address).catch((err) => {
      console.error("push delivery failed:", err);
    }).finally(() => {
      this.#drains.delete(key);
      if (this.#again.delete(key)) this.wake(address);
    });
    this.#drains.set(key, run);
  }

  #retryAt(address: PusherAddress, when: number): void {
    const key = addressKey(address);
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.wake(address);
    }, Math.max(0, when - Date.now()));
    this.#timers.set(key, timer);
  }

  async #drain(address: PusherAddress): Promise<void> {
    const { kv } = this.#hs;
    let retry = (await kv.get<PushRetryState>(pushQueueKeys.retry(address))).value;
    while (!this.#closed) {
      if (retry && retry.backoffUntil > Date.now()) {
        this.#retryAt(address, retry.backoffUntil);
        return;
      }
      const entries: Deno.KvEntry<PushQueueItem>[] = [];
      for await (
        const entry of kv.list<PushQueueItem>({ prefix: pushQueueKeys.itemsOf(address) }, {
          limit: DELIVERY_BATCH,
        })
      ) entries.push(entry);
      if (entries.length === 0) return;
      const pusherEntry = await kv.get(pusherKeys.pusher(address));
      if (pusherEntry.value === null) {
        await deletePusher(kv, address);
        return;
      }
      const pusher = storedPusherOf(pusherEntry.value);
      for (const entry of entries) {
        if (this.#closed) return;
        const outcome = await this.#deliver(address, pusher, entry, retry);
        if (outcome === "removed") return;
        if (outcome === "retry") {
          retry = afterFailure(retry, Date.now());
          await kv.set(pushQueueKeys.retry(address), retry);
          this.#retryAt(address, retry.backoffUntil);
          return;
        }
        if (retry) {
          retry = null;
          await kv.delete(pushQueueKeys.retry(address));
        }
      }
    }
  }

  async #deliver(
    address: PusherAddress,
    pusher: ReturnType<typeof storedPusherOf>,
    entry: Deno.KvEntry<PushQueueItem>,
    retry: PushRetryState | null,
  ): Promise<"done" | "retry" | "removed"> {
    const hs = this.#hs;
    const item = entry.value;
    const stored = await hs.rooms.event(item.eventId);
    // A redacted event is not pushed: its content is gone, and so is the reason to alert.
    if (!stored || stored.meta.redactedBy !== null) {
      await hs.kv.delete(entry.key);
      return "done";
    }
    const badge = await unreadBadge(hs, address.userId);
    const body = await notificationBody(hs, { userId: address.userId, pusher, item, stored }, {
      unread: badge,
    });
    const url = String((pusher.pusher.data as { url?: unknown } | undefined)?.url ?? "");
    let rejected: unknown[] = [];
    try {
      const answer = await postToGateway(url, body, {
        allowPrivateAddresses: hs.config.push.allowPrivateAddresses,
      });
      if (answer.status < 200 || answer.status > 299) {
        throw new GatewayError("FAILED", `the gateway answered ${answer.status}`);
      }
      const list = (answer.body as { rejected?: unknown } | null)?.rejected;
      if (Array.isArray(list)) rejected = list;
    } catch (err) {
      const permanent = err instanceof GatewayError && err.code !== "FAILED";
      if (permanent || shouldGiveUp(retry, Date.now())) {
        console.error(`push to ${url} dropped for ${item.eventId}:`, String(err));
        await hs.kv.delete(entry.key);
        return "done";
      }
      return "retry";
    }
    await hs.kv.delete(entry.key);
    this.#badges.sent(address.userId, badge);
    if (rejected.includes(address.pushkey)) {
      // The gateway says the pushkey is no longer valid: the spec has the pusher removed.
      await deletePusher(hs.kv, address);
      await this.pushersChanged(address.userId);
      return "removed";
    }
    return "done";
  }

  /** Stops timers, finishes the evaluation in progress and writes the cursor. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#cursorTimer);
    await this.#badges.close();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.#started;
    if (this.#processing) await this.#processing;
    await Promise.allSettled([...this.#drains.values()]);
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
    hs.pipeline.subscribe((committed) => created.onCommitted(committed));
    hs.addCloseHook(() => created.close());
    created.start();
  }
  return worker;
}
