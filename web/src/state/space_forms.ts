/**
 * Making and filling spaces, and the server's public room directory (spec: "Spaces",
 * "Listing rooms"):
 *
 * - a new space is a room created with `creation_content.type = "m.space"`; as in Element only
 *   its administrators post in it (`events_default: 100`), and a public one is listed in the
 *   directory and readable by anyone, while a private one admits invited people only;
 * - adding a room sends `m.space.child` (state key: the room, `via`: servers to join through) in
 *   the space and, where the user may, `m.space.parent` (canonical) in the room;
 * - a new room of a space is encrypted and, by default, open to the space's members
 *   (`join_rule: restricted` with an `m.room_membership` rule naming the space);
 * - the directory is `POST /publicRooms` of the user's server with
 *   `filter.generic_search_term`, a page at a time.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import { childLinks, maySend, ownServer, problemOf, Task } from "./spaces.ts";

/** Longest name and topic sent (the server has its own limits; these keep events small). */
const MAX_NAME = 255;
const MAX_TOPIC = 1000;

type StateEvent = { type: string; state_key: string; content: Record<string, unknown> };

/** The new-space form. */
export class CreateSpaceForm {
  readonly name = signal("");
  readonly topic = signal("");
  readonly isPublic = signal(false);
  readonly task = new Task();

  /** Creates the space; its room ID, or null when it failed. */
  async create(client: MatrixClient): Promise<string | null> {
    const name = this.name.value.trim().slice(0, MAX_NAME);
    if (!name) return null;
    const topic = this.topic.value.trim().slice(0, MAX_TOPIC);
    const open = this.isPublic.value;
    let roomId: string | null = null;
    const initialState: StateEvent[] = open
      ? [{
        type: "m.room.history_visibility",
        state_key: "",
        content: { history_visibility: "world_readable" },
      }]
      : [];
    await this.task.run(async () => {
      const created = await client.createRoom({
        name,
        topic: topic || undefined,
        preset: (open ? "public_chat" : "private_chat") as never,
        visibility: (open ? "public" : "private") as never,
        creation_content: { type: "m.space" },
        power_level_content_override: { events_default: 100, invite: open ? 0 : 50 },
        initial_state: initialState,
      });
      roomId = created.room_id;
    });
    return roomId;
  }
}

/** Links `roomId` into a space: the space's child event, and the room's parent where allowed. */
async function link(client: MatrixClient, spaceId: string, roomId: string): Promise<void> {
  const via = [ownServer(client)];
  // The SDK's typed state map does not know these space events: send them untyped.
  const send = client.sendStateEvent.bind(client) as unknown as (
    roomId: string,
    type: string,
    content: Record<string, unknown>,
    stateKey: string,
  ) => Promise<unknown>;
  await send(spaceId, "m.space.child", { via }, roomId);
  if (!maySend(client, roomId, "m.space.parent")) return;
  await send(roomId, "m.space.parent", { via, canonical: true }, spaceId).catch((err) => {
    // The link from the space is what counts; the way back is a courtesy.
    console.warn("gemeng: the room's parent space could not be set", err);
  });
}

/** Who may join a new room of a space. */
export type SpaceRoomAccess = "space" | "invite";

/** The form adding a new room to a space. */
export class NewSpaceRoomForm {
  readonly spaceId: string;
  readonly name = signal("");
  readonly topic = signal("");
  readonly access = signal<SpaceRoomAccess>("space");
  readonly task = new Task();

  constructor(spaceId: string) {
    this.spaceId = spaceId;
  }

  /** Creates the room and links it into the space; its room ID, or null when it failed. */
  async create(client: MatrixClient): Promise<string | null> {
    const name = this.name.value.trim().slice(0, MAX_NAME);
    if (!name) return null;
    const topic = this.topic.value.trim().slice(0, MAX_TOPIC);
    const via = [ownServer(client)];
    const joinRule = this.access.value === "space"
      ? { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: this.spaceId }] }
      : { join_rule: "invite" };
    let roomId: string | null = null;
    await this.task.run(async () => {
      const created = await client.createRoom({
        name,
        topic: topic || undefined,
        preset: "private_chat" as never,
        initial_state: [
          { type: "m.room.join_rules", state_key: "", content: joinRule },
          {
            type: "m.room.encryption",
            state_key: "",
            content: { algorithm: "m.megolm.v1.aes-sha2" },
          },
          { type: "m.space.parent", state_key: this.spaceId, content: { via, canonical: true } },
        ],
      });
      roomId = created.room_id;
      const send = client.sendStateEvent.bind(client) as unknown as (
        roomId: string,
        type: string,
        content: Record<string, unknown>,
        stateKey: string,
      ) => Promise<unknown>;
      await send(this.spaceId, "m.space.child", { via }, created.room_id);
    });
    return roomId;
  }
}

/** A room that may be added to a space. */
export interface Candidate {
  roomId: string;
  name: string | null;
  avatarUrl: string | null;
}

/** The form adding rooms the user is in to a space. */
export class ExistingRoomsForm {
  readonly spaceId: string;
  readonly #chosen = signal<ReadonlySet<string>>(new Set());
  readonly task = new Task();
  /** The rooms ticked. */
  readonly chosen: ReadonlySignal<ReadonlySet<string>> = computed(() => this.#chosen.value);

  constructor(spaceId: string) {
    this.spaceId = spaceId;
  }

  /** Joined conversations that are not direct chats, spaces or already in this space. */
  candidates(client: MatrixClient, rooms: readonly Candidate[]): Candidate[] {
    const space = client.getRoom(this.spaceId);
    const linked = space ? childLinks(space) : new Map();
    return rooms.filter((room) => !linked.has(room.roomId) && room.roomId !== this.spaceId);
  }

  /** Ticks or unticks a room. */
  toggle(roomId: string): void {
    const next = new Set(this.#chosen.value);
    if (!next.delete(roomId)) next.add(roomId);
    this.#chosen.value = next;
  }

  /** Adds the ticked rooms; true when all were added. */
  add(client: MatrixClient): Promise<boolean> {
    const chosen = [...this.#chosen.value];
    return this.task.run(async () => {
      for (const roomId of chosen) {
        await link(client, this.spaceId, roomId);
        const next = new Set(this.#chosen.value);
        next.delete(roomId);
        this.#chosen.value = next;
      }
    });
  }
}

/** One room of the public directory. */
export interface PublicRoom {
  roomId: string;
  name: string | null;
  alias: string | null;
  topic: string | null;
  avatarUrl: string | null;
  members: number;
  isSpace: boolean;
}

const DIRECTORY_PAGE = 20;
const MAX_TERM = 200;

/** The server's public room directory with a search, a page at a time. */
export class PublicDirectory {
  readonly #client: MatrixClient;
  readonly #rooms = signal<readonly PublicRoom[]>([]);
  readonly #next = signal<string | null>(null);
  readonly #loading = signal(false);
  readonly #asked = signal(0);
  readonly #joining = signal<string | null>(null);
  readonly term = signal("");
  readonly task = new Task();
  /** The rooms found so far. */
  readonly rooms: ReadonlySignal<readonly PublicRoom[]> = computed(() => this.#rooms.value);
  /** Whether more rooms match. */
  readonly hasMore: ReadonlySignal<boolean> = computed(() => this.#next.value !== null);
  /** A page is on its way. */
  readonly loading: ReadonlySignal<boolean> = computed(() => this.#loading.value);
  /** The room being joined. */
  readonly joining: ReadonlySignal<string | null> = computed(() => this.#joining.value);
  /** Whether a first answer came. */
  readonly answered: ReadonlySignal<boolean> = computed(() => this.#asked.value > 0);
  #request = 0;

  constructor(client: MatrixClient) {
    this.#client = client;
  }

  /** Lists the rooms matching the search from the start, or the next page with `more`. */
  async search(options: { more?: boolean } = {}): Promise<void> {
    const request = ++this.#request;
    const since = options.more ? this.#next.value ?? undefined : undefined;
    const term = this.term.value.trim().slice(0, MAX_TERM);
    this.#loading.value = true;
    try {
      const page = await this.#client.publicRooms({
        limit: DIRECTORY_PAGE,
        since,
        filter: term ? { generic_search_term: term } : undefined,
      });
      // A newer search (the user kept typing) wins over this answer.
      if (request !== this.#request) return;
      const rooms = page.chunk.map((room) => ({
        roomId: room.room_id,
        name: room.name?.trim() || null,
        alias: room.canonical_alias ?? null,
        topic: room.topic?.trim() || null,
        avatarUrl: room.avatar_url?.startsWith("mxc://") ? room.avatar_url : null,
        members: room.num_joined_members ?? 0,
        isSpace: room.room_type === "m.space",
      }));
      this.#rooms.value = since ? [...this.#rooms.value, ...rooms] : rooms;
      this.#next.value = page.next_batch ?? null;
      this.task.set(null);
    } catch (err) {
      if (request !== this.#request) return;
      console.warn("gemeng: the public rooms could not be listed", err);
      this.task.set(problemOf(err));
    } finally {
      if (request === this.#request) {
        this.#loading.value = false;
        this.#asked.value++;
      }
    }
  }

  /** Joins a listed room (by its address when it has one); true when it worked. */
  async join(room: PublicRoom): Promise<boolean> {
    const client = this.#client;
    this.#joining.value = room.roomId;
    try {
      return await this.task.run(async () => {
        await client.joinRoom(room.alias ?? room.roomId, { viaServers: [ownServer(client)] });
      });
    } finally {
      this.#joining.value = null;
    }
  }
}
