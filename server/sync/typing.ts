/**
 * Typing notifications (spec: "Typing Notifications"), held in memory only: who types in which
 * room, until when. Every change (start, stop, expiry) takes the next value of the tracker's
 * own serial, which sync tokens carry next to the stream position; a room whose serial is
 * above a token's has a new `m.typing` event to deliver.
 *
 * The serial starts at the wall-clock milliseconds of the process start, so a token issued
 * before a restart stays below every serial the new process hands out: clients never miss a
 * typing change because the server restarted.
 *
 * Besides the syncs it wakes, other parts of the server (application services with
 * `receive_ephemeral`) can follow the changes with {@link TypingTracker.onChange}.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import { wakeRoomMembers } from "./positions.ts";

/** Longest typing timeout a client may ask for (it must repeat the request to keep typing). */
export const MAX_TYPING_TIMEOUT_MS = 120_000;
/** Timeout when the client gave none. */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;

/** Told after a room's typing set changed, with the users typing there now. */
export type TypingListener = (roomId: string, userIds: string[]) => void;

interface RoomTyping {
  /** userId -> expiry timer. */
  users: Map<string, ReturnType<typeof setTimeout>>;
  /** The serial of the room's last change. */
  serial: number;
}

/** The typing state of one server. */
export class TypingTracker {
  #serial: number;
  readonly #rooms = new Map<string, RoomTyping>();
  readonly #onChange: (roomId: string) => void;
  readonly #listeners = new Set<TypingListener>();

  /**
   * @param onChange told (synchronously) after each change, to wake the room's syncs
   * @param startSerial the first serial (defaults to the current time in ms)
   */
  constructor(onChange: (roomId: string) => void, startSerial = Date.now()) {
    this.#onChange = onChange;
    this.#serial = startSerial;
  }

  /**
   * Registers a listener told (synchronously) after every change of a room's typing set:
   * start, stop and expiry. Returns the function that removes it.
   */
  onChange(listener: TypingListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The serial of the latest change. */
  get serial(): number {
    return this.#serial;
  }

  /**
   * Marks a user as typing for `timeoutMs`, or as not typing. Repeating "typing" only extends
   * the timeout (no change, no wake-up).
   */
  setTyping(roomId: string, userId: string, typing: { typing: boolean; timeoutMs?: number }): void {
    let room = this.#rooms.get(roomId);
    const timer = room?.users.get(userId);
    if (!typing.typing) {
      if (timer === undefined) return;
      clearTimeout(timer);
      room!.users.delete(userId);
      this.#changed(roomId, room!);
      return;
    }
    const timeout = Math.min(
      Math.max(typing.timeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS, 0),
      MAX_TYPING_TIMEOUT_MS,
    );
    if (timer !== undefined) clearTimeout(timer);
    if (!room) {
      room = { users: new Map(), serial: this.#serial };
      this.#rooms.set(roomId, room);
    }
    const expiry = setTimeout(() => this.setTyping(roomId, userId, { typing: false }), timeout);
    Deno.unrefTimer(expiry);
    room.users.set(userId, expiry);
    if (timer === undefined) this.#changed(roomId, room);
  }

  #changed(roomId: string, room: RoomTyping): void {
    // An emptied room stays in the map with its serial, so that syncs still see the stop.
    room.serial = ++this.#serial;
    this.#onChange(roomId);
    for (const listener of this.#listeners) {
      // A failing listener must not stop the others, nor the typing request that caused it.
      try {
        listener(roomId, [...room.users.keys()]);
      } catch (err) {
        console.error("typing: a change listener failed:", err);
      }
    }
  }

  /** The users typing in a room now. */
  typingIn(roomId: string): string[] {
    return [...(this.#rooms.get(roomId)?.users.keys() ?? [])];
  }

  /** Whether the room's typing set changed after `serial`. */
  changedSince(roomId: string, serial: number): boolean {
    const room = this.#rooms.get(roomId);
    return room !== undefined && room.serial > serial;
  }

  /** Stops every timer (server shutdown); listeners are not told. */
  close(): void {
    this.#listeners.clear();
    for (const room of this.#rooms.values()) {
      for (const timer of room.users.values()) clearTimeout(timer);
      room.users.clear();
    }
    this.#rooms.clear();
  }
}

const trackers = new WeakMap<Homeserver, TypingTracker>();

/** The server's typing tracker; a change wakes the syncs of the room's members. */
export function typingTracker(hs: Homeserver): TypingTracker {
  let tracker = trackers.get(hs);
  if (!tracker) {
    const created: TypingTracker = new TypingTracker((roomId) =>
      wakeRoomMembers(hs, roomId, created.serial)
    );
    hs.addCloseHook(() => Promise.resolve(created.close()));
    trackers.set(hs, created);
    tracker = created;
  }
  return tracker;
}
