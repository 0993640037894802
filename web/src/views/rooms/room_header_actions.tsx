/** @jsxImportSource preact */
/**
 * Room actions in the open room's header: the topic (on wide screens), then searching the
 * room's messages, its files, room settings, inviting people and leaving, as buttons on wide
 * screens and as a menu on phones, where the header has no room for them.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { roomActions } from "../../state/room_actions.ts";
import { searchModel } from "../../state/search_entry.ts";
import { useApp } from "../context.ts";
import { filesPanel } from "../../state/files_panel.ts";
import { timelineModel } from "../../state/timeline_model.ts";
import { FilesIcon, InviteIcon, LeaveIcon, MoreIcon, SearchIcon, SettingsIcon } from "./icons.tsx";

const HEADER_BUTTON =
  "rounded-md p-2 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700";

interface Action {
  label: string;
  icon: ComponentChildren;
  run: () => void;
}

function ActionsMenu(props: { actions: readonly Action[] }): JSX.Element {
  const { i18n } = useApp();
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const onPointer = (event: PointerEvent) => {
      const target = event.target as Node;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer, true);
    return () => document.removeEventListener("pointerdown", onPointer, true);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };
  const onKey = (event: KeyboardEvent) => {
    const items = [...menu.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? []];
    const index = items.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => items[(to + items.length) % items.length]?.focus();
    if (event.key === "ArrowDown") move(index + 1);
    else if (event.key === "ArrowUp") move(index - 1);
    else if (event.key === "Home") move(0);
    else if (event.key === "End") move(items.length - 1);
    else if (event.key === "Escape") close(true);
    else if (event.key === "Tab") return close(false);
    else return;
    event.preventDefault();
    event.stopPropagation();
  };

  return (
    <div class="relative sm:hidden">
      <button
        ref={button}
        type="button"
        class={HEADER_BUTTON}
        aria-label={i18n.t("rooms.header.menu")}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen(!open)}
      >
        <MoreIcon />
      </button>
      {open && (
        <ul
          ref={menu}
          id={menuId}
          role="menu"
          aria-label={i18n.t("rooms.header.menu")}
          class="absolute top-full right-0 z-30 mt-1 flex w-56 flex-col rounded-md border border-slate-300 bg-white py-1 shadow-lg dark:border-slate-600 dark:bg-slate-900"
          onKeyDown={onKey}
        >
          {props.actions.map((action) => (
            <li key={action.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                class="flex w-full items-center gap-3 px-3 py-2 text-left text-sm text-slate-800 hover:bg-slate-100 focus:bg-slate-100 focus:outline-none dark:text-slate-100 dark:hover:bg-slate-800 dark:focus:bg-slate-800"
                onClick={() => {
                  close(true);
                  action.run();
                }}
              >
                {action.icon}
                {action.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Room actions in the room's header: search, files, settings, invite, leave. */
export function RoomHeaderActions(props: { room: Room }): JSX.Element | null {
  const app = useApp();
  const { i18n, session } = app;
  const model = roomActions(app);
  const { room } = props;
  const me = session.userId.value;
  if (room.getMyMembership() !== "join" || !me) return null;
  const summary = session.rooms.rooms.value.find((r) => r.roomId === room.roomId);
  const actions: Action[] = [
    {
      label: i18n.t("rooms.header.search"),
      icon: <SearchIcon />,
      run: () => searchModel(app).open(room.roomId),
    },
    {
      label: i18n.t("rooms.header.files"),
      icon: <FilesIcon />,
      run: () => {
        // The panel takes the thread panel's place.
        timelineModel(app).closeThreadPanel();
        filesPanel(app).value = room.roomId;
      },
    },
    {
      label: i18n.t("rooms.header.settings"),
      icon: <SettingsIcon />,
      run: () => model.settings(room.roomId),
    },
  ];
  if (room.canInvite(me)) {
    actions.push({
      label: i18n.t("rooms.header.invite"),
      icon: <InviteIcon />,
      run: () => model.invite(room.roomId),
    });
  }
  actions.push({
    label: i18n.t("rooms.header.leave"),
    icon: <LeaveIcon />,
    run: () => model.leave(room.roomId),
  });
  return (
    <div class="flex min-w-0 items-center gap-1">
      {summary?.topic && (
        <p
          class="hidden max-w-xs truncate text-sm text-slate-600 md:block dark:text-slate-300"
          title={summary.topic}
        >
          {summary.topic}
        </p>
      )}
      <div class="hidden items-center gap-1 sm:flex">
        {actions.map((action) => (
          <button
            key={action.label}
            type="button"
            class={HEADER_BUTTON}
            aria-label={action.label}
            title={action.label}
            onClick={action.run}
          >
            {action.icon}
          </button>
        ))}
      </div>
      <ActionsMenu actions={actions} />
    </div>
  );
}
