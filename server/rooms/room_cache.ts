/**
 * The pipeline's in-memory view of each room: what the next event builds on (head, forward
 * extremity events, current state). Loaded from KV on first use, then changed only by the
 * pipeline, so admitting an event needs no KV read.
 *
 * A message event advances the context as soon as its commit is queued, before it commits, so
 * the room's next event can be built while the first is still being written. The context is
 * then ahead of KV. Two rules keep that safe:
 *
 * - A context with writes in flight is pinned (never evicted): reloading it from KV would
 *   lose the events not yet committed.
 * - Every context belongs to a {@link Lineage}: the chain of contexts built on each other
 *   since the room was loaded. When one of its writes fails, the lineage ends: its contexts
 *   are dropped, events still being built on it are refused, and the next event reloads the
 *   room from KV (where, the queue being FIFO, everything before the failed write has
 *   committed and nothing after it will).
 *
 * @module
 */

import { roomVersion, type RoomVersionRules } from "../../federation/room_versions.ts";
import type { RoomEvent, StateMap } from "../../federation/types.ts";
import type { CommitTicket } from "./commit_queue.ts";
import { LruCache } from "./lru.ts";
import type { RoomStore } from "./room_store.ts";
import type { RoomHead, RoomRecord } from "./schema.ts";

/** The contexts of a room built on each other since it was loaded from KV. */
export interface Lineage {
  /** False once one of its writes failed: nothing more may be built on it. */
  valid: boolean;
  /** Writes queued and not yet committed or failed. */
  inFlight: number;
  /** The newest queued write (what the next write must commit after). */
  tail: CommitTicket | null;
}

/** A room as the pipeline sees it. */
export interface RoomContext {
  room: RoomRecord;
  rules: RoomVersionRules;
  head: RoomHead;
  /** The forward extremities as events. */
  extremities: RoomEvent[];
  /** The state group after each forward extremity (for merges). */
  extremityGroups: ReadonlyMap<string, number>;
  /** The current state; replaced (never modified) when it changes. */
  state: StateMap;
  /**
   * Servers other than this one with joined members (where local events go); undefined
   * until first needed, and after a membership change.
   */
  remoteServers?: ReadonlySet<string>;
  lineage: Lineage;
}

/** Room contexts by room ID, bounded (except those with writes in flight). */
export class RoomCache {
  readonly #rooms: RoomStore;
  readonly #cache = new LruCache<string, RoomContext>(2048);
  /** Contexts ahead of KV: their lineage has writes in flight. */
  readonly #pinned = new Map<string, RoomContext>();

  constructor(rooms: RoomStore) {
    this.#rooms = rooms;
  }

  /** The room's context, loaded from KV when not cached; null for an unknown room. */
  async get(roomId: string): Promise<RoomContext | null> {
    const pinned = this.#pinned.get(roomId);
    if (pinned) return pinned;
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
    const extremityGroups = new Map<string, number>();
    for (const id of head.extremities) {
      const group = events.get(id)?.meta.stateGroup;
      extremityGroups.set(id, group ?? head.stateGroup);
    }
    const state = await this.#rooms.states.stateOf(head.stateGroup);
    // Another call may have loaded (and advanced) the room while this one read.
    const raced = this.#pinned.get(roomId) ?? this.#cache.get(roomId);
    if (raced) return raced;
    const ctx: RoomContext = {
      room,
      rules,
      head,
      extremities,
      extremityGroups,
      state,
      lineage: newLineage(),
    };
    this.#cache.set(roomId, ctx);
    return ctx;
  }

  /** A lineage for a room that is not cached yet (its create event). */
  newLineage(): Lineage {
    return newLineage();
  }

  /**
   * Records the room's context after an event whose write `ticket` was just queued on the
   * context's lineage (call synchronously after queueing).
   */
  advance(roomId: string, ctx: RoomContext, ticket: CommitTicket): void {
    const lineage = ctx.lineage;
    lineage.inFlight++;
    lineage.tail = ticket;
    this.#cache.set(roomId, ctx);
    this.#pinned.set(roomId, ctx);
  }

  /** The write `ticket` of `ctx`'s lineage finished; unpins, or ends the lineage on failure. */
  settled(roomId: string, lineage: Lineage, ok: boolean): void {
    lineage.inFlight--;
    const current = this.#pinned.get(roomId) ?? this.#cache.get(roomId);
    const ours = current?.lineage === lineage;
    if (!ok && lineage.valid) {
      lineage.valid = false;
      if (ours) this.#forget(roomId);
      return;
    }
    if (ours && lineage.inFlight === 0) this.#pinned.delete(roomId);
  }

  /**
   * Forgets a room so the next event reloads it from KV. A room with writes in flight is kept
   * (its context is ahead of KV only by those writes).
   */
  delete(roomId: string): void {
    if (this.#pinned.has(roomId)) return;
    this.#cache.delete(roomId);
  }

  #forget(roomId: string): void {
    this.#pinned.delete(roomId);
    this.#cache.delete(roomId);
  }
}

function newLineage(): Lineage {
  return { valid: true, inFlight: 0, tail: null };
}
