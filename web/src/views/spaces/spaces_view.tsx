/** @jsxImportSource preact */
/**
 * The spaces chunk's entry, loaded by the shell once the client runs: the spaces bar (a column
 * of space pictures beside the room list on wide screens), the compact space picker above the
 * room list on phones, a space's home in place of the room panel, and the dialogs (create a
 * space, add rooms to one, explore the server's public rooms).
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useId } from "preact/hooks";
import type { AppModel } from "../../state/app.ts";
import { spacesModel } from "../../state/spaces.ts";
import { useApp } from "../context.ts";
import { KitContext, type SpacesKit, useKit } from "./kit.ts";
import { SpacesDialogs } from "./space_dialogs.tsx";
import { useSpacesText } from "./spaces_text.ts";

import { SpaceHome as Home } from "./space_home.tsx";

/** Whether `roomId` is a space the user is in (its home replaces the room panel). */
export function isSpace(app: AppModel, roomId: string | null): boolean {
  // A string, so the shell renders again only when the set of spaces changes.
  const ids = spacesModel(app).ids.value;
  return roomId !== null && ids.split("\n").includes(roomId);
}

function Icon(props: { d: string }): JSX.Element {
  return (
    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="none">
      <path
        d={props.d}
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}

/** Icon paths: every conversation, a new space, the directory, a space's home. */
export const ICONS = {
  all: "M4 5h16M4 12h16M4 19h16",
  plus: "M12 5v14M5 12h14",
  explore: "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18zM15.5 8.5l-2 5-5 2 2-5z",
  home: "M4 11l8-7 8 7M6 10v10h12V10",
};

const BAR_BUTTON =
  "flex size-12 items-center justify-center rounded-xl text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700";

function BarButton(
  props: {
    label: string;
    pressed?: boolean;
    unread?: boolean;
    onClick: () => void;
    children: ComponentChildren;
  },
): JSX.Element {
  const t = useSpacesText();
  return (
    <button
      type="button"
      class={`relative ${BAR_BUTTON} ${
        props.pressed ? "bg-slate-200 ring-2 ring-sky-700 dark:bg-slate-700 dark:ring-sky-400" : ""
      }`}
      title={props.label}
      aria-pressed={props.pressed}
      onClick={props.onClick}
    >
      {/* Named by text, not aria-label: a space's initials are visible but not its name. */}
      <span aria-hidden="true">{props.children}</span>
      <span class="sr-only">
        {props.unread ? t("spaces.unreadIn", { space: props.label }) : props.label}
      </span>
      {props.unread && (
        <span class="absolute top-0.5 right-0.5 size-3 rounded-full border-2 border-white bg-red-700 dark:border-slate-900" />
      )}
    </button>
  );
}

/** The spaces bar (wide screens) and the chunk's dialogs. */
export function SpacesBar(props: { kit: SpacesKit }): JSX.Element {
  return (
    <KitContext.Provider value={props.kit}>
      <Bar />
      <SpacesDialogs />
    </KitContext.Provider>
  );
}

/** The home of the space `roomId`, in place of the room panel. */
export function SpaceHome(props: { kit: SpacesKit; roomId: string }): JSX.Element {
  return (
    <KitContext.Provider value={props.kit}>
      <Home roomId={props.roomId} />
    </KitContext.Provider>
  );
}

function Bar(): JSX.Element {
  const app = useApp();
  const { RoomAvatar } = useKit();
  const t = useSpacesText();
  const model = spacesModel(app);
  const selected = model.selected.value;
  return (
    <nav
      aria-label={t("spaces.nav")}
      class="hidden w-18 shrink-0 flex-col items-center gap-2 overflow-y-auto border-r border-slate-300 py-3 md:flex dark:border-slate-700"
    >
      <ul class="flex flex-col items-center gap-2">
        <li>
          <BarButton
            label={t("spaces.all")}
            pressed={!model.spaces.value.some((space) => space.roomId === selected)}
            onClick={() => model.select(null)}
          >
            <Icon d={ICONS.all} />
          </BarButton>
        </li>
        {model.spaces.value.map((space) => (
          <li key={space.roomId}>
            <BarButton
              label={space.name}
              pressed={selected === space.roomId}
              unread={model.unread.value.has(space.roomId)}
              onClick={() => {
                model.select(space.roomId);
                app.openRoom(space.roomId);
              }}
            >
              <RoomAvatar
                mxc={space.avatarUrl}
                name={space.name}
                roomId={space.roomId}
                size={40}
              />
            </BarButton>
          </li>
        ))}
      </ul>
      <BarButton label={t("spaces.create")} onClick={() => model.open({ kind: "create" })}>
        <Icon d={ICONS.plus} />
      </BarButton>
      <BarButton label={t("spaces.explore")} onClick={() => model.open({ kind: "explore" })}>
        <Icon d={ICONS.explore} />
      </BarButton>
    </nav>
  );
}

const SMALL_BUTTON =
  "shrink-0 rounded-md p-2 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700";

/** The compact space picker above the room list on phones. */
export function SpacesPicker(): JSX.Element {
  const app = useApp();
  const t = useSpacesText();
  const model = spacesModel(app);
  const id = useId();
  const selected = model.selected.value;
  const buttons: [string, string, () => void][] = [
    [t("spaces.create"), ICONS.plus, () => model.open({ kind: "create" })],
    [t("spaces.explore"), ICONS.explore, () => model.open({ kind: "explore" })],
  ];
  if (selected) buttons.unshift([t("spaces.home"), ICONS.home, () => app.openRoom(selected)]);
  return (
    <div class="flex items-center gap-1 px-4 pb-2 md:hidden">
      <label for={id} class="sr-only">{t("spaces.picker")}</label>
      <select
        id={id}
        class="min-w-0 flex-1 rounded-md border border-slate-400 bg-white px-2 py-2 text-sm text-slate-900 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100"
        value={selected ?? ""}
        onChange={(event) => model.select(event.currentTarget.value || null)}
      >
        <option value="">{t("spaces.all")}</option>
        {model.spaces.value.map((space) => (
          <option key={space.roomId} value={space.roomId}>{space.name}</option>
        ))}
      </select>
      {buttons.map(([label, d, onClick]) => (
        <button
          key={d}
          type="button"
          class={SMALL_BUTTON}
          aria-label={label}
          title={label}
          onClick={onClick}
        >
          <Icon d={d} />
        </button>
      ))}
    </div>
  );
}
