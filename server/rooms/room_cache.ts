/**
 * The pipeline's in-memory view of each room: what the next event builds on (head, forward
 * extremity events, current state). Loaded from KV on first use, then changed only by the
 * pipeline's own commits, so admitting an event needs no KV read.
 *
 * @module
 */

import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { RoomEvent, StateMap } from "../../federation/types.ts";
import { LruCache } from "./lru.ts";
import type { RoomStore } from "./room_store.ts";
import type { RoomHead, RoomRecord } from "./schema.ts";

/** A room as the pipeline sees it. */
export interface RoomContext {
  room: RoomRecord;
  rules: RoomVersionRules;
  head: RoomHead;
  /** The forward extremities as events. */
  extremities: RoomEvent[];
  /** The current state; replaced (never modified) when it changes. */
  state: StateMap;
}

/** Room contexts by room ID, bounded. */
export class RoomCache {
  readonly #rooms: RoomStore;
  readonly #cache = new LruCache<string, RoomContext>(2048);

  constructor(rooms: RoomStore) {
    this.#rooms = rooms;
  }

  /** The room's context, loaded from KV when not cached; null for an unknown room. */
  async get(roomId: string): Promise<RoomContext | null> {
    const cached = this.#cache.get(roomId);
    if (cached) return cached;
    const room = await this.#rooms.room(roomId);
    if (!room) return null;
    const rules = roomVersion(room.roomVersion);
    const head = await this.#rooms.head(roomId);
    if (!rules || !head) return null;
    const events = await this.#rooms.events(head.extremities);
    const extremities = head.extremities.map((id) => events.get(id)?.event)
      .filter((e) => e !== undefined);
    const state = await this.#rooms.states.stateOf(head.stateGroup);
    const ctx: RoomContext = { room, rules, head, extremities, state };
    this.#cache.set(roomId, ctx);
    return ctx;
  }

  /** Records the room's context after a committed event. */
  advance(roomId: string, ctx: RoomContext): void {
    this.#cache.set(roomId, ctx);
  }

  /** Forgets a room (after a failed commit, the cache may be ahead of KV). */
  delete(roomId: string): void {
    this.#cache.delete(roomId);
  }
}
