/**
 * The room dialogs' forms (start a chat, new group, invite, leave), loaded with the dialogs on
 * first use rather than with the first screen; room_actions.ts keeps which are open.
 *
 * @module
 */

import { signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import { loadSdk, type Sdk } from "../matrix/sdk.ts";
import type { RoomActions } from "./room_actions.ts";
import { readDirectChats } from "./room_list.ts";
import { MEGOLM, Task } from "./room_task.ts";
import { encryptionPolicy } from "./server_policy.ts";
import { type PickedUser, UserPicker } from "./user_picker.ts";

export { JoinRoomForm } from "./join_room.ts";
export { RoomSettings } from "./room_settings.ts";

/** The joined or invited direct chat with `userId` in which they have not left, if any. */
export function findDirectChat(sdk: Sdk, client: MatrixClient, userId: string): string | null {
  for (const roomId of readDirectChats(sdk, client)[userId] ?? []) {
    const room = client.getRoom(roomId);
    const mine = room?.getMyMembership();
    if (!room || (mine !== "join" && mine !== "invite")) continue;
    const theirs = room.getMember(userId)?.membership;
    if (theirs === undefined || theirs === "join" || theirs === "invite") return roomId;
  }
  return null;
}

/** The start-a-chat dialog. */
export class StartChatForm {
  readonly kind = "startChat";
  readonly picker: UserPicker;
  readonly task = new Task();
  readonly #actions: RoomActions;

  constructor(actions: RoomActions, client: MatrixClient) {
    this.#actions = actions;
    this.picker = new UserPicker(client);
  }

  /** Opens the direct chat with `user`, creating it when there is none. */
  async start(user: PickedUser): Promise<void> {
    const client = this.#actions.client;
    if (!client) return;
    let roomId: string | null = null;
    const ok = await this.task.run(async () => {
      const sdk = await loadSdk();
      roomId = findDirectChat(sdk, client, user.userId);
      if (roomId) return;
      const created = await client.createRoom({
        preset: sdk.Preset.TrustedPrivateChat,
        visibility: sdk.Visibility.Private,
        is_direct: true,
        invite: [user.userId],
        initial_state: [
          { type: "m.room.encryption", state_key: "", content: { algorithm: MEGOLM } },
        ],
      });
      roomId = created.room_id;
      await this.#actions.app.session.rooms.markDirect(user.userId, roomId);
    });
    if (ok && roomId) this.#actions.finish(this, roomId);
  }
}

/** The new-group dialog. */
export class NewGroupForm {
  readonly kind = "newGroup";
  readonly picker: UserPicker;
  readonly task = new Task();
  readonly name = signal("");
  readonly topic = signal("");
  /** On by default; a room's encryption cannot be turned off later. */
  readonly encrypted = signal(true);
  /** The server encrypts private groups whatever the app asks: the choice is not offered. */
  readonly encryptionForced = signal(false);
  readonly #actions: RoomActions;

  constructor(actions: RoomActions, client: MatrixClient) {
    this.#actions = actions;
    this.picker = new UserPicker(client);
    void encryptionPolicy(client.baseUrl).then((policy) => {
      if (policy === "all" || policy === "invite") {
        this.encryptionForced.value = true;
        this.encrypted.value = true;
      }
    });
  }

  /** Creates the group, invites the chosen people and opens it. */
  async create(): Promise<void> {
    const client = this.#actions.client;
    if (!client) return;
    const name = this.name.value.trim();
    if (!name) return this.task.fail("rooms.group.nameMissing");
    const topic = this.topic.value.trim();
    let roomId: string | null = null;
    const ok = await this.task.run(async () => {
      const sdk = await loadSdk();
      const created = await client.createRoom({
        preset: sdk.Preset.PrivateChat,
        visibility: sdk.Visibility.Private,
        name,
        topic: topic || undefined,
        invite: this.picker.chosen.value.map((user) => user.userId),
        initial_state: this.encrypted.value
          ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: MEGOLM } }]
          : [],
      });
      roomId = created.room_id;
    });
    if (ok && roomId) this.#actions.finish(this, roomId);
  }
}

/** The invite dialog of a room. */
export class InviteForm {
  readonly kind = "invite";
  readonly picker: UserPicker;
  readonly task = new Task();
  readonly roomId: string;
  readonly #actions: RoomActions;

  constructor(actions: RoomActions, client: MatrixClient, roomId: string) {
    this.#actions = actions;
    this.roomId = roomId;
    const members = client.getRoom(roomId)?.getMembers()
      .filter((m) => m.membership === "join" || m.membership === "invite")
      .map((m) => m.userId) ?? [];
    this.picker = new UserPicker(client, { exclude: members });
  }

  /** Invites the chosen people, one by one; those invited leave the list. */
  async invite(): Promise<void> {
    const client = this.#actions.client;
    if (!client) return;
    if (this.picker.chosen.value.length === 0) return this.task.fail("rooms.invite.nobody");
    const ok = await this.task.run(async () => {
      for (const user of this.picker.chosen.value) {
        await client.invite(this.roomId, user.userId);
        this.picker.unchoose(user.userId);
      }
    });
    if (ok) this.#actions.close(this);
  }
}

/** The leave confirmation of a room. */
export class LeaveForm {
  readonly kind = "leave";
  readonly task = new Task();
  readonly roomId: string;
  readonly #actions: RoomActions;

  constructor(actions: RoomActions, roomId: string) {
    this.#actions = actions;
    this.roomId = roomId;
  }

  /** Leaves the room and goes home. */
  async leave(): Promise<void> {
    const client = this.#actions.client;
    if (!client) return;
    const ok = await this.task.run(async () => {
      await client.leave(this.roomId);
    });
    if (!ok) return;
    this.#actions.closeAll();
    this.#actions.app.go("home");
  }
}
