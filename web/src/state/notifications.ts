/**
 * Desktop notifications while the app is open, and the unread count in the window's title.
 *
 * A new live message notifies when the user's push rules say so (the SDK evaluates them:
 * `getPushActionsForEvent(event).notify`), unless the user sent it or is looking at its room
 * (the room is open and the window has focus). Encrypted messages are judged after decryption,
 * since the rules match on the clear content. Clicking a notification focuses the window and
 * opens the room. The choice is kept in localStorage; the browser's permission is asked when
 * the user turns notifications on.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import type { MessageKey } from "../i18n/index.ts";
import { loadSdk, type Sdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import type { PushDescription, WebPush } from "./web_push.ts";

/** The browser's answer about notifications ("unsupported" when it has none). */
export type NotificationPermissionState = NotificationPermission | "unsupported";

const STORAGE_KEY = "gemeng.notifications";
/** Longest message text shown in a notification. */
const BODY_MAX = 160;

/** What a message without text says, by msgtype or event type. */
const GENERIC_BODIES: Readonly<Record<string, MessageKey>> = {
  "m.image": "rooms.notify.image",
  "m.video": "rooms.notify.video",
  "m.audio": "rooms.notify.audio",
  "m.file": "rooms.notify.file",
  "m.location": "rooms.notify.location",
  "m.sticker": "rooms.notify.sticker",
  "m.poll.start": "rooms.notify.poll",
  "org.matrix.msc3381.poll.start": "rooms.notify.poll",
  "m.call.invite": "rooms.notify.call",
  "m.room.encrypted": "rooms.notify.encrypted",
};

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage blocked: the choice lasts for this page only
  }
}

function browserPermission(): NotificationPermissionState {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > BODY_MAX ? `${line.slice(0, BODY_MAX - 1)}…` : line;
}

/** The notifications model. */
export class NotificationsModel {
  readonly #app: AppModel;
  readonly #wanted = signal(storage()?.getItem(STORAGE_KEY) === "on");
  readonly #permission = signal<NotificationPermissionState>(browserPermission());
  readonly #asking = signal(false);
  /** Open notifications by room, closed when the room is opened. */
  readonly #shown = new Map<string, Notification[]>();
  #stop: () => void = () => {};
  /** Notifications while the app is closed (`web_push.ts`, loaded once a client runs). */
  readonly #webPush = signal<WebPush | null>(null);
  #webPushLoad: Promise<WebPush> | null = null;

  /** The user wants notifications (their choice, kept in localStorage). */
  readonly wanted: ReadonlySignal<boolean> = computed(() => this.#wanted.value);
  /** What the browser allows. */
  readonly permission: ReadonlySignal<NotificationPermissionState> = computed(() =>
    this.#permission.value
  );
  /** Notifications are shown: wanted and allowed. */
  readonly active: ReadonlySignal<boolean> = computed(() =>
    this.#wanted.value && this.#permission.value === "granted"
  );
  /** The server also pushes to this browser, so notifications arrive when the app is closed. */
  readonly webPushActive: ReadonlySignal<boolean> = computed(() =>
    this.#webPush.value?.active.value ?? false
  );
  /** The browser's permission prompt is open. */
  readonly asking: ReadonlySignal<boolean> = computed(() => this.#asking.value);
  /** Unread messages in joined rooms plus pending invitations (shown in the title). */
  readonly unreadTotal: ReadonlySignal<number> = computed(() =>
    this.#app.session.rooms.rooms.value.reduce(
      (sum, room) => sum + (room.membership === "invite" ? 1 : room.unread),
      0,
    )
  );

  constructor(app: AppModel) {
    this.#app = app;
    effect(() => {
      const client = app.session.clientReady.value;
      this.#stop();
      this.#stop = () => {};
      if (!client) return this.#webPush.peek()?.detach();
      void this.#attach(client);
      void this.#loadWebPush().then((push) => {
        if (app.session.clientReady.peek() !== client) return;
        push.attach(client, (roomId, eventId) => this.#describe(client, roomId, eventId));
        if (this.#wanted.peek() && this.#permission.peek() === "granted") {
          void this.#enableWebPush();
        }
      });
    });
    effect(() => {
      const route = app.router.route.value;
      if (route.name === "room") this.#closeFor(route.roomId);
    });
    if (typeof document !== "undefined") {
      effect(() => {
        const total = this.unreadTotal.value;
        const name = app.i18n.t("app.name");
        // After the entry's own title effect, which also runs when the language changes.
        queueMicrotask(() => document.title = total > 0 ? `(${total}) ${name}` : name);
      });
    }
    this.#watchPermission();
  }

  #watchPermission(): void {
    if (typeof navigator === "undefined" || !navigator.permissions) return;
    navigator.permissions.query({ name: "notifications" }).then((status) => {
      status.onchange = () => this.#permission.value = browserPermission();
    }).catch(() => {});
  }

  /** Turns notifications on, asking the browser's permission first if needed. */
  async enable(): Promise<void> {
    if (typeof Notification === "undefined" || this.#asking.value) return;
    let permission = Notification.permission;
    if (permission === "default") {
      this.#asking.value = true;
      try {
        permission = await Notification.requestPermission();
      } finally {
        this.#asking.value = false;
      }
    }
    this.#permission.value = permission;
    if (permission !== "granted") return;
    this.#wanted.value = true;
    storage()?.setItem(STORAGE_KEY, "on");
    // In the background: a browser without a push service may never answer the subscription.
    void this.#enableWebPush();
  }

  /** Turns notifications off. */
  disable(): void {
    this.#wanted.value = false;
    storage()?.setItem(STORAGE_KEY, "off");
    void this.#loadWebPush().then((push) => push.disable());
  }

  #loadWebPush(): Promise<WebPush> {
    return this.#webPushLoad ??= import("./web_push.ts").then(({ WebPush }) =>
      this.#webPush.value = new WebPush()
    );
  }

  async #enableWebPush(): Promise<boolean> {
    const { i18n } = this.#app;
    const push = await this.#loadWebPush();
    return push.enable({
      lang: i18n.locale.value,
      deviceName: i18n.t("app.name"),
      texts: {
        text: i18n.t("rooms.notify.text", { sender: "{sender}", text: "{text}" }),
        newMessage: i18n.t("rooms.notify.new"),
      },
    });
  }

  /** What the service worker shows for a pushed event: decrypted here when possible. */
  async #describe(
    client: MatrixClient,
    roomId: string,
    eventId: string,
  ): Promise<PushDescription | null> {
    // In front, this page shows its own notification (or none for the room on screen).
    if (this.#focused()) return { skip: true };
    const room = client.getRoom(roomId);
    if (!room) return null;
    let event = room.findEventById(eventId);
    if (!event) event = client.getEventMapper()(await client.fetchRoomEvent(roomId, eventId));
    await client.decryptEventIfNeeded(event);
    if (event.isDecryptionFailure()) return null;
    const { title, sender } = this.#names(room, event);
    return { title, body: this.#body(event, sender) };
  }

  #names(room: Room, event: MatrixEvent): { title: string; sender: string } {
    const summary = this.#app.session.rooms.rooms.value.find((r) => r.roomId === room.roomId);
    const title = summary?.name ?? room.name ?? this.#app.i18n.t("shell.unnamedRoom");
    const senderId = event.getSender() ?? "";
    return { title, sender: room.getMember(senderId)?.name ?? senderId };
  }

  async #attach(client: MatrixClient): Promise<void> {
    const sdk = await loadSdk();
    if (this.#app.session.clientReady.value !== client) return;
    const onTimeline = (
      event: MatrixEvent,
      room: Room | undefined,
      toStart: boolean | undefined,
      removed: boolean,
      data: { liveEvent?: boolean },
    ) => {
      if (toStart || removed || !data.liveEvent || !room) return;
      // The first sync brings history, not news.
      if (!client.isInitialSyncComplete()) return;
      if (event.getSender() === client.getUserId()) return;
      if (event.isEncrypted() && (event.isBeingDecrypted() || event.shouldAttemptDecryption())) {
        event.once(sdk.MatrixEventEvent.Decrypted, () => this.#consider(sdk, client, room, event));
        return;
      }
      this.#consider(sdk, client, room, event);
    };
    client.on(sdk.RoomEvent.Timeline, onTimeline);
    this.#stop = () => client.off(sdk.RoomEvent.Timeline, onTimeline);
  }

  #consider(sdk: Sdk, client: MatrixClient, room: Room, event: MatrixEvent): void {
    if (!this.active.value || this.#looking(room.roomId)) return;
    if (event.isRedacted() || event.isRelation(sdk.RelationType.Replace)) return;
    if (!client.getPushActionsForEvent(event, true)?.notify) return;
    // In the background, the server's push shows it (through the service worker, which asks
    // this page for the text): one notification, not two.
    if (this.webPushActive.value && !this.#focused()) return;
    const { title, sender } = this.#names(room, event);
    this.#show(room.roomId, title, this.#body(event, sender));
  }

  /** The room is on screen and the window has focus. */
  #looking(roomId: string): boolean {
    const route = this.#app.router.route.value;
    if (route.name !== "room" || route.roomId !== roomId) return false;
    return this.#focused();
  }

  #focused(): boolean {
    return typeof document !== "undefined" && document.visibilityState === "visible" &&
      document.hasFocus();
  }

  #body(event: MatrixEvent, sender: string): string {
    const { i18n } = this.#app;
    const content = event.getContent();
    const msgtype = typeof content.msgtype === "string" ? content.msgtype : "";
    const text = typeof content.body === "string" ? shorten(content.body) : "";
    if (event.getType() === "m.room.message") {
      if ((msgtype === "m.text" || msgtype === "m.notice") && text) {
        return i18n.t("rooms.notify.text", { sender, text });
      }
      if (msgtype === "m.emote" && text) return `* ${sender} ${text}`;
      if (msgtype === "m.audio" && "org.matrix.msc3245.voice" in content) {
        return i18n.t("rooms.notify.voice", { sender });
      }
    }
    const key = GENERIC_BODIES[msgtype] ?? GENERIC_BODIES[event.getType()] ??
      "rooms.notify.other";
    return i18n.t(key, { sender });
  }

  #show(roomId: string, title: string, body: string): void {
    const icon = typeof document !== "undefined"
      ? document.querySelector<HTMLLinkElement>('link[rel~="icon"]')?.href
      : undefined;
    let notification: Notification;
    try {
      notification = new Notification(title, { body, icon });
    } catch {
      // Android's Chrome only shows notifications through the service worker.
      void navigator.serviceWorker?.ready
        .then((registration) =>
          registration.showNotification(title, {
            body,
            icon,
            // The service worker opens this room when the notification is clicked.
            data: { url: `/rooms/${encodeURIComponent(roomId)}` },
          })
        )
        .catch((err) => console.warn("gemeng: could not show a notification", err));
      return;
    }
    notification.onclick = () => {
      globalThis.focus();
      this.#app.openRoom(roomId);
      notification.close();
    };
    notification.onclose = () => {
      const list = this.#shown.get(roomId)?.filter((n) => n !== notification) ?? [];
      if (list.length) this.#shown.set(roomId, list);
      else this.#shown.delete(roomId);
    };
    this.#shown.set(roomId, [...this.#shown.get(roomId) ?? [], notification]);
  }

  #closeFor(roomId: string): void {
    for (const notification of this.#shown.get(roomId) ?? []) notification.close();
    this.#shown.delete(roomId);
  }
}

/** The app's notifications model. */
export function notificationsModel(app: AppModel): NotificationsModel {
  return featureModel(app, "notifications", (app) => new NotificationsModel(app));
}
