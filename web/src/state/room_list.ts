/**
 * The room list: one summary per joined or invited room, newest activity first, rebuilt from
 * the client's rooms whenever sync changes them (coalesced to once per task); a search over
 * the names; and answering invitations.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, Room } from "matrix-js-sdk";
import type { Sdk } from "../matrix/sdk.ts";

/** One row of the room list. */
export interface RoomSummary {
  roomId: string;
  /** The room's name as the SDK computes it (explicit name, alias or members); null if none. */
  name: string | null;
  membership: "join" | "invite";
  /** Who sent the invitation (invites only). */
  invitedBy: string | null;
  /** Notification counts from the server. */
  unread: number;
  highlight: number;
  /** Timestamp of the newest event, for ordering. */
  lastActivity: number;
}

/** An invitation being answered, or the last answer that failed. */
export interface InviteAction {
  roomId: string;
  state: "busy" | "failed";
  message?: string;
}

function summarise(sdk: Sdk, room: Room, userId: string | null): RoomSummary | null {
  const membership = room.getMyMembership();
  if (membership !== "join" && membership !== "invite") return null;
  const name = room.name?.trim();
  const invite = membership === "invite" && userId
    ? room.getMember(userId)?.events.member?.getSender() ?? null
    : null;
  return {
    roomId: room.roomId,
    name: name && name !== room.roomId ? name : null,
    membership,
    invitedBy: invite,
    unread: room.getUnreadNotificationCount(sdk.NotificationCountType.Total) ?? 0,
    highlight: room.getUnreadNotificationCount(sdk.NotificationCountType.Highlight) ?? 0,
    lastActivity: room.getLastActiveTimestamp(),
  };
}

/** Lower case without accents, so "eve" finds "Ève". */
export function searchKey(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** The room list model. */
export class RoomList {
  readonly #rooms = signal<readonly RoomSummary[]>([]);
  readonly #query = signal("");
  readonly #action = signal<InviteAction | null>(null);
  #client: MatrixClient | null = null;
  #detach: (() => void) | null = null;

  /** Every room, newest activity first. */
  readonly rooms: ReadonlySignal<readonly RoomSummary[]> = computed(() => this.#rooms.value);
  /** The search text. */
  readonly query: ReadonlySignal<string> = computed(() => this.#query.value);
  /** Rooms matching the search. */
  readonly matching: ReadonlySignal<readonly RoomSummary[]> = computed(() => {
    const key = searchKey(this.#query.value.trim());
    if (!key) return this.#rooms.value;
    return this.#rooms.value.filter((room) => searchKey(room.name ?? "").includes(key));
  });
  /** Matching rooms the user is invited to. */
  readonly invites: ReadonlySignal<readonly RoomSummary[]> = computed(() =>
    this.matching.value.filter((room) => room.membership === "invite")
  );
  /** Matching rooms the user has joined. */
  readonly joined: ReadonlySignal<readonly RoomSummary[]> = computed(() =>
    this.matching.value.filter((room) => room.membership === "join")
  );
  /** The invitation being answered, or the last that failed. */
  readonly action: ReadonlySignal<InviteAction | null> = computed(() => this.#action.value);

  /** Sets the search text. */
  search(query: string): void {
    this.#query.value = query;
  }

  /** Follows a client's rooms until {@link detach}. */
  attach(sdk: Sdk, client: MatrixClient): void {
    this.detach();
    this.#client = client;
    let scheduled = false;
    const refresh = () => {
      if (scheduled) return;
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        if (this.#detach !== stop) return;
        const userId = client.getUserId();
        this.#rooms.value = client.getRooms()
          .map((room) => summarise(sdk, room, userId))
          .filter((summary): summary is RoomSummary => summary !== null)
          .sort((a, b) => b.lastActivity - a.lastActivity);
      }, 0);
    };
    const events: string[] = [
      sdk.ClientEvent.Room,
      sdk.ClientEvent.DeleteRoom,
      sdk.ClientEvent.Sync,
      sdk.RoomEvent.Timeline,
      sdk.RoomEvent.Name,
      sdk.RoomEvent.MyMembership,
      sdk.RoomEvent.UnreadNotifications,
      sdk.RoomEvent.Receipt,
    ];
    // The client re-emits its rooms' events; the listener ignores their arguments.
    const emitter = client as unknown as {
      on(event: string, listener: () => void): void;
      off(event: string, listener: () => void): void;
    };
    for (const event of events) emitter.on(event, refresh);
    const stop = () => {
      for (const event of events) emitter.off(event, refresh);
    };
    this.#detach = stop;
    refresh();
  }

  /** Stops following the client and empties the list. */
  detach(): void {
    this.#detach?.();
    this.#detach = null;
    this.#client = null;
    this.#rooms.value = [];
    this.#query.value = "";
    this.#action.value = null;
  }

  /** Joins a room the user is invited to. */
  accept(roomId: string): Promise<void> {
    return this.#answer(roomId, (client) => client.joinRoom(roomId));
  }

  /** Declines an invitation. */
  decline(roomId: string): Promise<void> {
    return this.#answer(roomId, (client) => client.leave(roomId));
  }

  async #answer(roomId: string, act: (client: MatrixClient) => Promise<unknown>) {
    const client = this.#client;
    if (!client || this.#action.value?.state === "busy") return;
    this.#action.value = { roomId, state: "busy" };
    try {
      await act(client);
      this.#action.value = null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#action.value = { roomId, state: "failed", message };
    }
  }
}
