/**
 * Message search, the part the first screen carries: whether the search panel is open and on
 * which room, showing a found message in its room, and the local index of encrypted rooms
 * (`search_local.ts`, its own chunk), which starts with the client, so every message this device
 * decrypts is in it, and is deleted at sign-out. The panel (`views/search/search_panel.tsx`)
 * loads when it first opens.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal, untracked } from "@preact/signals";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import type { LocalSearchIndex } from "./search_local.ts";
import type { RoomTimeline } from "./timeline.ts";
import { timelineModel } from "./timeline_model.ts";

/** What the panel searches: one room, or every room (`roomId` null). */
export interface SearchScope {
  roomId: string | null;
}

/** The search feature's model. */
export class SearchEntry {
  readonly #app: AppModel;
  readonly #scope = signal<SearchScope | null>(null);
  #index: Promise<LocalSearchIndex | null> = Promise.resolve(null);
  #stop: () => void = () => {};

  /** The open panel's scope; null when closed. */
  readonly scope: ReadonlySignal<SearchScope | null> = computed(() => this.#scope.value);

  constructor(app: AppModel) {
    this.#app = app;
    let running: unknown = null;
    effect(() => {
      const client = app.session.clientReady.value;
      const userId = untracked(() => app.session.userId.value);
      const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!factory || client === running) return;
      if (client && userId) {
        running = client;
        this.#index = import("./search_local.ts").then(async (local) => {
          const index = await local.LocalSearchIndex.open(factory, userId);
          this.#stop = local.feedLocalSearch(index, client);
          return index;
        }).catch((err) => {
          console.warn("gemeng: no local search index on this device", err);
          return null;
        });
      } else if (!client) {
        running = null;
        this.#scope.value = null;
        const closing = this.#index;
        this.#index = Promise.resolve(null);
        void closing.then(async (index) => {
          this.#stop();
          this.#stop = () => {};
          await index?.close();
          const local = await import("./search_local.ts");
          await local.deleteLocalSearch(factory);
        }).catch((err) => console.warn("gemeng: the local search index was not deleted", err));
      }
    });
  }

  /** The local index of encrypted rooms (null where IndexedDB is missing or failed). */
  get localIndex(): Promise<LocalSearchIndex | null> {
    return this.#index;
  }

  /** Opens the panel on a room, or on every room. */
  open(roomId: string | null): void {
    this.#scope.value = { roomId };
  }

  /** Closes the panel. */
  close(): void {
    this.#scope.value = null;
  }

  /** Closes the panel and shows a found message in its room's timeline. */
  async show(roomId: string, eventId: string): Promise<void> {
    this.close();
    const app = this.#app;
    app.openRoom(roomId);
    const room = app.session.clientReady.value?.getRoom(roomId);
    if (!room) return;
    // The timeline model may be new (no room was open yet) and a new timeline loads its newest
    // page first: wait for both, then jump.
    const timeline = await new Promise<RoomTimeline | null>((resolve) => {
      const timer = setTimeout(() => finish(null), 15_000);
      let stop: (() => void) | null = null;
      let done = false;
      const finish = (value: RoomTimeline | null) => {
        done = true;
        clearTimeout(timer);
        queueMicrotask(() => stop?.());
        resolve(value);
      };
      stop = effect(() => {
        const timeline = timelineModel(app).roomTimeline(room);
        if (!done && timeline && !timeline.loading.value) finish(timeline);
      });
      if (done) stop();
    });
    if (!timeline) return;
    // Jump once the room's view is on the page and has placed its first page (it starts at
    // the bottom), as a jump from the open room does.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await timeline.jumpTo(eventId);
  }
}

/** The app's search model. */
export function searchModel(app: AppModel): SearchEntry {
  return featureModel(app, "search", (a) => new SearchEntry(a));
}
