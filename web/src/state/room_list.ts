/**
 * The room list: one summary per joined or invited room, newest activity first, rebuilt from
 * the client's rooms whenever sync changes them (coalesced to once per task).
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
  /** Notification counts from the server. */
  unread: number;
  highlight: number;
  /** Timestamp of the newest event, for ordering. */
  lastActivity: number;
}

function summarise(sdk: Sdk, room: Room): RoomSummary | null {
  const membership = room.getMyMembership();
  if (membership !== "join" && membership !== "invite") return null;
  const name = room.name?.trim();
  return {
    roomId: room.roomId,
    name: name && name !== room.roomId ? name : null,
    membership,
    unread: room.getUnreadNotificationCount(sdk.NotificationCountType.Total) ?? 0,
    highlight: room.getUnreadNotificationCount(sdk.NotificationCountType.Highlight) ?? 0,
    lastActivity: room.getLastActiveTimestamp(),
  };
}

/** The room list model. */
export class RoomList {
  readonly #rooms = signal<readonly RoomSummary[]>([]);
  #detach: (() => void) | null = null;

  /** Rooms, newest activity first. */
  readonly rooms: ReadonlySignal<readonly RoomSummary[]> = computed(() => this.#rooms.value);

  /** Follows a client's rooms until {@link detach}. */
  attach(sdk: Sdk, client: MatrixClient): void {
    this.detach();
    let scheduled = false;
    const refresh = () => {
      if (scheduled) return;
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        if (this.#detach !== stop) return;
        this.#rooms.value = client.getRooms()
          .map((room) => summarise(sdk, room))
          .filter((summary): summary is RoomSummary => summary !== null)
          .sort((a, b) => b.lastActivity - a.lastActivity);
      }, 0);
    };
    const clientEvents = [sdk.ClientEvent.Room, sdk.ClientEvent.DeleteRoom, sdk.ClientEvent.Sync];
    const roomEvents = [
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
    const events: string[] = [...clientEvents, ...roomEvents];
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
    this.#rooms.value = [];
  }
}
