/**
 * The sync-side modules' one door to the global stream and the notifier: account data, push
 * rules, receipts and presence commit at a stream position (with `max(["meta","stream"])` in
 * the same commit) and wake the long-polling syncs of the users who must see the change.
 *
 * Typing has no stream position, so its wake-ups go through a small ephemeral waiter list
 * beside the notifier; {@link waitForSyncChange} waits for either.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { Notifier } from "../notifier.ts";
import { commitAtPosition as commit } from "../stream.ts";

/**
 * Commits `build`'s mutations at a fresh stream position (retrying with a new position when
 * its checks fail); returns the position, or null when `build` gave up or every attempt lost.
 */
export function commitAtPosition(
  hs: Homeserver,
  build: (op: Deno.AtomicOperation, pos: number) => Promise<boolean | void> | boolean | void,
  options: { attempts?: number } = {},
): Promise<number | null> {
  return commit(hs.kv, hs.stream, build, options);
}

/** The highest position below which every write has finished. */
export function visiblePosition(hs: Homeserver): Promise<number> {
  return Promise.resolve(hs.stream.visiblePosition);
}

function notifierOf(hs: Homeserver): Notifier | undefined {
  return hs.notifier;
}

/** Wakes the waiting syncs of `userIds` after a committed change (at `pos` when known). */
export function wakeUsers(hs: Homeserver, userIds: Iterable<string>, pos?: number): void {
  notifierOf(hs)?.notifyUsers(userIds, pos);
}

/** Wakes the waiting syncs of a room's local members for a change at a stream position. */
export function wakeRoom(hs: Homeserver, roomId: string, pos?: number): void {
  notifierOf(hs)?.notifyRoom(roomId, pos);
}

/** Wakes the waiting syncs of a user and of everyone who shares a room with them (presence). */
export function wakeUsersSharingRoomsWith(hs: Homeserver, userId: string, pos?: number): void {
  notifierOf(hs)?.notifyUsersSharingRoomsWith(userId, pos);
}

/** The local users joined to, invited to or knocking on a room (from the notifier's index). */
export function localListenersOf(hs: Homeserver, roomId: string): ReadonlySet<string> {
  return notifierOf(hs)?.listenersOf(roomId) ?? new Set();
}

interface EphemeralState {
  /** userId -> the typing serial of the latest ephemeral change that concerned them. */
  latest: Map<string, number>;
  waiters: Map<string, Set<(serial: number) => void>>;
}

const ephemeral = new WeakMap<Homeserver, EphemeralState>();

function ephemeralOf(hs: Homeserver): EphemeralState {
  let state = ephemeral.get(hs);
  if (!state) ephemeral.set(hs, state = { latest: new Map(), waiters: new Map() });
  return state;
}

/**
 * Wakes the syncs of a room's local members for an ephemeral change (typing) numbered
 * `serial`.
 */
export function wakeRoomMembers(hs: Homeserver, roomId: string, serial: number): void {
  const state = ephemeralOf(hs);
  for (const userId of localListenersOf(hs, roomId)) {
    state.latest.set(userId, serial);
    for (const waiter of [...state.waiters.get(userId) ?? []]) waiter(serial);
  }
}

/**
 * Waits until a change concerning `userId` is visible after stream position `since` or after
 * typing serial `typingSerial`, or until the timeout (or abort). Resolves true when woken.
 */
export function waitForSyncChange(
  hs: Homeserver,
  options: {
    userId: string;
    since: number;
    typingSerial: number;
    timeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<boolean> {
  const { userId } = options;
  const state = ephemeralOf(hs);
  if ((state.latest.get(userId) ?? 0) > options.typingSerial) return Promise.resolve(true);
  const done = new AbortController();
  const onAbort = () => done.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const typing = new Promise<boolean>((resolve) => {
    let set = state.waiters.get(userId);
    if (!set) state.waiters.set(userId, set = new Set());
    const waiter = (serial: number) => {
      if (serial > options.typingSerial) resolve(true);
    };
    set.add(waiter);
    done.signal.addEventListener("abort", () => {
      set.delete(waiter);
      if (set.size === 0 && state.waiters.get(userId) === set) state.waiters.delete(userId);
      resolve(false);
    }, { once: true });
  });
  const notifier = notifierOf(hs);
  const stream = notifier
    ? notifier.waitForChange(userId, options.since, options.timeoutMs, done.signal)
    : new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), options.timeoutMs);
      done.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(false);
      }, { once: true });
    });
  return Promise.race([stream, typing]).finally(() => {
    options.signal?.removeEventListener("abort", onAbort);
    done.abort();
  });
}
