/**
 * The open room's timeline: a window onto the SDK's live timeline (matrix-js-sdk's
 * TimelineWindow, so jumping to an old event loads it around that event with `/context`),
 * paging back, the rows to show (tiles, day separators, sender groups, read receipts), who is
 * typing, and the read receipt and fully-read marker this user sends once the newest event is
 * on screen.
 *
 * The SDK's events are mutable objects (local echoes become sent, edits replace content,
 * redactions strip it, decryption fills it in); every such change bumps {@link version}, and
 * the rows are recomputed from it.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { EventTimeline, MatrixClient, MatrixEvent, Room, TimelineWindow } from "matrix-js-sdk";
import type { Sdk } from "../matrix/sdk.ts";
import {
  type LayoutEvent,
  layoutTimeline,
  localDay,
  type TileKind,
  tileKind,
  type TimelineRow,
} from "./timeline_items.ts";

/** Events asked for per page. */
const PAGE_SIZE = 30;
/** How long paging waits after a failed (or empty) page before it asks again. */
const RETRY_MS = 5000;

/** What the timeline shows: the window's events and the rows laid out from them. */
export interface TimelineView {
  events: readonly MatrixEvent[];
  rows: readonly TimelineRow[];
  /**
   * Changes with every change to the events (they are mutable SDK objects, and components that
   * read signals re-render only for changed props, so tiles pass this down).
   */
  version: number;
}

/** The tile kind of an SDK event. */
export function eventTileKind(event: MatrixEvent): TileKind {
  const type = event.getType();
  return tileKind({
    type,
    relType: event.getRelation()?.rel_type,
    isState: event.isState(),
    redacted: event.isRedacted(),
    // A redacted encrypted event keeps its type but loses its ciphertext, and the SDK does not
    // try to decrypt it: it is a deleted message, not one waiting for its key.
    undecryptable: !event.isRedacted() &&
      (type === "m.room.encrypted" || event.isDecryptionFailure()),
    membership: event.getContent().membership,
    prevMembership: event.getPrevContent().membership,
  });
}

/** Receipts of the room's members (not this user), by the event they point at. */
export function receiptsByEvent(room: Room, myUserId: string | null): Map<string, string[]> {
  const byEvent = new Map<string, string[]>();
  for (const member of room.getJoinedMembers()) {
    if (member.userId === myUserId) continue;
    const eventId = room.getEventReadUpTo(member.userId);
    if (!eventId) continue;
    const list = byEvent.get(eventId);
    if (list) list.push(member.userId);
    else byEvent.set(eventId, [member.userId]);
  }
  return byEvent;
}

/** Lays out `events` as rows; a sender is not listed as a reader of their own message. */
export function timelineRows(
  events: readonly MatrixEvent[],
  receipts: ReadonlyMap<string, readonly string[]>,
): TimelineRow[] {
  const facts: LayoutEvent[] = events.map((event) => ({
    id: event.getId() ?? "",
    sender: event.getSender() ?? "",
    ts: event.getTs(),
    kind: eventTileKind(event),
  }));
  const rows = layoutTimeline(facts, { dayOf: localDay, receipts });
  for (const row of rows) {
    if (row.type !== "event" || row.readers.length === 0) continue;
    const sender = facts[row.index].sender;
    row.readers = row.readers.filter((userId) => userId !== sender);
  }
  return rows;
}

/** An SDK emitter seen loosely: its typed event maps do not fit a loop over event names. */
interface LooseEmitter {
  on(name: string, fn: (...args: never[]) => void): unknown;
  off(name: string, fn: (...args: never[]) => void): unknown;
}

/** Listens to `name` on an SDK emitter; returns the function that stops listening. */
export function subscribe(
  emitter: object,
  name: string,
  fn: (...args: never[]) => void,
): () => void {
  const loose = emitter as LooseEmitter;
  loose.on(name, fn);
  return () => loose.off(name, fn);
}

/** The display name of a user in a room (their user ID when the room does not know them). */
export function displayName(room: Room, userId: string): string {
  return room.getMember(userId)?.name || userId;
}

/** One room's timeline, as signals. */
export class RoomTimeline {
  readonly room: Room;
  readonly #client: MatrixClient;
  readonly #sdk: Sdk;
  #window: TimelineWindow | null = null;
  #events: MatrixEvent[] = [];
  readonly #version = signal(0);
  readonly #loading = signal(true);
  readonly #loadingOlder = signal(false);
  readonly #canLoadOlder = signal(false);
  readonly #atLiveEnd = signal(true);
  readonly #highlight = signal<{ eventId: string; serial: number } | null>(null);
  readonly #typing = signal<readonly string[]>([]);
  readonly #failed = signal(false);
  readonly #disposers: (() => void)[] = [];
  #bumpQueued = false;
  #lastReadSent: string | null = null;
  #serial = 0;
  #retryAfter = 0;

  /** Changes whenever an event on screen or the window changes. */
  readonly version: ReadonlySignal<number> = computed(() => this.#version.value);
  /** The first page is loading. */
  readonly loading: ReadonlySignal<boolean> = computed(() => this.#loading.value);
  /** Older messages are being fetched. */
  readonly loadingOlder: ReadonlySignal<boolean> = computed(() => this.#loadingOlder.value);
  /** There may be older messages. */
  readonly canLoadOlder: ReadonlySignal<boolean> = computed(() => this.#canLoadOlder.value);
  /** The window ends at the newest event (false after jumping to an old one). */
  readonly atLiveEnd: ReadonlySignal<boolean> = computed(() => this.#atLiveEnd.value);
  /** The event to scroll to and mark, with a serial so the same event can be asked twice. */
  readonly highlight: ReadonlySignal<{ eventId: string; serial: number } | null> = computed(() =>
    this.#highlight.value
  );
  /** Display names of the people typing (not this user). */
  readonly typing: ReadonlySignal<readonly string[]> = computed(() => this.#typing.value);
  /** Loading failed (offline, or the event to jump to is gone). */
  readonly failed: ReadonlySignal<boolean> = computed(() => this.#failed.value);
  /** The events and rows to show. */
  readonly view: ReadonlySignal<TimelineView>;

  constructor(sdk: Sdk, client: MatrixClient, room: Room) {
    this.#sdk = sdk;
    this.#client = client;
    this.room = room;
    this.view = computed(() => {
      const version = this.#version.value;
      const events = this.#events;
      const rows = timelineRows(events, receiptsByEvent(room, client.getUserId()));
      return { events, rows, version };
    });
    this.#listen();
    void this.#load();
    // Display names, receipts and the mention list need the members, not only the senders.
    room.loadMembersIfNeeded().then(() => this.#bump()).catch(() => {});
  }

  #listen(): void {
    const { RoomEvent, ThreadEvent, MatrixEventEvent, RoomMemberEvent, RoomStateEvent } = this.#sdk;
    const room = this.room;
    const client = this.#client;
    const on = (emitter: object, name: string, fn: (...args: never[]) => void) => {
      this.#disposers.push(subscribe(emitter, name, fn));
    };
    const mainSet = room.getUnfilteredTimelineSet();
    on(room, RoomEvent.Timeline, (
      _event: MatrixEvent,
      _room: Room,
      toStart: boolean,
      _removed: boolean,
      data: { timeline: EventTimeline },
    ) => {
      if (data?.timeline?.getTimelineSet() !== mainSet) {
        this.#bump(); // a thread's reply changes its root's summary
        return;
      }
      if (!toStart && this.#atLiveEnd.value) {
        void this.#window?.paginate(this.#sdk.EventTimeline.FORWARDS, 1000, false);
      }
      this.#bump();
    });
    on(room, RoomEvent.TimelineReset, (_room: Room, timelineSet: unknown) => {
      if (timelineSet !== mainSet) return;
      // A gap in sync replaced the live timeline: start again from its end.
      if (this.#atLiveEnd.value) void this.#load();
    });
    for (const name of [RoomEvent.LocalEchoUpdated, RoomEvent.Redaction, RoomEvent.Receipt]) {
      on(room, name, () => this.#bump());
    }
    for (const name of [ThreadEvent.New, ThreadEvent.Update, ThreadEvent.NewReply]) {
      on(room, name, () => this.#bump());
    }
    const inRoom = (event: MatrixEvent) => event.getRoomId() === room.roomId;
    on(client, MatrixEventEvent.Decrypted, (event: MatrixEvent) => {
      if (inRoom(event)) this.#bump();
    });
    on(client, MatrixEventEvent.Replaced, (event: MatrixEvent) => {
      if (inRoom(event)) this.#bump();
    });
    on(client, RoomStateEvent.Members, (event: MatrixEvent) => {
      if (inRoom(event)) this.#bump();
    });
    on(
      client as never,
      RoomMemberEvent.Typing,
      (_event: MatrixEvent, member: { roomId: string }) => {
        if (member.roomId === room.roomId) this.#updateTyping();
      },
    );
    this.#updateTyping();
  }

  #updateTyping(): void {
    const me = this.#client.getUserId();
    this.#typing.value = this.room.currentState.getMembers()
      .filter((member) => member.typing && member.userId !== me)
      .map((member) => member.name || member.userId);
  }

  /** Schedules one refresh for a burst of changes. */
  #bump(): void {
    if (this.#bumpQueued) return;
    this.#bumpQueued = true;
    queueMicrotask(() => {
      this.#bumpQueued = false;
      this.#refresh();
    });
  }

  #refresh(): void {
    const { EventTimeline } = this.#sdk;
    this.#events = this.#window?.getEvents() ?? [];
    this.#canLoadOlder.value = this.#window?.canPaginate(EventTimeline.BACKWARDS) ?? false;
    this.#version.value++;
  }

  async #load(eventId?: string): Promise<boolean> {
    this.#loading.value = true;
    this.#failed.value = false;
    const window = new this.#sdk.TimelineWindow(this.#client, this.room.getUnfilteredTimelineSet());
    try {
      await window.load(eventId, PAGE_SIZE);
      this.#window = window;
      this.#atLiveEnd.value = !window.canPaginate(this.#sdk.EventTimeline.FORWARDS);
      return true;
    } catch (err) {
      console.warn("gemeng: the timeline could not load", err);
      this.#failed.value = true;
      return false;
    } finally {
      this.#loading.value = false;
      this.#refresh();
    }
  }

  /**
   * Fetches older messages; false when there are none (or fetching failed). `userAsked`: the
   * "Load older messages" button, which tries again at once.
   */
  async loadOlder(options: { userAsked?: boolean } = {}): Promise<boolean> {
    const window = this.#window;
    if (!window || this.#loadingOlder.value || !this.#canLoadOlder.value) return false;
    // After a failure (or a page with nothing new), wait before asking again unless the person
    // asks: scrolling and every render would otherwise ask in a loop while offline.
    if (!options.userAsked && Date.now() < this.#retryAfter) return false;
    this.#loadingOlder.value = true;
    try {
      const more = await window.paginate(this.#sdk.EventTimeline.BACKWARDS, PAGE_SIZE);
      if (!more) this.#retryAfter = Date.now() + RETRY_MS;
      this.#failed.value = false;
      this.#refresh();
      return more;
    } catch (err) {
      console.warn("gemeng: older messages could not load", err);
      this.#retryAfter = Date.now() + RETRY_MS;
      this.#failed.value = true;
      return false;
    } finally {
      this.#loadingOlder.value = false;
    }
  }

  /** After a jump into the past: fetches newer messages, up to the live end. */
  async loadNewer(): Promise<void> {
    const window = this.#window;
    if (!window || this.#atLiveEnd.value || this.#loadingOlder.value) return;
    if (Date.now() < this.#retryAfter) return;
    const { EventTimeline } = this.#sdk;
    this.#loadingOlder.value = true;
    try {
      const more = await window.paginate(EventTimeline.FORWARDS, PAGE_SIZE);
      this.#atLiveEnd.value = !window.canPaginate(EventTimeline.FORWARDS);
      if (!more && !this.#atLiveEnd.value) this.#retryAfter = Date.now() + RETRY_MS;
      this.#refresh();
    } catch (err) {
      console.warn("gemeng: newer messages could not load", err);
      this.#retryAfter = Date.now() + RETRY_MS;
    } finally {
      this.#loadingOlder.value = false;
    }
  }

  /** Shows `eventId`: scrolls to it when loaded, else loads the timeline around it. */
  async jumpTo(eventId: string): Promise<void> {
    if (!this.#events.some((event) => event.getId() === eventId)) {
      if (!await this.#load(eventId)) return;
    }
    this.#highlight.value = { eventId, serial: ++this.#serial };
  }

  /** Back to the newest messages. */
  async jumpToLatest(): Promise<void> {
    if (!this.#atLiveEnd.value) await this.#load();
    this.#highlight.value = null;
  }

  /**
   * The newest event is on screen and the window has focus: sends a read receipt and moves the
   * fully-read marker to it, once per event.
   */
  markRead(): void {
    if (!this.#atLiveEnd.value) return;
    const events = this.room.getLiveTimeline().getEvents();
    let newest: MatrixEvent | undefined;
    for (let i = events.length - 1; i >= 0 && !newest; i--) {
      const id = events[i].getId();
      if (id && !id.startsWith("~") && !events[i].status) newest = events[i];
    }
    const eventId = newest?.getId();
    if (!newest || !eventId || eventId === this.#lastReadSent) return;
    this.#lastReadSent = eventId;
    const me = this.#client.getUserId();
    if (me && this.room.getEventReadUpTo(me, true) === eventId) return;
    this.#client.setRoomReadMarkers(this.room.roomId, eventId, newest).catch((err) => {
      console.warn("gemeng: the read receipt was not sent", err);
      this.#lastReadSent = null;
    });
  }

  /** Where this user stopped reading: the fully-read marker (`m.fully_read`), else their receipt. */
  readMarker(): string | null {
    const marker = this.room.getAccountData("m.fully_read" as never)?.getContent().event_id;
    if (typeof marker === "string") return marker;
    const me = this.#client.getUserId();
    return me ? this.room.getEventReadUpTo(me, true) : null;
  }

  /** Stops listening. */
  dispose(): void {
    for (const dispose of this.#disposers.splice(0)) dispose();
  }
}
