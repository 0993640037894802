/**
 * A room's settings: name, topic, avatar, encryption, and its members with their roles
 * (spec: "Permissions" / `m.room.power_levels`). What the user may change follows the same
 * rules the server's auth rules apply, so the dialog disables what would be refused:
 *
 * - a state event needs the level `events[type]` (else `state_default`);
 * - a member's level may be changed only if it is below the user's own (or is the user's),
 *   and never to more than the user's own level;
 * - removing (kick) and banning need the `kick` / `ban` level and a target below the user.
 *
 * In room version 12 the room's creators stand above every level and cannot be changed.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, Room, RoomMember } from "matrix-js-sdk";
import { loadSdk } from "../matrix/sdk.ts";
import { MEGOLM, Task } from "./room_task.ts";

/** The roles the app names, with their power levels. */
export const ROLE_LEVELS = { admin: 100, moderator: 50, member: 0 } as const;

/** A named role, or a level the app has no name for, or a creator (above every level). */
export type Role = keyof typeof ROLE_LEVELS | "custom" | "creator";

/** The role of a power level. */
export function roleOf(level: number): Role {
  if (level === Infinity) return "creator";
  for (const [role, value] of Object.entries(ROLE_LEVELS)) {
    if (value === level) return role as Role;
  }
  return "custom";
}

/** One member as the settings show them. */
export interface MemberInfo {
  userId: string;
  name: string;
  membership: "join" | "invite" | "ban";
  level: number;
  role: Role;
  isMe: boolean;
  /** The user may change this member's role. */
  canChangeRole: boolean;
  /** The levels the user may give (at most their own). */
  maxLevel: number;
  canKick: boolean;
  canBan: boolean;
  canUnban: boolean;
}

/** The room as the settings show it. */
export interface RoomSnapshot {
  name: string;
  topic: string;
  /** `mxc://` URL of the avatar. */
  avatarUrl: string | null;
  encrypted: boolean;
  myLevel: number;
  canName: boolean;
  canTopic: boolean;
  canAvatar: boolean;
  canEncrypt: boolean;
  canInvite: boolean;
  /** `lu.gemeng.internal`: only users of the room's own server may join or be invited. */
  internal: boolean;
  /** The user may switch it: enough power, and the room was created on the user's server. */
  canInternal: boolean;
  /** The room was created on another server (whose users alone decide about it). */
  foreignRoom: boolean;
  /** The server the room was created on (the user's own when unknown). */
  homeServer: string;
  members: readonly MemberInfo[];
}

/** The state event of internal rooms (server/rooms/internal_rooms.ts). */
export const INTERNAL_ROOM_TYPE = "lu.gemeng.internal";

function serverOf(userId: string | undefined): string | null {
  const at = userId?.indexOf(":") ?? -1;
  return at < 0 ? null : userId!.slice(at + 1);
}

/** A remove, a ban or lowering one's own role, waiting for the user's confirmation. */
export interface PendingModeration {
  action: "kick" | "ban" | "demoteSelf";
  userId: string;
  name: string;
  /** The new level (`demoteSelf`). */
  level?: number;
}

function stateContent(room: Room, type: string): Record<string, unknown> {
  return room.currentState.getStateEvents(type, "")?.getContent() ?? {};
}

function levelOf(member: RoomMember | null | undefined): number {
  return member?.powerLevel ?? 0;
}

/** Builds the snapshot of `room` for `userId`. */
export function snapshotOf(room: Room, userId: string): RoomSnapshot {
  const state = room.currentState;
  const levels = stateContent(room, "m.room.power_levels");
  const me = room.getMember(userId);
  const myLevel = levelOf(me);
  const joined = me?.membership === "join";
  const may = (type: string) => joined && state.maySendStateEvent(type, userId);
  const actionLevel = (key: "kick" | "ban") =>
    typeof levels[key] === "number" ? levels[key] as number : 50;
  const canChangeLevels = may("m.room.power_levels");
  const members = room.getMembers()
    .filter((m) => m.membership === "join" || m.membership === "invite" || m.membership === "ban")
    .map((member): MemberInfo => {
      const level = levelOf(member);
      const isMe = member.userId === userId;
      const below = level < myLevel;
      const present = member.membership === "join" || member.membership === "invite";
      return {
        userId: member.userId,
        name: member.name?.trim() || member.userId,
        membership: member.membership as MemberInfo["membership"],
        level,
        role: roleOf(level),
        isMe,
        canChangeRole: canChangeLevels && present && level !== Infinity && (isMe || below),
        maxLevel: myLevel,
        canKick: joined && !isMe && present && below && myLevel >= actionLevel("kick"),
        canBan: joined && !isMe && member.membership !== "ban" && below &&
          myLevel >= actionLevel("ban"),
        canUnban: joined && member.membership === "ban" && myLevel >= actionLevel("ban"),
      };
    })
    .sort((a, b) =>
      Number(a.membership === "ban") - Number(b.membership === "ban") || b.level - a.level ||
      a.name.localeCompare(b.name)
    );
  const name = stateContent(room, "m.room.name").name;
  const topic = stateContent(room, "m.room.topic").topic;
  const avatar = stateContent(room, "m.room.avatar").url;
  const creator = state.getStateEvents("m.room.create", "")?.getSender();
  const foreignRoom = serverOf(creator) !== serverOf(userId);
  return {
    name: typeof name === "string" ? name : "",
    topic: typeof topic === "string" ? topic : "",
    avatarUrl: typeof avatar === "string" && avatar.startsWith("mxc://") ? avatar : null,
    encrypted: room.hasEncryptionStateEvent(),
    myLevel,
    canName: may("m.room.name"),
    canTopic: may("m.room.topic"),
    canAvatar: may("m.room.avatar"),
    canEncrypt: may("m.room.encryption"),
    canInvite: room.canInvite(userId),
    internal: stateContent(room, INTERNAL_ROOM_TYPE).internal === true,
    canInternal: may(INTERNAL_ROOM_TYPE) && !foreignRoom,
    foreignRoom,
    homeServer: serverOf(creator) ?? serverOf(userId) ?? "",
    members,
  };
}

/** The settings of one room, while its dialog is open. */
export class RoomSettings {
  readonly kind = "settings";
  readonly roomId: string;
  readonly #client: MatrixClient;
  readonly #version = signal(0);
  readonly #pending = signal<PendingModeration | null>(null);
  readonly #memberBusy = signal<string | null>(null);
  #stop: () => void = () => {};
  #disposed = false;

  /** The name and topic being edited. */
  readonly name = signal("");
  readonly topic = signal("");
  /** Saving the name and topic, uploading the avatar, turning encryption on, members. */
  readonly general = new Task();
  readonly avatar = new Task();
  readonly encryption = new Task();
  readonly members = new Task();
  /** Switching the room internal or open to other servers. */
  readonly internal = new Task();
  /** The user asked to turn encryption on and has not confirmed yet. */
  readonly confirmingEncryption = signal(false);

  /** The room now; null when the client no longer has it (left, or not synced yet). */
  readonly snapshot: ReadonlySignal<RoomSnapshot | null> = computed(() => {
    void this.#version.value;
    const room = this.#client.getRoom(this.roomId);
    const userId = this.#client.getUserId();
    return room && userId ? snapshotOf(room, userId) : null;
  });
  /** The remove or ban awaiting confirmation. */
  readonly pending: ReadonlySignal<PendingModeration | null> = computed(() => this.#pending.value);
  /** The member whose change is under way. */
  readonly memberBusy: ReadonlySignal<string | null> = computed(() => this.#memberBusy.value);

  constructor(client: MatrixClient, roomId: string) {
    this.#client = client;
    this.roomId = roomId;
    const first = this.snapshot.value;
    this.name.value = first?.name ?? "";
    this.topic.value = first?.topic ?? "";
    void this.#follow();
  }

  async #follow(): Promise<void> {
    const sdk = await loadSdk();
    if (this.#disposed) return;
    const bump = (_event?: unknown, state?: { roomId?: string }) => {
      if (!state?.roomId || state.roomId === this.roomId) this.#version.value++;
    };
    const events = [
      sdk.RoomStateEvent.Events,
      sdk.RoomStateEvent.Members,
      sdk.RoomStateEvent.NewMember,
      sdk.RoomEvent.MyMembership,
    ];
    const emitter = this.#client as unknown as {
      on(event: string, listener: typeof bump): void;
      off(event: string, listener: typeof bump): void;
    };
    for (const event of events) emitter.on(event, bump);
    this.#stop = () => {
      for (const event of events) emitter.off(event, bump);
    };
    // Lazy loading leaves most members out of sync; the list needs them all.
    await this.#client.getRoom(this.roomId)?.loadMembersIfNeeded().catch((err) => {
      console.warn("gemeng: could not load the room's members", err);
    });
    this.#version.value++;
  }

  /** The name and topic were saved and not edited since. */
  readonly saved = signal(false);

  /** Edits the name. */
  editName(name: string): void {
    this.name.value = name;
    this.saved.value = false;
  }

  /** Edits the topic. */
  editTopic(topic: string): void {
    this.topic.value = topic;
    this.saved.value = false;
  }

  /** Saves the name and topic that changed. */
  async saveGeneral(): Promise<void> {
    const now = this.snapshot.value;
    if (!now) return;
    const name = this.name.value.trim();
    const topic = this.topic.value.trim();
    this.saved.value = await this.general.run(async () => {
      if (name !== now.name) await this.#client.setRoomName(this.roomId, name);
      if (topic !== now.topic) await this.#client.setRoomTopic(this.roomId, topic);
    });
  }

  /** Uploads an image and makes it the room's avatar. */
  async setAvatar(file: File): Promise<void> {
    if (!file.type.startsWith("image/")) return this.avatar.fail("rooms.settings.avatarNotImage");
    await this.avatar.run(async () => {
      const { content_uri: url } = await this.#client.uploadContent(file, {
        type: file.type,
        name: file.name,
      });
      const sdk = await loadSdk();
      await this.#client.sendStateEvent(this.roomId, sdk.EventType.RoomAvatar, {
        url,
        info: { mimetype: file.type, size: file.size },
      }, "");
    });
  }

  /** Removes the room's avatar. */
  async removeAvatar(): Promise<void> {
    await this.avatar.run(async () => {
      const sdk = await loadSdk();
      await this.#client.sendStateEvent(this.roomId, sdk.EventType.RoomAvatar, {} as never, "");
    });
  }

  /** Turns end-to-end encryption on, for good. */
  async enableEncryption(): Promise<void> {
    const ok = await this.encryption.run(async () => {
      const sdk = await loadSdk();
      await this.#client.sendStateEvent(this.roomId, sdk.EventType.RoomEncryption, {
        algorithm: MEGOLM,
      }, "");
    });
    if (ok) this.confirmingEncryption.value = false;
  }

  readonly #wantedInternal = signal<boolean | null>(null);
  /** What the switch shows: the value being saved, else the room's. */
  readonly internalShown: ReadonlySignal<boolean> = computed(() =>
    this.#wantedInternal.value ?? this.snapshot.value?.internal ?? false
  );

  /**
   * Makes the room internal to its server, or lets users of other servers in again. The switch
   * keeps the new value until sync brings the room's new state (at most 10 s), so it never
   * flips back while saving.
   */
  async setInternal(internal: boolean): Promise<void> {
    this.#wantedInternal.value = internal;
    try {
      await this.internal.run(async () => {
        await this.#client.sendStateEvent(
          this.roomId,
          INTERNAL_ROOM_TYPE as never,
          { internal } as never,
          "",
        );
        for (let i = 0; i < 100 && this.snapshot.value?.internal !== internal; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });
    } finally {
      this.#wantedInternal.value = null;
    }
  }

  /**
   * Gives a member the power level `level`; lowering one's own level waits for a confirmation,
   * since nobody below can give it back.
   */
  async setLevel(member: MemberInfo, level: number): Promise<void> {
    if (member.isMe && level < member.level) {
      this.members.clear();
      this.#pending.value = {
        action: "demoteSelf",
        userId: member.userId,
        name: member.name,
        level,
      };
      return;
    }
    await this.#member(
      member.userId,
      () => this.#client.setPowerLevel(this.roomId, member.userId, level),
    );
  }

  /** Asks to confirm removing or banning a member. */
  moderate(action: "kick" | "ban", member: MemberInfo): void {
    this.members.clear();
    this.#pending.value = { action, userId: member.userId, name: member.name };
  }

  /** Forgets the remove or ban awaiting confirmation. */
  cancelModeration(): void {
    this.#pending.value = null;
  }

  /** Carries out the confirmed remove or ban. */
  async confirmModeration(): Promise<void> {
    const pending = this.#pending.value;
    if (!pending) return;
    const ok = await this.#member(pending.userId, () => {
      switch (pending.action) {
        case "kick":
          return this.#client.kick(this.roomId, pending.userId);
        case "ban":
          return this.#client.ban(this.roomId, pending.userId);
        case "demoteSelf":
          return this.#client.setPowerLevel(this.roomId, pending.userId, pending.level ?? 0);
      }
    });
    if (ok) this.#pending.value = null;
  }

  /** Lifts a ban. */
  async unban(userId: string): Promise<void> {
    await this.#member(userId, () => this.#client.unban(this.roomId, userId));
  }

  async #member(userId: string, act: () => Promise<unknown>): Promise<boolean> {
    this.#memberBusy.value = userId;
    try {
      return await this.members.run(async () => {
        await act();
      });
    } finally {
      this.#memberBusy.value = null;
    }
  }

  /** Stops following the room. */
  dispose(): void {
    this.#disposed = true;
    this.#stop();
  }
}
