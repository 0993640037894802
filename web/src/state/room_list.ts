/**
 * The room list: one summary per joined or invited room, newest activity first, rebuilt from
 * the client's rooms whenever sync changes them (coalesced to once per task); a search over
 * the names; and answering invitations.
 *
 * Direct chats (spec: "Direct Messaging") are the rooms the `m.direct` account data lists,
 * and invitations whose member event says `is_direct`; they are named after the other person
 * unless the room has a name of its own, and show that person's picture unless the room has one.
 * Accepting a direct invitation records the room in `m.direct`, as the spec asks of the
 * invitee's client.
 *
 * Each row carries its newest message (`room_preview.ts`); a message that arrives encrypted is
 * summarised again when the client decrypts it.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, Room } from "matrix-js-sdk";
import type { Sdk } from "../matrix/sdk.ts";
import { inviteVia } from "./join_room.ts";
import { lastMessagePreview, type MessagePreview } from "./room_preview.ts";

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
  /** The other person of a direct chat; null for other rooms. */
  directUserId: string | null;
  /** The room's topic, if it has one. */
  topic: string | null;
  /** The `mxc://` picture: the room's own, else in a direct chat the other person's. */
  avatarUrl: string | null;
  /** The newest message in the loaded timeline, if any. */
  preview: MessagePreview | null;
}

/** `m.direct` account data: user ID to the direct chats with them. */
export type DirectChats = Readonly<Record<string, readonly string[]>>;

/** The client's `m.direct` content, cleaned of malformed entries. */
export function readDirectChats(sdk: Sdk, client: MatrixClient): DirectChats {
  const content = client.getAccountData(sdk.EventType.Direct)?.getContent() ?? {};
  const out: Record<string, string[]> = {};
  for (const [userId, rooms] of Object.entries(content)) {
    if (Array.isArray(rooms)) out[userId] = rooms.filter((r) => typeof r === "string");
  }
  return out;
}

/** Room ID to the other person, from `m.direct`. */
function directPeers(direct: DirectChats): Map<string, string> {
  const peers = new Map<string, string>();
  for (const [userId, rooms] of Object.entries(direct)) {
    for (const roomId of rooms) peers.set(roomId, userId);
  }
  return peers;
}

/** `direct` with `roomId` recorded as a chat with `userId` (unchanged if it already is). */
export function withDirectChat(direct: DirectChats, userId: string, roomId: string): DirectChats {
  const rooms = direct[userId] ?? [];
  if (rooms.includes(roomId)) return direct;
  return { ...direct, [userId]: [...rooms, roomId] };
}

/** An invitation being answered, or the last answer that failed. */
export interface InviteAction {
  roomId: string;
  state: "busy" | "failed";
  message?: string;
}

/** What names a direct chat's other person: their member name, else their user ID. */
function personName(client: MatrixClient, room: Room, userId: string): string {
  return room.getMember(userId)?.name?.trim() || client.getUser(userId)?.displayName?.trim() ||
    userId;
}

function summarise(
  sdk: Sdk,
  client: MatrixClient,
  room: Room,
  peers: ReadonlyMap<string, string>,
): RoomSummary | null {
  const userId = client.getUserId();
  const membership = room.getMyMembership();
  if (membership !== "join" && membership !== "invite") return null;
  // A joined space is not a conversation: the spaces bar shows it (invitations stay here).
  if (membership === "join" && room.isSpaceRoom()) return null;
  const myEvent = userId ? room.getMember(userId)?.events.member : undefined;
  const invite = membership === "invite" ? myEvent?.getSender() ?? null : null;
  let directUserId = peers.get(room.roomId) ?? null;
  if (!directUserId && membership === "invite" && myEvent?.getContent().is_direct === true) {
    directUserId = invite;
  }
  const ownName = room.currentState.getStateEvents("m.room.name", "")?.getContent().name;
  let name = room.name?.trim();
  if (directUserId && !(typeof ownName === "string" && ownName.trim())) {
    name = personName(client, room, directUserId);
  }
  const topic = room.currentState.getStateEvents("m.room.topic", "")?.getContent().topic;
  let avatarUrl = room.getMxcAvatarUrl();
  if (!avatarUrl && directUserId) {
    avatarUrl = room.getMember(directUserId)?.getMxcAvatarUrl() ??
      client.getUser(directUserId)?.avatarUrl ?? null;
  }
  return {
    roomId: room.roomId,
    name: name && name !== room.roomId ? name : null,
    membership,
    invitedBy: invite,
    unread: room.getUnreadNotificationCount(sdk.NotificationCountType.Total) ?? 0,
    highlight: room.getUnreadNotificationCount(sdk.NotificationCountType.Highlight) ?? 0,
    lastActivity: room.getLastActiveTimestamp(),
    directUserId,
    topic: typeof topic === "string" && topic.trim() ? topic.trim() : null,
    avatarUrl: avatarUrl?.startsWith("mxc://") ? avatarUrl : null,
    preview: membership === "join" ? lastMessagePreview(room, userId) : null,
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
  /** Direct chats written to `m.direct` whose echo has not come back from sync yet. */
  readonly #pendingDirect = new Map<string, string>();
  #client: MatrixClient | null = null;
  #sdk: Sdk | null = null;
  #refresh: () => void = () => {};
  #detach: (() => void) | null = null;

  /** The rooms of the chosen space (the spaces chunk sets it); null shows every room. */
  readonly only = signal<ReadonlySet<string> | null>(null);
  /** Every room, newest activity first. */
  readonly rooms: ReadonlySignal<readonly RoomSummary[]> = computed(() => this.#rooms.value);
  /** The search text. */
  readonly query: ReadonlySignal<string> = computed(() => this.#query.value);
  /** Rooms matching the search. */
  readonly matching: ReadonlySignal<readonly RoomSummary[]> = computed(() => {
    const key = searchKey(this.#query.value.trim());
    const only = this.only.value;
    return this.#rooms.value.filter((room) =>
      (!only || room.membership === "invite" || only.has(room.roomId)) &&
      (!key || searchKey(room.name ?? "").includes(key))
    );
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
    this.#sdk = sdk;
    let scheduled = false;
    const refresh = () => {
      if (scheduled) return;
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        if (this.#detach !== stop) return;
        const peers = directPeers(readDirectChats(sdk, client));
        for (const [roomId, userId] of this.#pendingDirect) {
          if (peers.get(roomId) === userId) this.#pendingDirect.delete(roomId);
          else peers.set(roomId, userId);
        }
        this.#rooms.value = client.getRooms()
          .map((room) => summarise(sdk, client, room, peers))
          .filter((summary): summary is RoomSummary => summary !== null)
          .sort((a, b) => b.lastActivity - a.lastActivity);
      }, 0);
    };
    const events: string[] = [
      sdk.ClientEvent.Room,
      sdk.ClientEvent.DeleteRoom,
      sdk.ClientEvent.Sync,
      sdk.RoomEvent.Timeline,
      sdk.RoomEvent.Redaction,
      sdk.RoomEvent.LocalEchoUpdated,
      sdk.MatrixEventEvent.Decrypted,
      sdk.MatrixEventEvent.Replaced,
      sdk.RoomEvent.Name,
      sdk.RoomEvent.MyMembership,
      sdk.RoomEvent.UnreadNotifications,
      sdk.RoomEvent.Receipt,
      sdk.ClientEvent.AccountData,
      sdk.RoomStateEvent.Events,
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
    this.#refresh = refresh;
    refresh();
  }

  /** Whether `roomId` is a direct chat, and with whom. */
  directPeer(roomId: string): string | null {
    return this.#rooms.value.find((room) => room.roomId === roomId)?.directUserId ??
      this.#pendingDirect.get(roomId) ?? null;
  }

  /**
   * Records `roomId` as a direct chat with `userId` in `m.direct`; the list shows it as one
   * at once, before sync echoes the account data.
   */
  async markDirect(userId: string, roomId: string): Promise<void> {
    const client = this.#client;
    const sdk = this.#sdk;
    if (!client || !sdk) return;
    const current = readDirectChats(sdk, client);
    if (current[userId]?.includes(roomId)) return;
    // Earlier writes not echoed yet are part of what the server holds: keep them.
    let next = current;
    for (const [pendingRoom, pendingUser] of this.#pendingDirect) {
      next = withDirectChat(next, pendingUser, pendingRoom);
    }
    next = withDirectChat(next, userId, roomId);
    this.#pendingDirect.set(roomId, userId);
    this.#refresh();
    try {
      await client.setAccountDataRaw(sdk.EventType.Direct, next as Record<string, string[]>);
    } catch (err) {
      this.#pendingDirect.delete(roomId);
      this.#refresh();
      throw err;
    }
  }

  /** Stops following the client and empties the list. */
  detach(): void {
    this.#detach?.();
    this.#detach = null;
    this.#refresh = () => {};
    this.#pendingDirect.clear();
    this.#client = null;
    this.#rooms.value = [];
    this.#query.value = "";
    this.#action.value = null;
    this.only.value = null;
  }

  /**
   * Joins a room the user is invited to (a direct chat is recorded in `m.direct`). An
   * invitation from another server is joined through the inviter's server, which is in the
   * room while ours may not be.
   */
  accept(roomId: string): Promise<void> {
    const summary = this.#rooms.value.find((room) => room.roomId === roomId);
    const peer = summary?.directUserId;
    return this.#answer(roomId, async (client) => {
      const via = inviteVia(summary?.invitedBy ?? null, client.getUserId());
      await client.joinRoom(roomId, { viaServers: via.length > 0 ? via : undefined });
      if (peer) {
        await this.markDirect(peer, roomId).catch((err) => {
          console.warn("gemeng: could not record the direct chat", err);
        });
      }
    });
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
