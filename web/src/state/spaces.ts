/**
 * Spaces (spec: Client-Server API, "Spaces"): the spaces the user is in, the one chosen (which
 * narrows the room list to its rooms), and a space's rooms as the server's
 * `GET /v1/rooms/{roomId}/hierarchy` lists them, joinable from there.
 *
 * A space is a room whose `m.room.create` has `type: "m.space"`; its rooms are the state keys
 * of its `m.space.child` events with a non-empty `via` list. The room list counts the rooms of
 * the chosen space and of the spaces inside it. Creating spaces and adding rooms is in
 * space_forms.ts. This module loads with the spaces chunk, never before the first screen, and
 * imports nothing of it but signals (so the first screen's script is not split further).
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, Room } from "matrix-js-sdk";
import type { SpacesKey } from "../i18n/spaces.ts";
import type { AppModel } from "./app.ts";

/** A failed action: the message to show and the server's or browser's words. */
export interface SpacesProblem {
  key: SpacesKey;
  message: string;
}

/** The message for an error from the server or the network. */
export function problemOf(err: unknown): SpacesProblem {
  const code = (err as { errcode?: string })?.errcode;
  const message = err instanceof Error ? err.message : String(err);
  return { key: code === "M_FORBIDDEN" ? "spaces.denied" : "spaces.failed", message };
}

/** An action that may take a while and fail: busy and problem as signals. */
export class Task {
  readonly #busy = signal(false);
  readonly #problem = signal<SpacesProblem | null>(null);
  /** Under way. */
  readonly busy: ReadonlySignal<boolean> = computed(() => this.#busy.value);
  /** Why the last attempt failed. */
  readonly problem: ReadonlySignal<SpacesProblem | null> = computed(() => this.#problem.value);

  /** Runs `work` unless a run is under way; true when it succeeded. */
  async run(work: () => Promise<void>): Promise<boolean> {
    if (this.#busy.value) return false;
    this.#busy.value = true;
    this.#problem.value = null;
    try {
      await work();
      return true;
    } catch (err) {
      console.warn("gemeng: a spaces action failed", err);
      this.#problem.value = problemOf(err);
      return false;
    } finally {
      this.#busy.value = false;
    }
  }

  /** Shows a problem, or forgets the last one (null). */
  set(problem: SpacesProblem | null): void {
    this.#problem.value = problem;
  }
}

/** One space the user is in. */
export interface SpaceEntry {
  roomId: string;
  name: string;
  avatarUrl: string | null;
}

/** The state keys of a space's valid `m.space.child` events, with their `via` servers. */
export function childLinks(room: Room): Map<string, string[]> {
  const links = new Map<string, string[]>();
  for (const event of room.currentState.getStateEvents("m.space.child")) {
    const id = event.getStateKey();
    const via = event.getContent().via;
    if (!id || !Array.isArray(via) || via.length === 0) continue;
    links.set(id, via.filter((server): server is string => typeof server === "string"));
  }
  return links;
}

/** Every room under a space, the rooms of the spaces inside it included (loops are cut). */
export function roomsUnder(client: MatrixClient, spaceId: string): Set<string> {
  const found = new Set<string>();
  const queue = [spaceId];
  while (queue.length > 0) {
    const room = client.getRoom(queue.shift()!);
    if (!room) continue;
    for (const id of childLinks(room).keys()) {
      if (id === spaceId || found.has(id)) continue;
      found.add(id);
      queue.push(id);
    }
  }
  return found;
}

/** The user's server: new rooms live there, so it is the `via` of links to them. */
export function ownServer(client: MatrixClient): string {
  const userId = client.getUserId() ?? "";
  return userId.slice(userId.indexOf(":") + 1);
}

/** Whether the user may change a room's state event of `type` (a power level question). */
export function maySend(client: MatrixClient, roomId: string, type: string): boolean {
  const room = client.getRoom(roomId);
  const userId = client.getUserId();
  return !!room && !!userId && room.getMyMembership() === "join" &&
    room.currentState.maySendStateEvent(type, userId);
}

/** A dialog of the spaces chunk. */
export type SpacesDialog =
  | { kind: "create" }
  | { kind: "explore" }
  | { kind: "addNew"; spaceId: string }
  | { kind: "addExisting"; spaceId: string };

/** The spaces model. */
export class Spaces {
  readonly app: AppModel;
  readonly #selected = signal<string | null>(null);
  readonly #dialog = signal<SpacesDialog | null>(null);
  /** The chosen space; null for every conversation. */
  readonly selected: ReadonlySignal<string | null> = computed(() => this.#selected.value);
  /** The open dialog. */
  readonly dialog: ReadonlySignal<SpacesDialog | null> = computed(() => this.#dialog.value);
  /** The spaces the user has joined, by name. */
  readonly spaces: ReadonlySignal<readonly SpaceEntry[]>;
  /** The IDs of {@link spaces}, one a line: equal strings tell no one, unlike a new list. */
  readonly ids: ReadonlySignal<string> = computed(() =>
    this.spaces.value.map((space) => space.roomId).join("\n")
  );
  /** The spaces with an unread conversation under them. */
  readonly unread: ReadonlySignal<ReadonlySet<string>>;

  constructor(app: AppModel) {
    this.app = app;
    const rooms = app.session.rooms;
    this.spaces = computed(() => {
      // The list is rebuilt on every room or state change: a dependency that follows them.
      void rooms.rooms.value;
      const client = app.session.clientReady.value;
      if (!client) return [];
      return client.getRooms()
        .filter((room) => room.getMyMembership() === "join" && room.isSpaceRoom())
        .map((room) => ({
          roomId: room.roomId,
          name: room.name?.trim() || room.roomId,
          avatarUrl: room.getMxcAvatarUrl(),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    });
    this.unread = computed(() => {
      const client = app.session.clientReady.value;
      const unread = rooms.rooms.value.filter((room) =>
        room.membership === "join" && (room.unread > 0 || room.highlight > 0)
      );
      const out = new Set<string>();
      if (!client || unread.length === 0) return out;
      for (const space of this.spaces.value) {
        const under = roomsUnder(client, space.roomId);
        if (unread.some((room) => under.has(room.roomId))) out.add(space.roomId);
      }
      return out;
    });
    effect(() => {
      const id = this.#selected.value;
      const client = app.session.clientReady.value;
      const known = this.spaces.value.some((space) => space.roomId === id);
      rooms.only.value = client && id && known ? roomsUnder(client, id) : null;
    });
  }

  /** Narrows the room list to a space's rooms (null: every conversation). */
  select(spaceId: string | null): void {
    this.#selected.value = spaceId;
  }

  /** Opens a dialog (one at a time). */
  open(dialog: SpacesDialog): void {
    this.#dialog.value = dialog;
  }

  /** Closes the dialog. */
  close(): void {
    this.#dialog.value = null;
  }
}

const models = new WeakMap<AppModel, Spaces>();

/** The app's spaces model (one per app). */
export function spacesModel(app: AppModel): Spaces {
  let model = models.get(app);
  if (!model) models.set(app, model = new Spaces(app));
  return model;
}

/** One room of a space's hierarchy. */
export interface HierarchyRoom {
  roomId: string;
  name: string | null;
  alias: string | null;
  topic: string | null;
  avatarUrl: string | null;
  members: number;
  isSpace: boolean;
  /** Servers to join through, from the link of the space above it. */
  via: string[];
}

const PAGE = 50;

/**
 * A space's rooms from `/hierarchy` (the space itself left out), a page at a time, and
 * joining one of them through the `via` servers of its link.
 */
export class SpaceHierarchy {
  readonly spaceId: string;
  readonly #client: MatrixClient;
  readonly #rooms = signal<readonly HierarchyRoom[]>([]);
  readonly #next = signal<string | null>(null);
  readonly #loading = signal(false);
  readonly #loaded = signal(false);
  readonly #problem = signal<SpacesProblem | null>(null);
  readonly #joining = signal<string | null>(null);
  readonly #via = new Map<string, string[]>();
  /** The rooms loaded so far, in the server's order. */
  readonly rooms: ReadonlySignal<readonly HierarchyRoom[]> = computed(() => this.#rooms.value);
  /** Whether there are more rooms to load. */
  readonly hasMore: ReadonlySignal<boolean> = computed(() => this.#next.value !== null);
  /** A page is being loaded. */
  readonly loading: ReadonlySignal<boolean> = computed(() => this.#loading.value);
  /** Whether the first answer (or failure) came. */
  readonly loaded: ReadonlySignal<boolean> = computed(() => this.#loaded.value);
  /** Why loading or joining failed. */
  readonly problem: ReadonlySignal<SpacesProblem | null> = computed(() => this.#problem.value);
  /** The room being joined. */
  readonly joining: ReadonlySignal<string | null> = computed(() => this.#joining.value);

  constructor(client: MatrixClient, spaceId: string) {
    this.#client = client;
    this.spaceId = spaceId;
  }

  /** Loads the first page again (after rooms were added), or the next one with `more`. */
  async load(options: { more?: boolean } = {}): Promise<void> {
    if (this.#loading.value) return;
    const from = options.more ? this.#next.value ?? undefined : undefined;
    this.#loading.value = true;
    this.#problem.value = null;
    try {
      const page = await this.#client.getRoomHierarchy(this.spaceId, PAGE, undefined, false, from);
      const rooms: HierarchyRoom[] = [];
      for (const room of page.rooms) {
        for (const child of room.children_state ?? []) {
          const via = child.content?.via;
          if (Array.isArray(via) && via.length > 0) this.#via.set(child.state_key, via);
        }
        if (room.room_id === this.spaceId) continue;
        rooms.push({
          roomId: room.room_id,
          name: room.name?.trim() || null,
          alias: room.canonical_alias ?? null,
          topic: room.topic?.trim() || null,
          avatarUrl: room.avatar_url?.startsWith("mxc://") ? room.avatar_url : null,
          members: room.num_joined_members ?? 0,
          isSpace: room.room_type === "m.space",
          via: this.#via.get(room.room_id) ?? [],
        });
      }
      this.#rooms.value = options.more ? [...this.#rooms.value, ...rooms] : rooms;
      this.#next.value = page.next_batch ?? null;
    } catch (err) {
      console.warn("gemeng: the space's rooms could not be loaded", err);
      this.#problem.value = problemOf(err);
    } finally {
      this.#loading.value = false;
      this.#loaded.value = true;
    }
  }

  /** Joins a room of the space; true when it worked. */
  async join(room: HierarchyRoom): Promise<boolean> {
    if (this.#joining.value) return false;
    this.#joining.value = room.roomId;
    this.#problem.value = null;
    try {
      const via = room.via.length > 0 ? room.via : [ownServer(this.#client)];
      await this.#client.joinRoom(room.roomId, { viaServers: via });
      return true;
    } catch (err) {
      this.#problem.value = problemOf(err);
      return false;
    } finally {
      this.#joining.value = null;
    }
  }
}
