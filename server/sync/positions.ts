/**
 * The sync-side modules' one door to the global stream and the notifier: account data, push
 * rules, receipts and presence commit at a stream position (with `max(["meta","stream"])` in
 * the same commit) and wake the long-polling syncs of the users who must see the change.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { commitAtPosition as commit, visiblePosition as visible } from "../e2ee/positions.ts";

/**
 * Commits `build`'s mutations at a fresh stream position (retrying with a new position when
 * its checks fail); returns the position, or null when `build` gave up or every attempt lost.
 */
export function commitAtPosition(
  hs: Homeserver,
  build: (op: Deno.AtomicOperation, pos: number) => Promise<boolean | void> | boolean | void,
  options: { attempts?: number } = {},
): Promise<number | null> {
  return commit(hs, build, options);
}

/** The highest position below which every write has finished. */
export function visiblePosition(hs: Homeserver): Promise<number> {
  return visible(hs);
}

/** Wakes the waiting syncs of `userIds` after a committed change. */
export function wakeUsers(_hs: Homeserver, _userIds: Iterable<string>): void {
  // Filled in once server/notifier.ts exists.
}

/** Wakes the waiting syncs of a room's joined members (typing, public receipts). */
export function wakeRoomMembers(_hs: Homeserver, _roomId: string): void {
  // Filled in once server/notifier.ts and the room store exist.
}

/** Wakes the waiting syncs of a user and of everyone who shares a room with them (presence). */
export function wakeUsersSharingRoomsWith(_hs: Homeserver, _userId: string): void {
  // Filled in once server/notifier.ts and the room store exist.
}
