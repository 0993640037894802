/**
 * The sync-side modules' one door to the global stream and the notifier: account data, push
 * rules, receipts and presence commit at a stream position (with `max(["meta","stream"])` in
 * the same commit) and wake the long-polling syncs of the users who must see the change.
 *
 * Typing has no stream position: its wake-ups carry the typing tracker's serial instead
 * ({@link wakeRoomMembers}); {@link waitForSyncChange} waits for either kind.
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

/**
 * Wakes the syncs of a room's local members for an ephemeral change (typing) numbered
 * `serial`.
 */
export function wakeRoomMembers(hs: Homeserver, roomId: string, serial: number): void {
  notifierOf(hs)?.notifyTyping(localListenersOf(hs, roomId), serial);
}

/**
 * Whether nothing concerning `userId` can have happened after stream position `since.pos` and
 * typing serial `since.typing`, judging by the wake-ups announced so far: a long-poll may then
 * wait without computing a response first. False whenever memory cannot tell (a position from
 * before this process started).
 */
export function quietSince(
  hs: Homeserver,
  userId: string,
  since: { pos: number; typing: number },
): boolean {
  const notifier = notifierOf(hs);
  if (!notifier || !notifier.quietSince(userId, since.pos)) return false;
  return notifier.latestTyping(userId) <= since.typing;
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
  const notifier = notifierOf(hs);
  if (!notifier) {
    return new Promise((resolve) => setTimeout(() => resolve(false), options.timeoutMs));
  }
  return notifier.waitForSync(options.userId, {
    since: options.since,
    typing: options.typingSerial,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
}
