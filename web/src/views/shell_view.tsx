/** @jsxImportSource preact */
/**
 * The signed-in shell: a header (account, settings, theme, sign out), the room list and the
 * room panel. On narrow screens the list and the open room take the whole width in turn.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import type { MessageKey } from "../i18n/index.ts";
import { notificationsModel } from "../state/notifications.ts";
import { roomActions } from "../state/room_actions.ts";
import type { RoomSummary } from "../state/room_list.ts";
import type { SyncStatus } from "../state/session.ts";
import { CallOverlay } from "./calls/call_overlay.tsx";
import { useApp } from "./context.ts";
import { AppLink, Button, ScreenHeading, ThemeToggle } from "./controls.tsx";
import { RoomView } from "./room/room_view.tsx";
import { ChatPlusIcon, GroupIcon, JoinIcon, SearchIcon } from "./rooms/icons.tsx";
import { RoomRow } from "./rooms/room_row.tsx";
import { searchModel } from "../state/search_entry.ts";
import { SearchSlot } from "./search/search_slot.tsx";
import { VerificationOverlay } from "./security/verification_overlay.tsx";

const SYNC_MESSAGES: Partial<Record<SyncStatus, MessageKey>> = {
  connecting: "sync.connecting",
  offline: "sync.offline",
  error: "sync.error",
};

/** The header of signed-in screens. */
export function ShellHeader(props: { hideOnPhone?: boolean }): JSX.Element {
  const app = useApp();
  const { i18n, session } = app;
  // On a phone an open room takes the whole screen: its own header leads back to the list,
  // where this one is.
  const display = props.hideOnPhone ? "hidden md:flex" : "flex";
  return (
    <header
      class={`${display} flex-wrap items-center justify-between gap-2 border-b border-slate-300 bg-white px-4 py-2 dark:border-slate-700 dark:bg-slate-900`}
    >
      <div class="flex min-w-0 flex-col">
        <AppLink
          href="/"
          onNavigate={() => app.go("home")}
          class="text-lg font-bold tracking-tight text-inherit no-underline"
        >
          {i18n.t("app.name")}
        </AppLink>
        {/* Phones keep the height for the conversation: there it is for screen readers only. */}
        <span class="sr-only truncate text-xs text-slate-600 md:not-sr-only dark:text-slate-300">
          {i18n.t("shell.signedInAs", { userId: session.userId.value ?? "" })}
        </span>
      </div>
      <nav class="flex items-center gap-2" aria-label={i18n.t("app.name")}>
        <ThemeToggle />
        <AppLink
          href="/settings"
          onNavigate={() => app.go("settings")}
          class="rounded-md px-3 py-2 text-sm font-semibold text-slate-800 hover:bg-slate-200 dark:text-slate-100 dark:hover:bg-slate-700"
        >
          {i18n.t("shell.settings")}
        </AppLink>
        <Button
          variant="quiet"
          busy={session.signingOut.value}
          onClick={() => void session.signOut()}
        >
          {session.signingOut.value ? i18n.t("shell.signingOut") : i18n.t("shell.signOut")}
        </Button>
      </nav>
    </header>
  );
}

function SyncNotice(): JSX.Element {
  const { i18n, session } = useApp();
  const key = SYNC_MESSAGES[session.sync.value];
  return (
    <p role="status" class="px-4 py-2 text-xs text-slate-600 empty:hidden dark:text-slate-300">
      {key ? i18n.t(key) : ""}
    </p>
  );
}

function SearchField(): JSX.Element {
  const { i18n, session } = useApp();
  const id = useId();
  return (
    <div class="px-4 pb-2" role="search">
      <label for={id} class="sr-only">{i18n.t("shell.search")}</label>
      <input
        id={id}
        type="search"
        class="w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
        placeholder={i18n.t("shell.search")}
        value={session.rooms.query.value}
        onInput={(event) => session.rooms.search(event.currentTarget.value)}
      />
    </div>
  );
}

function InviteRow(props: { room: RoomSummary }): JSX.Element {
  const { i18n, session } = useApp();
  const { room } = props;
  const name = room.name ?? i18n.t("shell.unnamedRoom");
  const action = session.rooms.action.value;
  const busy = action?.roomId === room.roomId && action.state === "busy";
  return (
    <li class="flex flex-col gap-2 rounded-md border border-slate-300 p-3 text-sm dark:border-slate-700">
      <span class="truncate font-semibold">{name}</span>
      {room.invitedBy && (
        <span class="truncate text-xs text-slate-600 dark:text-slate-300">
          {i18n.t("shell.invitedBy", { user: room.invitedBy })}
        </span>
      )}
      <div class="flex gap-2">
        <Button
          busy={busy}
          label={i18n.t("shell.acceptLabel", { room: name })}
          onClick={() => void session.rooms.accept(room.roomId)}
        >
          {i18n.t("shell.accept")}
        </Button>
        <Button
          variant="quiet"
          busy={busy}
          label={i18n.t("shell.declineLabel", { room: name })}
          onClick={() => void session.rooms.decline(room.roomId)}
        >
          {i18n.t("shell.decline")}
        </Button>
      </div>
    </li>
  );
}

const LIST_BUTTON =
  "rounded-md p-2 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-700";

function RoomListHeader(): JSX.Element {
  const app = useApp();
  const { i18n, session } = app;
  const actions = roomActions(app);
  const ready = session.clientReady.value !== null;
  return (
    <div class="flex items-center justify-between gap-2 px-4 pt-3 pb-2">
      <h2 class="text-base font-bold">{i18n.t("shell.rooms")}</h2>
      <div class="flex items-center gap-1">
        <button
          type="button"
          class={LIST_BUTTON}
          aria-label={i18n.t("rooms.list.startChat")}
          title={i18n.t("rooms.list.startChat")}
          disabled={!ready}
          onClick={() => actions.startChat()}
        >
          <ChatPlusIcon />
        </button>
        <button
          type="button"
          class={LIST_BUTTON}
          aria-label={i18n.t("rooms.list.newGroup")}
          title={i18n.t("rooms.list.newGroup")}
          disabled={!ready}
          onClick={() => actions.newGroup()}
        >
          <GroupIcon />
        </button>
        <button
          type="button"
          class={LIST_BUTTON}
          aria-label={i18n.t("rooms.list.joinRoom")}
          title={i18n.t("rooms.list.joinRoom")}
          disabled={!ready}
          onClick={() => actions.joinRoom()}
        >
          <JoinIcon />
        </button>
        <button
          type="button"
          class={LIST_BUTTON}
          aria-label={i18n.t("rooms.list.search")}
          title={i18n.t("rooms.list.search")}
          disabled={!ready}
          onClick={() => searchModel(app).open(null)}
        >
          <SearchIcon />
        </button>
      </div>
    </div>
  );
}

function RoomListPanel(props: { selected: string | null; hidden: boolean }): JSX.Element {
  const { i18n, session } = useApp();
  const list = session.rooms;
  const invites = list.invites.value;
  const joined = list.joined.value;
  const query = list.query.value.trim();
  const action = list.action.value;
  return (
    <nav
      aria-label={i18n.t("shell.roomList")}
      class={`flex-col border-slate-300 md:flex md:w-72 md:border-r dark:border-slate-700 ${
        props.hidden ? "hidden" : "flex w-full"
      }`}
    >
      <RoomListHeader />
      <SyncNotice />
      {list.rooms.value.length > 0 && <SearchField />}
      <div role="alert" class="px-4 empty:hidden">
        {action?.state === "failed" && (
          <p class="text-sm text-red-800 dark:text-red-200">
            {i18n.t("shell.actionFailed", { message: action.message ?? "" })}
          </p>
        )}
      </div>
      <div class="flex flex-col gap-4 overflow-y-auto px-2 pb-4">
        {invites.length > 0 && (
          <section aria-labelledby="room-list-invites">
            <h3 id="room-list-invites" class="px-2 pb-1 text-sm font-semibold">
              {i18n.t("shell.invites")}
            </h3>
            <ul class="flex flex-col gap-2">
              {invites.map((room) => <InviteRow key={room.roomId} room={room} />)}
            </ul>
          </section>
        )}
        {joined.length > 0 && (
          <ul class="flex flex-col gap-1">
            {joined.map((room) => (
              <RoomRow key={room.roomId} room={room} selected={room.roomId === props.selected} />
            ))}
          </ul>
        )}
        {list.rooms.value.length === 0 && (
          <div class="px-2 py-6 text-sm">
            <p class="font-medium">{i18n.t("shell.empty")}</p>
            <p class="mt-1 text-slate-600 dark:text-slate-300">{i18n.t("shell.emptyHint")}</p>
          </div>
        )}
        {list.rooms.value.length > 0 && invites.length + joined.length === 0 && (
          <p class="px-2 py-6 text-sm">{i18n.t("shell.noMatch", { query })}</p>
        )}
      </div>
    </nav>
  );
}

type DialogsModule = typeof import("./rooms/room_dialogs.tsx");
let dialogsLoad: Promise<DialogsModule> | null = null;

/**
 * The room dialogs (start chat, new group, join, invite, leave, settings), loaded when one first
 * opens: the first screen needs none of them.
 */
function LazyRoomDialogs(): JSX.Element | null {
  const app = useApp();
  const open = roomActions(app).dialogs.value.length > 0;
  const [module, setModule] = useState<DialogsModule | null>(null);
  useEffect(() => {
    if (!open || module) return;
    let live = true;
    dialogsLoad ??= import("./rooms/room_dialogs.tsx");
    dialogsLoad.then((loaded) => live && setModule(loaded), (err) => {
      dialogsLoad = null;
      console.warn("gemeng: could not load the room dialogs", err);
    });
    return () => {
      live = false;
    };
  }, [open]);
  return module ? <module.RoomDialogs /> : null;
}

/** The signed-in shell. */
export function ShellView(props: { roomId: string | null }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  // Notifications and the unread count in the title start with the shell.
  notificationsModel(app);
  const roomOpen = props.roomId !== null;
  return (
    <div class="flex h-dvh flex-col">
      <ShellHeader hideOnPhone={roomOpen} />
      <main id="main" class="flex min-h-0 flex-1">
        <ScreenHeading class="sr-only">{i18n.t("shell.rooms")}</ScreenHeading>
        <RoomListPanel selected={props.roomId} hidden={roomOpen} />
        <div class={`min-w-0 flex-1 flex-col ${roomOpen ? "flex" : "hidden md:flex"}`}>
          <RoomView roomId={props.roomId} />
        </div>
      </main>
      <LazyRoomDialogs />
      <SearchSlot />
      <CallOverlay />
      <VerificationOverlay />
    </div>
  );
}
