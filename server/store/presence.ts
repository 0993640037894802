/**
 * Presence (spec: "Presence"): each local user's state (`online`, `unavailable`, `offline`),
 * status message and last activity, written at stream positions so that `/sync` delivers the
 * changes of users who share a room with the requester.
 *
 * Keys:
 * - `["presence", userId]` -> {@link PresenceRecord}
 * - `["presence_pos", pos]` -> userId: the stream of changes; each write deletes the entry of
 *   the record it replaces, so a user has at most one entry
 *
 * Remote users' presence, as their servers report it (`m.presence` EDUs), is kept in the same
 * records ({@link setRemotePresence}), so `/sync` and the presence API read both alike.
 *
 * Only changes of state or status message are written; the last-active time of a user who
 * stays online lives in memory ({@link PresenceTracker}) and is reported as
 * `currently_active`, as the spec allows, so an active user does not cause a write per sync.
 *
 * @module
 */

import { serverNameOf } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { WriteGuardedCache } from "../e2ee/sync_memory.ts";
import { commitAtPosition, wakeUsersSharingRoomsWith } from "../sync/positions.ts";
import { ContentionError, inTurn } from "./turns.ts";

/** A presence state. */
export type PresenceState = "online" | "unavailable" | "offline";

/** The presence states clients may set. */
export const PRESENCE_STATES: readonly PresenceState[] = ["online", "unavailable", "offline"];

/** A user's stored presence. */
export interface PresenceRecord {
  presence: PresenceState;
  statusMsg: string | null;
  /** Last pro-active event (ms since the epoch) as of the last write. */
  lastActiveTs: number;
  pos: number;
}

/** Users count as currently active this long after their last activity. */
export const CURRENTLY_ACTIVE_MS = 60_000;
/** A user who stops syncing goes offline after this long. */
export const OFFLINE_AFTER_MS = 5 * 60_000;

/** Key builders of the presence store. */
export const presenceKeys = {
  record: (userId: string): Deno.KvKey => ["presence", userId],
  change: (pos: number): Deno.KvKey => ["presence_pos", pos],
  changes: (): Deno.KvKey => ["presence_pos"],
} as const;

/** Users whose stored presence is remembered. */
const REMEMBERED_PRESENCE = 100_000;

/**
 * The stored presence of recently seen users, per KV handle. Every write of a record goes
 * through {@link setPresence}, which holds the user's entry for the time of the write, so a
 * remembered record is what KV holds (a restarted server reads each user once).
 */
const storedPresence = new WeakMap<Deno.Kv, WriteGuardedCache<PresenceRecord | null>>();

function storedPresenceOf(kv: Deno.Kv): WriteGuardedCache<PresenceRecord | null> {
  let cache = storedPresence.get(kv);
  if (!cache) storedPresence.set(kv, cache = new WriteGuardedCache(REMEMBERED_PRESENCE));
  return cache;
}

/** Reads a user's presence (null when never set); answered from memory once read. */
export async function getPresence(hs: Homeserver, userId: string): Promise<PresenceRecord | null> {
  const record = await storedPresenceOf(hs.kv).get(
    userId,
    async () => (await hs.kv.get<PresenceRecord>(presenceKeys.record(userId))).value,
  );
  return record === null ? null : { ...record };
}

/**
 * Sets a user's presence. Writes only when the state or (given) status message changes, or
 * when `bumpActive` moves the last-active time of a user who was not online.
 *
 * @returns the stream position of the write, or null when nothing changed
 */
export function setPresence(
  hs: Homeserver,
  userId: string,
  change: { presence: PresenceState; statusMsg?: string | null; now: number },
): Promise<number | null> {
  return storedPresenceOf(hs.kv).writing([userId], () => writePresence(hs, userId, change));
}

async function writePresence(
  hs: Homeserver,
  userId: string,
  change: { presence: PresenceState; statusMsg?: string | null; now: number },
): Promise<number | null> {
  return await inTurn(hs.kv, ["presence", userId], async () => {
    const key = presenceKeys.record(userId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await hs.kv.get<PresenceRecord>(key);
      const old = current.value;
      const statusMsg = change.statusMsg !== undefined ? change.statusMsg : old?.statusMsg ?? null;
      if (old && old.presence === change.presence && old.statusMsg === statusMsg) return null;
      const lastActiveTs = change.presence === "online" ? change.now : old?.lastActiveTs ?? 0;
      const pos = await commitAtPosition(hs, (op, pos) => {
        op.check(current);
        if (old) op.delete(presenceKeys.change(old.pos));
        op.set(key, { presence: change.presence, statusMsg, lastActiveTs, pos });
        op.set(presenceKeys.change(pos), userId);
      }, { attempts: 1 });
      if (pos !== null) {
        wakeUsersSharingRoomsWith(hs, userId, pos);
        for (const listener of writeListeners.get(hs) ?? []) listener(userId);
        return pos;
      }
    }
    throw new ContentionError(`presence update for ${userId}`);
  });
}

/**
 * The remote users joined to the rooms `userId` (local) is joined to, whose presence this
 * server has stored: the remote part of an initial sync's presence section.
 */
export async function remoteUsersWithPresence(hs: Homeserver, userId: string): Promise<string[]> {
  const out = new Set<string>();
  for (const roomId of await hs.rooms.joinedRooms(userId)) {
    for (const member of await hs.rooms.members(roomId)) {
      if (serverNameOf(member) === hs.config.serverName || out.has(member)) continue;
      if (await getPresence(hs, member)) out.add(member);
    }
  }
  return [...out];
}

/** Told after a local user's presence was written (federation sends it on). */
export type PresenceWriteListener = (userId: string) => void;

const writeListeners = new WeakMap<Homeserver, PresenceWriteListener[]>();

/** Registers a listener of local presence writes. */
export function onPresenceWritten(hs: Homeserver, listener: PresenceWriteListener): void {
  let list = writeListeners.get(hs);
  if (!list) writeListeners.set(hs, list = []);
  list.push(listener);
}

/**
 * Stores the presence of a remote user as its server reported it. Written only when the state or
 * the status message changes, or the last activity moves by a minute or more (a server
 * repeating the same presence causes no write).
 *
 * @returns the stream position of the write, or null when nothing changed
 */
export function setRemotePresence(
  hs: Homeserver,
  userId: string,
  report: { presence: PresenceState; statusMsg: string | null; lastActiveTs: number },
): Promise<number | null> {
  return storedPresenceOf(hs.kv).writing(
    [userId],
    () =>
      inTurn(hs.kv, ["presence", userId], async () => {
        const key = presenceKeys.record(userId);
        for (let attempt = 0; attempt < 20; attempt++) {
          const current = await hs.kv.get<PresenceRecord>(key);
          const old = current.value;
          if (
            old && old.presence === report.presence && old.statusMsg === report.statusMsg &&
            Math.abs(old.lastActiveTs - report.lastActiveTs) < CURRENTLY_ACTIVE_MS
          ) return null;
          const pos = await commitAtPosition(hs, (op, pos) => {
            op.check(current);
            if (old) op.delete(presenceKeys.change(old.pos));
            op.set(key, { ...report, pos } satisfies PresenceRecord);
            op.set(presenceKeys.change(pos), userId);
          }, { attempts: 1 });
          if (pos !== null) return pos;
        }
        throw new ContentionError(`presence update for ${userId}`);
      }),
  );
}

/** Users whose presence changed at positions in `(since, upto]`. */
export async function presenceChangedBetween(
  hs: Homeserver,
  range: { since: number; upto: number },
): Promise<string[]> {
  if (range.upto <= range.since) return [];
  const prefix = presenceKeys.changes();
  const users: string[] = [];
  for await (
    const entry of hs.kv.list<string>({
      start: [...prefix, range.since + 1],
      end: [...prefix, range.upto + 1],
    })
  ) {
    users.push(entry.value);
  }
  return users;
}

/**
 * The in-memory side of presence: last activity, and the timers that take users offline. A
 * user has one timer while syncing; a sync only notes its time, and the timer, when it fires,
 * waits again for what is left of {@link OFFLINE_AFTER_MS} since the latest sync.
 */
export class PresenceTracker {
  readonly #hs: Homeserver;
  readonly #lastActive = new Map<string, number>();
  /** userId -> time (`Date.now()`) of the user's latest sync with `set_presence`. */
  readonly #lastSynced = new Map<string, number>();
  readonly #offlineTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(hs: Homeserver) {
    this.#hs = hs;
  }

  /** Records activity (a sync or a sent event) of a user. */
  active(userId: string, now: number): void {
    this.#lastActive.set(userId, now);
  }

  /**
   * A sync with `set_presence`: marks the user active (for `online`), sets the state when it
   * changed, and puts off the moment that takes the user offline when syncing stops.
   */
  async synced(userId: string, presence: PresenceState, now: number): Promise<void> {
    if (this.#closed || presence === "offline") return;
    if (presence === "online") this.active(userId, now);
    this.#lastSynced.set(userId, Date.now());
    if (!this.#offlineTimers.has(userId)) this.#arm(userId, OFFLINE_AFTER_MS);
    const current = await getPresence(this.#hs, userId);
    if (current?.presence === presence) return;
    await setPresence(this.#hs, userId, { presence, now });
  }

  #arm(userId: string, delay: number): void {
    const timer = setTimeout(() => {
      this.#offlineTimers.delete(userId);
      if (this.#closed) return;
      const left = (this.#lastSynced.get(userId) ?? 0) + OFFLINE_AFTER_MS - Date.now();
      if (left > 0) {
        this.#arm(userId, left);
        return;
      }
      this.#lastSynced.delete(userId);
      setPresence(this.#hs, userId, { presence: "offline", now: Date.now() }).catch((err) =>
        console.error("presence timeout failed:", err)
      );
    }, delay);
    Deno.unrefTimer(timer);
    this.#offlineTimers.set(userId, timer);
  }

  /** The `m.presence` content for a stored record. */
  content(userId: string, record: PresenceRecord, now: number): Record<string, unknown> {
    const lastActive = Math.max(record.lastActiveTs, this.#lastActive.get(userId) ?? 0);
    const content: Record<string, unknown> = { presence: record.presence };
    if (lastActive > 0) content.last_active_ago = Math.max(0, now - lastActive);
    if (record.presence === "online") {
      content.currently_active = now - lastActive < CURRENTLY_ACTIVE_MS;
    }
    if (record.statusMsg !== null) content.status_msg = record.statusMsg;
    return content;
  }

  /** Stops the timers (server shutdown). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#offlineTimers.values()) clearTimeout(timer);
    this.#offlineTimers.clear();
  }
}

const trackers = new WeakMap<Homeserver, PresenceTracker>();

/** The server's presence tracker. */
export function presenceTracker(hs: Homeserver): PresenceTracker {
  let tracker = trackers.get(hs);
  if (!tracker) {
    const created = new PresenceTracker(hs);
    hs.addCloseHook(() => Promise.resolve(created.close()));
    trackers.set(hs, created);
    tracker = created;
  }
  return tracker;
}
