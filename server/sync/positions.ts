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
import { getPresence } from "../store/presence.ts";

/** The streams whose writes go through {@link commitAtPosition}, by their change keys. */
interface WrittenStreams {
  /** userId -> highest position of an account data change of the user. */
  accountData: Map<string, number>;
  /** Highest position of a receipt (any room). */
  receipt: number;
  /** Highest position of a presence change (any user). */
  presence: number;
  /**
   * Presence changes noted by this process, `[pos, userId]` in the order noted (a failed
   * commit leaves an entry whose position holds nothing): the stream read from memory.
   */
  presenceChanges: [number, string][];
  /** Changes at or below this position may have been dropped from `presenceChanges`. */
  presenceFloor: number;
}

/** Presence changes kept in memory (a user's status changes rarely; 16 bytes or so each). */
const KEPT_PRESENCE_CHANGES = 20_000;

const written = new WeakMap<Homeserver, WrittenStreams>();

function writtenOf(hs: Homeserver): WrittenStreams {
  let streams = written.get(hs);
  if (!streams) {
    written.set(
      hs,
      streams = {
        accountData: new Map(),
        receipt: 0,
        presence: 0,
        presenceChanges: [],
        presenceFloor: 0,
      },
    );
  }
  return streams;
}

function noteWrite(
  streams: WrittenStreams,
  key: Deno.KvKey,
  value: unknown,
  pos: number,
): void {
  switch (key[0]) {
    case "account_data_pos": {
      const userId = key[1] as string;
      streams.accountData.set(userId, Math.max(streams.accountData.get(userId) ?? 0, pos));
      break;
    }
    case "receipt_pos":
      streams.receipt = Math.max(streams.receipt, pos);
      break;
    case "presence_pos": {
      streams.presence = Math.max(streams.presence, pos);
      const changes = streams.presenceChanges;
      if (typeof value === "string") {
        // Kept ascending by position; commits are built nearly in order, so this is the end.
        let i = changes.length;
        while (i > 0 && changes[i - 1][0] > pos) i--;
        changes.splice(i, 0, [pos, value]);
      }
      if (changes.length > KEPT_PRESENCE_CHANGES) {
        const dropped = changes.splice(0, changes.length - KEPT_PRESENCE_CHANGES / 2);
        streams.presenceFloor = Math.max(streams.presenceFloor, dropped.at(-1)![0]);
      }
      break;
    }
  }
}

/** `op`, noting the stream keys it sets (methods that return the operation return this view). */
function observed(
  op: Deno.AtomicOperation,
  onSet: (key: Deno.KvKey, value: unknown) => void,
): Deno.AtomicOperation {
  const view: Deno.AtomicOperation = new Proxy(op, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "set") onSet(args[0] as Deno.KvKey, args[1]);
        const result = value.apply(target, args);
        return result === target ? view : result;
      };
    },
  });
  return view;
}

/**
 * Commits `build`'s mutations at a fresh stream position (retrying with a new position when
 * its checks fail); returns the position, or null when `build` gave up or every attempt lost.
 * The account data, receipt and presence changes it writes are noted in memory before they
 * can become visible, so that syncs skip reading streams that have nothing for them
 * ({@link streamChanged}).
 */
export function commitAtPosition(
  hs: Homeserver,
  build: (op: Deno.AtomicOperation, pos: number) => Promise<boolean | void> | boolean | void,
  options: { attempts?: number } = {},
): Promise<number | null> {
  const streams = writtenOf(hs);
  return commit(
    hs.kv,
    hs.stream,
    (op, pos) => build(observed(op, (key, value) => noteWrite(streams, key, value, pos)), pos),
    options,
  );
}

/**
 * Whether the stream may hold a change above `since` (`account_data` of `userId`, any
 * `receipt`, any `presence` change): false only when every write above `since` was made by
 * this process and none was of that stream. Writes are noted while their commit is built, so
 * a change that becomes visible later is never missed.
 */
export function streamChanged(
  hs: Homeserver,
  stream: "account_data" | "receipt" | "presence",
  where: { since: number; userId?: string },
): boolean {
  if (!hs.notifier?.seesAllAfter(where.since)) return true;
  const streams = writtenOf(hs);
  const latest = stream === "account_data"
    ? streams.accountData.get(where.userId ?? "") ?? 0
    : streams[stream];
  return latest > where.since;
}

/**
 * The users whose presence changed in `(since, upto]` as far as memory tells, or null when it
 * cannot (a position from before this process started, or older than the changes kept): the
 * `presence_pos` stream without a read. A user is listed when their stored record's position is
 * in the range, as a read of the stream lists them (each write deletes the user's previous
 * entry); the records come from `getPresence`'s memory.
 */
export async function presenceChangesInMemory(
  hs: Homeserver,
  range: { since: number; upto: number },
): Promise<string[] | null> {
  if (!hs.notifier?.seesAllAfter(range.since)) return null;
  const streams = writtenOf(hs);
  if (range.since < streams.presenceFloor) return null;
  if (range.upto <= range.since) return [];
  const changes = streams.presenceChanges;
  // The first change above `since` (the list is ascending by position).
  let low = 0;
  let high = changes.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (changes[mid][0] <= range.since) low = mid + 1;
    else high = mid;
  }
  const users = new Set<string>();
  for (let i = low; i < changes.length && changes[i][0] <= range.upto; i++) {
    users.add(changes[i][1]);
  }
  const changed: { userId: string; pos: number }[] = [];
  for (const userId of users) {
    const record = await getPresence(hs, userId);
    if (record && record.pos > range.since && record.pos <= range.upto) {
      changed.push({ userId, pos: record.pos });
    }
  }
  // In stream order, as a read of the stream lists them.
  return changed.sort((a, b) => a.pos - b.pos).map((change) => change.userId);
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
