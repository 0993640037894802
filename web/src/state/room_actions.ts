/**
 * Making and leaving rooms: starting a direct chat (spec: "Direct Messaging"), creating a
 * group, joining a room by its address (join_room.ts), inviting people, leaving; and which of
 * those dialogs are open (a stack, so the invitation dialog can open over the room settings).
 *
 * A direct chat is a private room made with the `trusted_private_chat` preset and
 * `is_direct`, encrypted from its first event, and recorded in `m.direct`; asking for a chat
 * with someone who already has one opens that one instead. The forms live in room_forms.ts,
 * loaded when a dialog first opens.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal, untracked } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import type {
  InviteForm,
  JoinRoomForm,
  LeaveForm,
  NewGroupForm,
  RoomSettings,
  StartChatForm,
} from "./room_forms.ts";

export type { InviteForm, LeaveForm, NewGroupForm, StartChatForm } from "./room_forms.ts";

type Forms = typeof import("./room_forms.ts");
let formsLoad: Promise<Forms> | null = null;

/** An open dialog. */
export type RoomDialog =
  | StartChatForm
  | NewGroupForm
  | JoinRoomForm
  | InviteForm
  | LeaveForm
  | RoomSettings;

/** The room actions model. */
export class RoomActions {
  readonly app: AppModel;
  readonly #dialogs = signal<readonly RoomDialog[]>([]);
  /** The open dialogs, topmost last. */
  readonly dialogs: ReadonlySignal<readonly RoomDialog[]> = computed(() => this.#dialogs.value);

  constructor(app: AppModel) {
    this.app = app;
    effect(() => {
      if (!app.session.clientReady.value) untracked(() => this.closeAll()); // signed out
    });
  }

  /** The signed-in client. */
  get client(): MatrixClient | null {
    return this.app.session.clientReady.value;
  }

  #open(make: (forms: Forms, client: MatrixClient) => RoomDialog): void {
    formsLoad ??= import("./room_forms.ts");
    formsLoad.then((forms) => {
      const client = this.client;
      if (client) this.#dialogs.value = [...this.#dialogs.value, make(forms, client)];
    }, (err) => {
      formsLoad = null;
      console.warn("gemeng: could not load the room dialogs", err);
    });
  }

  /** Opens the start-a-chat dialog. */
  startChat(): void {
    this.#open((f, client) => new f.StartChatForm(this, client));
  }

  /** Opens the new-group dialog. */
  newGroup(): void {
    this.#open((f, client) => new f.NewGroupForm(this, client));
  }

  /** Opens the join-a-room dialog, with `address` filled in if given. */
  joinRoom(address?: string): void {
    this.#open((f) => new f.JoinRoomForm(this, { address }));
  }

  /** Opens the invite dialog of a room. */
  invite(roomId: string): void {
    this.#open((f, client) => new f.InviteForm(this, client, roomId));
  }

  /** Asks whether to leave a room. */
  leave(roomId: string): void {
    this.#open((f) => new f.LeaveForm(this, roomId));
  }

  /** Opens a room's settings. */
  settings(roomId: string): void {
    this.#open((f, client) => new f.RoomSettings(client, roomId));
  }

  /** Closes a dialog. */
  close(dialog: RoomDialog): void {
    if (!this.#dialogs.value.includes(dialog)) return;
    dispose(dialog);
    this.#dialogs.value = this.#dialogs.value.filter((d) => d !== dialog);
  }

  /** Closes every dialog (after leaving, signing out). */
  closeAll(): void {
    for (const dialog of this.#dialogs.value) dispose(dialog);
    this.#dialogs.value = [];
  }

  /** Closes a dialog that made or found a room, and opens the room. */
  finish(dialog: RoomDialog, roomId: string): void {
    this.close(dialog);
    this.app.openRoom(roomId);
  }
}

function dispose(dialog: RoomDialog): void {
  if ("picker" in dialog) dialog.picker.dispose();
  if (dialog.kind === "settings") dialog.dispose();
}

/** The app's room actions. */
export function roomActions(app: AppModel): RoomActions {
  return featureModel(app, "roomActions", (app) => new RoomActions(app));
}
