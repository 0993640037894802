/**
 * One thread as the thread panel shows it: the root, the replies (the SDK's thread timeline,
 * with `threadSupport` on, filled from `/relations`), paging back, and the threaded read
 * receipt sent once the newest reply is on screen.
 *
 * A thread that does not exist yet (no reply so far) shows its root alone; the SDK creates the
 * thread with the first reply, and this model attaches to it then.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent, Room, Thread } from "matrix-js-sdk";
import type { Sdk } from "../matrix/sdk.ts";
import { receiptsByEvent, subscribe, timelineRows, type TimelineView } from "./timeline.ts";

/** A thread's root and replies. */
export interface ThreadView extends TimelineView {
  root: MatrixEvent | null;
}

/** One thread, as signals. */
export class ThreadTimeline {
  readonly room: Room;
  readonly rootId: string;
  readonly #client: MatrixClient;
  readonly #sdk: Sdk;
  #thread: Thread | null = null;
  #root: MatrixEvent | null = null;
  readonly #version = signal(0);
  readonly #loadingOlder = signal(false);
  readonly #disposers: (() => void)[] = [];
  #bumpQueued = false;
  #lastReadSent: string | null = null;
  #retryAfter = 0;

  /** Older replies are being fetched. */
  readonly loadingOlder: ReadonlySignal<boolean> = computed(() => this.#loadingOlder.value);
  /** The root and the replies to show. */
  readonly view: ReadonlySignal<ThreadView>;
  /** There may be older replies. */
  readonly canLoadOlder: ReadonlySignal<boolean>;

  constructor(sdk: Sdk, client: MatrixClient, room: Room, rootId: string) {
    this.#sdk = sdk;
    this.#client = client;
    this.room = room;
    this.rootId = rootId;
    this.view = computed(() => {
      const version = this.#version.value;
      const thread = this.#thread;
      const events = (thread?.events ?? []).filter((event) => event.getId() !== rootId);
      const receipts = receiptsByEvent(room, client.getUserId());
      return { root: this.#root, events, rows: timelineRows(events, receipts), version };
    });
    this.canLoadOlder = computed(() => {
      this.#version.value;
      const token = this.#thread?.liveTimeline.getPaginationToken(sdk.EventTimeline.BACKWARDS);
      return typeof token === "string" && token !== "";
    });
    const { RoomEvent, ThreadEvent, MatrixEventEvent } = sdk;
    const bump = () => this.#bump();
    const roomEvents = [
      RoomEvent.Timeline,
      RoomEvent.TimelineReset,
      RoomEvent.LocalEchoUpdated,
      RoomEvent.Redaction,
      RoomEvent.Receipt,
      ThreadEvent.New,
      ThreadEvent.Update,
      ThreadEvent.NewReply,
    ];
    for (const name of roomEvents) {
      this.#disposers.push(subscribe(room, name, bump));
    }
    const onEvent = (event: MatrixEvent) => {
      if (event.getRoomId() === room.roomId) bump();
    };
    for (const name of [MatrixEventEvent.Decrypted, MatrixEventEvent.Replaced]) {
      this.#disposers.push(subscribe(client, name, onEvent));
    }
    this.#attach();
    if (!this.#root) void this.#fetchRoot();
  }

  #attach(): void {
    this.#thread ??= this.room.getThread(this.rootId);
    this.#root ??= this.room.findEventById(this.rootId) ?? this.#thread?.rootEvent ?? null;
    // A thread with no reply yet: the SDK makes the thread object only for events it receives,
    // so the first reply's local echo would have nowhere to go.
    if (!this.#thread && this.#root && !this.#root.isRedacted()) {
      this.#thread = this.room.createThread(this.rootId, this.#root, [], true);
    }
  }

  async #fetchRoot(): Promise<void> {
    try {
      const raw = await this.#client.fetchRoomEvent(this.room.roomId, this.rootId);
      this.#root ??= this.#client.getEventMapper()(raw);
      this.#bump();
    } catch (err) {
      console.warn("gemeng: the thread's first message could not load", err);
    }
  }

  #bump(): void {
    if (this.#bumpQueued) return;
    this.#bumpQueued = true;
    queueMicrotask(() => {
      this.#bumpQueued = false;
      this.#attach();
      this.#version.value++;
    });
  }

  /** The latest reply (the fallback reply target of a new message in the thread). */
  get latestEventId(): string | undefined {
    const reply = this.#thread?.lastReply((event) => !event.status && !event.isRedacted());
    return reply?.getId() ?? undefined;
  }

  /** Fetches older replies (after a failure, not again for a few seconds unless asked). */
  async loadOlder(options: { userAsked?: boolean } = {}): Promise<void> {
    const thread = this.#thread;
    if (!thread || this.#loadingOlder.value) return;
    if (!options.userAsked && Date.now() < this.#retryAfter) return;
    this.#loadingOlder.value = true;
    try {
      await this.#client.paginateEventTimeline(thread.liveTimeline, { backwards: true, limit: 30 });
      this.#bump();
    } catch (err) {
      console.warn("gemeng: older replies could not load", err);
      this.#retryAfter = Date.now() + 5000;
    } finally {
      this.#loadingOlder.value = false;
    }
  }

  /** The newest reply is on screen and the window has focus: a threaded read receipt. */
  markRead(): void {
    const events = this.view.value.events;
    const newest = [...events].reverse().find((event) =>
      !event.status && !(event.getId() ?? "~").startsWith("~")
    );
    const eventId = newest?.getId();
    if (!newest || !eventId || eventId === this.#lastReadSent) return;
    this.#lastReadSent = eventId;
    this.#client.sendReadReceipt(newest).catch((err) => {
      console.warn("gemeng: the thread's read receipt was not sent", err);
      this.#lastReadSent = null;
    });
  }

  /** Stops listening. */
  dispose(): void {
    for (const dispose of this.#disposers.splice(0)) dispose();
  }
}
