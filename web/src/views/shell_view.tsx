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
import type { AppModel } from "../state/app.ts";
import { notificationsModel } from "../state/notifications.ts";
import { roomActions } from "../state/room_actions.ts";
import type { RoomSummary } from "../state/room_list.ts";
import type { SyncStatus } from "../state/session.ts";
import { CallOverlay } from "./calls/call_overlay.tsx";
import { useApp } from "./context.ts";
import { AppLink, Button, ScreenHeading, ThemeToggle } from "./controls.tsx";
import { RoomView } from "./room/room_view.tsx";
import { ChatPlusIcon, GroupIcon, JoinIcon, SearchIcon } from "./rooms/icons.tsx";
import { ModalDialog } from "./modal_dialog.tsx";
import { RoomAvatar } from "./rooms/room_avatar.tsx";
import { RoomRow } from "./rooms/room_row.tsx";
import { searchModel } from "../state/search_entry.ts";
import { SearchSlot } from "./search/search_slot.tsx";
import { SecurePromptSlot } from "./security/secure_prompt_slot.tsx";
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

function RoomListPanel(
  props: { selected: string | null; hidden: boolean; spaces: SpacesModule | null },
): JSX.Element {
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
      {props.spaces && <props.spaces.SpacesPicker />}
      <SyncNotice />
      <SecurePromptSlot />
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
        {query && invites.length + joined.length === 0 && (
          <p class="px-2 py-6 text-sm">{i18n.t("shell.noMatch", { query })}</p>
        )}
      </div>
    </nav>
  );
}

const chunks = new Map<() => Promise<unknown>, Promise<unknown>>();

/** A chunk loaded once `when` first holds (the first screen needs none of them). */
function useChunk<T>(when: boolean, load: () => Promise<T>): T | null {
  const [module, setModule] = useState<T | null>(null);
  useEffect(() => {
    if (!when || module) return;
    let live = true;
    if (!chunks.has(load)) chunks.set(load, load());
    (chunks.get(load) as Promise<T>).then((loaded) => live && setModule(() => loaded), (err) => {
      chunks.delete(load);
      console.warn("gemeng: could not load a part of the app", err);
    });
    return () => {
      live = false;
    };
  }, [when]);
  return module;
}

const loadDialogs = () => import("./rooms/room_dialogs.tsx");
type SpacesModule = typeof import("./spaces/spaces_view.tsx");
const loadSpaces = () => import("./spaces/spaces_view.tsx");
/** What the spaces chunk borrows from the first screen (it imports none of it itself). */
const SPACES_KIT = {
  RoomAvatar,
  Button,
  AppLink,
  ModalDialog,
  act: (app: AppModel, action: "invite" | "settings" | "leave", roomId: string) =>
    roomActions(app)[action](roomId),
};

/** The room dialogs (start chat, new group, join, invite, leave, settings). */
function LazyRoomDialogs(): JSX.Element | null {
  const module = useChunk(roomActions(useApp()).dialogs.value.length > 0, loadDialogs);
  return module ? <module.RoomDialogs /> : null;
}

/** The signed-in shell. */
export function ShellView(props: { roomId: string | null }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  // Notifications and the unread count in the title start with the shell.
  notificationsModel(app);
  const roomOpen = props.roomId !== null;
  // Spaces and the public room directory come with the client, after the first screen.
  const spaces = useChunk(app.session.clientReady.value !== null, loadSpaces);
  return (
    <div class="flex h-dvh flex-col">
      <ShellHeader hideOnPhone={roomOpen} />
      <main id="main" class="flex min-h-0 flex-1">
        <ScreenHeading class="sr-only">{i18n.t("shell.rooms")}</ScreenHeading>
        {spaces && <spaces.SpacesBar kit={SPACES_KIT} />}
        <RoomListPanel selected={props.roomId} hidden={roomOpen} spaces={spaces} />
        <div class={`min-w-0 flex-1 flex-col ${roomOpen ? "flex" : "hidden md:flex"}`}>
          {spaces?.isSpace(app, props.roomId)
            ? <spaces.SpaceHome kit={SPACES_KIT} roomId={props.roomId!} />
            : <RoomView roomId={props.roomId} />}
        </div>
      </main>
      <LazyRoomDialogs />
      <SearchSlot />
      <CallOverlay />
      <VerificationOverlay />
    </div>
  );
}
