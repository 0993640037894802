/**
 * Wakes long-polling `/sync` requests when a change they must report becomes visible.
 *
 * Writers commit first and then tell the notifier who is affected and at which stream
 * position. A wake-up is held back until the stream's visible position reaches that position,
 * so that a woken sync, which reads up to the visible position, always finds the change. There
 * is no polling: a waiter is a promise resolved by the commit that concerns it, or by its
 * timeout.
 *
 * The notifier also keeps the in-memory index of the local users who are joined to, invited
 * to or knocking on each room: a room event wakes exactly those users. The room store rebuilds
 * it from KV at start-up and keeps it current after each membership change it commits.
 *
 * @module
 */

import type { StreamSequencer } from "./stream.ts";

/** Memberships whose holders receive a room's events through sync. */
const LISTENING_MEMBERSHIPS = new Set(["join", "invite", "knock"]);

interface Waiter {
  since: number;
  /** Typing serial the waiter has seen (Infinity: not interested in typing). */
  typing: number;
  resolve: (changed: boolean) => void;
}

/** Long-poll waiters by user, plus the room -> local listeners index. */
export class Notifier {
  readonly #stream: StreamSequencer;
  /** Per user: the highest position of a visible change that concerns them. */
  readonly #latest = new Map<string, number>();
  /** Per user: the typing serial of the latest typing change in one of their rooms. */
  readonly #latestTyping = new Map<string, number>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Wakes waiting for the visible position to reach `pos`, ascending by `pos`. */
  #held: { pos: number; users: Iterable<string> }[] = [];
  /** roomId -> local users with membership join, invite or knock. */
  readonly #roomListeners = new Map<string, Set<string>>();
  /** userId -> rooms in which the (local) user listens. */
  readonly #userRooms = new Map<string, Set<string>>();
  /**
   * A position at or above the last one written before this process started (null until
   * known): changes above it were all announced to this notifier, those below it were not.
   */
  #base: number | null = null;
  readonly #membershipSerials = new Map<string, number>();

  constructor(stream: StreamSequencer) {
    this.#stream = stream;
    stream.onVisible((visible) => {
      // The first advance covers at least one position this process wrote.
      this.#base ??= visible - 1;
      this.#release(visible);
    });
  }

  /**
   * Whether no change concerning `userId` above `since` has been announced yet, and every
   * change above `since` would be: a long-poll may then wait at once instead of reading
   * storage. False when `since` reaches below what this process has seen (changes written
   * before a restart).
   */
  quietSince(userId: string, since: number): boolean {
    return this.seesAllAfter(since) && (this.#latest.get(userId) ?? 0) <= since;
  }

  /**
   * Whether every write above `since` was made by this process (so announced to it, and seen
   * by whatever else watches the writes in memory): false for positions from before a restart.
   */
  seesAllAfter(since: number): boolean {
    if (this.#base === null) {
      // No write since start (a write advances the visible position); once loaded, the
      // visible position is then exactly where the previous process stopped.
      if (!this.#stream.loaded || this.#stream.highestAllocated !== this.#stream.visiblePosition) {
        return false;
      }
      this.#base = this.#stream.visiblePosition;
    }
    return since >= this.#base;
  }

  /**
   * A number that changes whenever a membership of `userId` changes (see
   * {@link setMembership}, which the pipeline calls before the change becomes visible): a
   * copy of the user's rooms read while it stayed the same is still current.
   */
  membershipSerial(userId: string): number {
    return this.#membershipSerials.get(userId) ?? 0;
  }

  /**
   * Resolves true as soon as a change concerning `userId` at a position above `since` is
   * visible, or false after `timeoutMs` (or when `signal` aborts). Resolves at once when such a
   * change is already visible.
   */
  waitForChange(
    userId: string,
    since: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return this.waitForSync(userId, { since, typing: Infinity, timeoutMs, signal });
  }

  /**
   * Like {@link waitForChange}, and also woken by a typing change (see {@link notifyTyping})
   * numbered above `typing` in one of the user's rooms. One waiter, one timer.
   */
  waitForSync(
    userId: string,
    options: { since: number; typing: number; timeoutMs: number; signal?: AbortSignal },
  ): Promise<boolean> {
    const { since, typing, timeoutMs, signal } = options;
    if ((this.#latest.get(userId) ?? 0) > since) return Promise.resolve(true);
    if ((this.#latestTyping.get(userId) ?? 0) > typing) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let set = this.#waiters.get(userId);
      if (!set) this.#waiters.set(userId, set = new Set());
      const waiter: Waiter = {
        since,
        typing,
        resolve: (changed) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const current = this.#waiters.get(userId);
          current?.delete(waiter);
          if (current?.size === 0) this.#waiters.delete(userId);
          resolve(changed);
        },
      };
      const onAbort = () => waiter.resolve(false);
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(waiter);
    });
  }

  /**
   * Wakes `userIds` for an ephemeral change (typing) numbered `serial` by its tracker. Such
   * changes have no stream position: sync tokens carry the serial beside the position.
   */
  notifyTyping(userIds: Iterable<string>, serial: number): void {
    for (const userId of userIds) {
      if ((this.#latestTyping.get(userId) ?? 0) < serial) this.#latestTyping.set(userId, serial);
      const set = this.#waiters.get(userId);
      if (!set) continue;
      for (const waiter of [...set]) if (serial > waiter.typing) waiter.resolve(true);
    }
  }

  /** The serial of the latest typing change announced to `userId` (0 when none). */
  latestTyping(userId: string): number {
    return this.#latestTyping.get(userId) ?? 0;
  }

  /**
   * Wakes `userIds` for a change committed at `pos` (default: the highest position allocated
   * so far, which is always safe), once that position is visible.
   */
  notifyUsers(userIds: Iterable<string>, pos: number = this.#stream.highestAllocated): void {
    if (pos <= this.#stream.visiblePosition) {
      this.#wake(userIds, pos);
      return;
    }
    // Keep `#held` sorted; new positions almost always go at the end.
    let i = this.#held.length;
    while (i > 0 && this.#held[i - 1].pos > pos) i--;
    this.#held.splice(i, 0, { pos, users: [...userIds] });
  }

  /** Wakes every local user joined to, invited to or knocking on `roomId`. */
  notifyRoom(roomId: string, pos?: number): void {
    const listeners = this.#roomListeners.get(roomId);
    if (listeners && listeners.size > 0) this.notifyUsers([...listeners], pos);
  }

  /** Wakes `userId` and every local user who shares a listened-to room with them. */
  notifyUsersSharingRoomsWith(userId: string, pos?: number): void {
    const users = new Set<string>([userId]);
    for (const roomId of this.#userRooms.get(userId) ?? []) {
      for (const other of this.#roomListeners.get(roomId) ?? []) users.add(other);
    }
    this.notifyUsers(users, pos);
  }

  /** Records a local user's membership in a room (any membership; `leave` etc. remove it). */
  setMembership(roomId: string, userId: string, membership: string): void {
    this.#membershipSerials.set(userId, (this.#membershipSerials.get(userId) ?? 0) + 1);
    if (LISTENING_MEMBERSHIPS.has(membership)) {
      let users = this.#roomListeners.get(roomId);
      if (!users) this.#roomListeners.set(roomId, users = new Set());
      users.add(userId);
      let rooms = this.#userRooms.get(userId);
      if (!rooms) this.#userRooms.set(userId, rooms = new Set());
      rooms.add(roomId);
    } else {
      const users = this.#roomListeners.get(roomId);
      users?.delete(userId);
      if (users?.size === 0) this.#roomListeners.delete(roomId);
      const rooms = this.#userRooms.get(userId);
      rooms?.delete(roomId);
      if (rooms?.size === 0) this.#userRooms.delete(userId);
    }
  }

  /** The local users joined to, invited to or knocking on `roomId` (from memory). */
  listenersOf(roomId: string): ReadonlySet<string> {
    return this.#roomListeners.get(roomId) ?? new Set();
  }

  /** Number of pending long-poll waiters (for tests and metrics). */
  get waiterCount(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /** Resolves every waiter with false (server shutdown). */
  closeAll(): void {
    for (const set of [...this.#waiters.values()]) {
      for (const waiter of [...set]) waiter.resolve(false);
    }
  }

  #release(visible: number): void {
    let n = 0;
    while (n < this.#held.length && this.#held[n].pos <= visible) n++;
    if (n === 0) return;
    const ready = this.#held.slice(0, n);
    this.#held = this.#held.slice(n);
    for (const { pos, users } of ready) this.#wake(users, pos);
  }

  #wake(userIds: Iterable<string>, pos: number): void {
    for (const userId of userIds) {
      if ((this.#latest.get(userId) ?? 0) < pos) this.#latest.set(userId, pos);
      const set = this.#waiters.get(userId);
      if (!set) continue;
      for (const waiter of [...set]) if (pos > waiter.since) waiter.resolve(true);
    }
  }
}
