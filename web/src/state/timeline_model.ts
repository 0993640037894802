/**
 * The timeline feature's model: one {@link RoomTimeline} per room opened (the last few kept, so
 * going back is instant), thread timelines, composers (drafts survive switching rooms), the
 * open thread panel, and events fetched on their own (the message a reply quotes when it is not
 * loaded).
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { loadSdk, type Sdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";
import { Composer } from "./composer.ts";
import { featureModel } from "./features.ts";
import { RoomTimeline } from "./timeline.ts";
import { ThreadTimeline } from "./timeline_thread.ts";

/** Room timelines kept for rooms no longer on screen. */
const KEEP_ROOMS = 8;
/** Thread timelines kept. */
const KEEP_THREADS = 8;

/** The thread panel's thread. */
export interface OpenThread {
  roomId: string;
  rootId: string;
}

/** Keeps at most `limit` entries, disposing the oldest. */
function trim<T extends { dispose(): void }>(map: Map<string, T>, limit: number): void {
  while (map.size > limit) {
    const [key, value] = map.entries().next().value!;
    map.delete(key);
    value.dispose();
  }
}

/** Moves `key` to the end (the most recently used). */
function touch<T>(map: Map<string, T>, key: string): T | undefined {
  const value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

/** The timeline feature's model. */
export class TimelineModel {
  readonly #app: AppModel;
  readonly #sdk = signal<Sdk | null>(null);
  #client: MatrixClient | null = null;
  readonly #rooms = new Map<string, RoomTimeline>();
  readonly #threads = new Map<string, ThreadTimeline>();
  readonly #composers = new Map<string, Composer>();
  readonly #openThread = signal<OpenThread | null>(null);
  readonly #fetched = new Map<string, MatrixEvent | "loading" | "missing">();
  readonly #fetchedVersion = signal(0);

  /** The thread the thread panel shows. */
  readonly openThread: ReadonlySignal<OpenThread | null> = computed(() => this.#openThread.value);

  constructor(app: AppModel) {
    this.#app = app;
    loadSdk().then((sdk) => this.#sdk.value = sdk).catch(() => {});
    effect(() => {
      const client = app.session.clientReady.value;
      if (client === this.#client) return;
      this.#client = client;
      this.#reset();
    });
  }

  #reset(): void {
    for (const map of [this.#rooms, this.#threads, this.#composers]) {
      for (const value of map.values()) value.dispose();
      map.clear();
    }
    this.#fetched.clear();
    this.#openThread.value = null;
  }

  #ready(): { sdk: Sdk; client: MatrixClient } | null {
    const sdk = this.#sdk.value;
    const client = this.#app.session.clientReady.value;
    return sdk && client && client === this.#client ? { sdk, client } : null;
  }

  /** The room's timeline (null until the SDK and the client are there). */
  roomTimeline(room: Room): RoomTimeline | null {
    const ready = this.#ready();
    if (!ready) return null;
    let timeline = touch(this.#rooms, room.roomId);
    if (!timeline || timeline.room !== room) {
      timeline?.dispose();
      timeline = new RoomTimeline(ready.sdk, ready.client, room);
      this.#rooms.set(room.roomId, timeline);
      trim(this.#rooms, KEEP_ROOMS);
    }
    return timeline;
  }

  /** A thread's timeline. */
  threadTimeline(room: Room, rootId: string): ThreadTimeline | null {
    const ready = this.#ready();
    if (!ready) return null;
    const key = `${room.roomId}|${rootId}`;
    let thread = touch(this.#threads, key);
    if (!thread) {
      thread = new ThreadTimeline(ready.sdk, ready.client, room, rootId);
      this.#threads.set(key, thread);
      trim(this.#threads, KEEP_THREADS);
    }
    return thread;
  }

  /** The composer of the room (threadRootId null) or of one of its threads. */
  composer(room: Room, threadRootId: string | null): Composer | null {
    const ready = this.#ready();
    if (!ready) return null;
    const key = `${room.roomId}|${threadRootId ?? ""}`;
    let composer = this.#composers.get(key);
    if (!composer) {
      const events = threadRootId
        ? () => this.threadTimeline(room, threadRootId)?.view.value.events ?? []
        : () => this.roomTimeline(room)?.view.value.events ?? [];
      composer = new Composer(ready.client, room, {
        threadRootId,
        events,
        latestInThread: threadRootId
          ? () => this.threadTimeline(room, threadRootId)?.latestEventId
          : undefined,
      });
      this.#composers.set(key, composer);
    }
    return composer;
  }

  /** Opens the thread panel on `rootId`'s thread. */
  openThreadPanel(roomId: string, rootId: string): void {
    this.#openThread.value = { roomId, rootId };
  }

  /** Closes the thread panel. */
  closeThreadPanel(): void {
    this.#openThread.value = null;
  }

  /**
   * An event of the room by ID: from the loaded timelines, else fetched (undefined while it
   * loads, null when it cannot be had). Reads a signal, so a view shows it once it arrives.
   */
  event(room: Room, eventId: string): MatrixEvent | null | undefined {
    this.#fetchedVersion.value;
    const known = room.findEventById(eventId);
    if (known) return known;
    const key = `${room.roomId}|${eventId}`;
    const fetched = this.#fetched.get(key);
    if (fetched === "missing") return null;
    if (fetched === "loading") return undefined;
    if (fetched) return fetched;
    const ready = this.#ready();
    if (!ready) return undefined;
    this.#fetched.set(key, "loading");
    const { client } = ready;
    client.fetchRoomEvent(room.roomId, eventId)
      .then(async (raw) => {
        const event = client.getEventMapper()(raw);
        await client.decryptEventIfNeeded(event);
        this.#fetched.set(key, event);
      })
      .catch(() => this.#fetched.set(key, "missing"))
      .finally(() => this.#fetchedVersion.value++);
    return undefined;
  }
}

/** The app's timeline model. */
export function timelineModel(app: AppModel): TimelineModel {
  return featureModel(app, "timeline", (a) => new TimelineModel(a));
}
