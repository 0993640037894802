/** @jsxImportSource preact */
/**
 * A message's actions: React, Reply, Reply in thread, Edit, Delete - a toolbar that is one Tab
 * stop (arrow keys move inside it), shown on hover and when focus is in the message, so that on
 * a phone a tap on the message brings it up.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { MatrixEvent } from "matrix-js-sdk";
import type { MessageKey } from "../../i18n/index.ts";
import { canEdit } from "../../state/composer.ts";
import { deleteMessage } from "../../state/timeline_actions.ts";
import { useApp } from "../context.ts";
import { type IconName, RoomIcon } from "./icons.tsx";
import type { MessageMoreProps } from "./message_more.tsx";
import { ConfirmDelete } from "./modal.tsx";
import { ReactionPicker } from "./reactions.tsx";
import { useTileSurroundings } from "./timeline_context.ts";

interface Action {
  id: string;
  label: MessageKey;
  icon: IconName;
  run: () => void;
}

const ACTION_BUTTON =
  "inline-flex h-9 w-9 items-center justify-center rounded-md text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700";

/** The toolbar of a message that has reached the server. */
export function MessageActions(props: {
  event: MatrixEvent;
  /** The message can be answered and reacted to (not a deleted one). */
  interactive: boolean;
  /** A thread root shown at the top of its thread panel. */
  isRoot?: boolean;
  /** The list's version (the event may have changed). */
  version: number;
}): JSX.Element | null {
  const app = useApp();
  const { i18n, session } = app;
  const surroundings = useTileSurroundings();
  const { room, composer } = surroundings;
  const { event } = props;
  const [picker, setPicker] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [more, setMore] = useState(false);
  const [focusIndex, setFocusIndex] = useState(0);
  const bar = useRef<HTMLDivElement>(null);
  const client = session.clientReady.value;
  const me = session.userId.value;
  if (!client || event.status || !event.getId() || event.getId()!.startsWith("~")) return null;

  const actions: Action[] = [];
  if (props.interactive) {
    actions.push({
      id: "react",
      label: "timeline.action.react",
      icon: "react",
      run: () => setPicker(true),
    });
    if (!props.isRoot) {
      actions.push({
        id: "reply",
        label: "timeline.action.reply",
        icon: "reply",
        run: () => composer.startReply(event),
      });
    }
    const relType = event.getRelation()?.rel_type;
    if (!surroundings.inThread && !relType) {
      actions.push({
        id: "thread",
        label: "timeline.action.thread",
        icon: "thread",
        run: () => surroundings.openThread(event.getId()!),
      });
    }
  }
  if (canEdit(event, me)) {
    actions.push({
      id: "edit",
      label: "timeline.action.edit",
      icon: "edit",
      run: () => composer.startEdit(event),
    });
  }
  if (!event.isRedacted() && me && room.currentState.maySendRedactionForEvent(event, me)) {
    actions.push({
      id: "delete",
      label: "timeline.action.delete",
      icon: "delete",
      run: () => setConfirming(true),
    });
  }
  // Forward, Pin, Quote and Report, in a list (the toolbar stays narrow enough for a phone)
  // whose code loads when it first opens.
  if (!event.isRedacted()) {
    actions.push({
      id: "more",
      label: "timeline.action.more",
      icon: "more",
      run: () => setMore((open) => !open),
    });
  }
  if (actions.length === 0) return null;

  const focusButton = (index: number) => {
    const buttons = bar.current?.querySelectorAll<HTMLButtonElement>("button[data-action]");
    if (!buttons?.length) return;
    const next = (index + buttons.length) % buttons.length;
    setFocusIndex(next);
    buttons[next].focus();
  };
  const reactButton = () => bar.current?.querySelector<HTMLButtonElement>('[data-action="react"]');

  return (
    // Only the toolbar (when shown) and the picker take the pointer, never the empty corner.
    <div
      class={`pointer-events-none absolute -top-3 right-4 ${picker || more ? "z-30" : "z-10"}`}
    >
      <div
        ref={bar}
        role="toolbar"
        aria-label={i18n.t("timeline.actions")}
        class={`flex items-center gap-0.5 rounded-lg border border-slate-300 bg-white p-0.5 shadow-sm dark:border-slate-600 dark:bg-slate-800 ${
          picker || more
            ? "pointer-events-auto"
            : "pointer-events-none opacity-0 group-hover:pointer-events-auto group-hover:opacity-100 group-focus-within:pointer-events-auto group-focus-within:opacity-100"
        }`}
        onKeyDown={(keyEvent) => {
          const index = focusIndex;
          if (keyEvent.key === "ArrowRight" || keyEvent.key === "ArrowDown") focusButton(index + 1);
          else if (keyEvent.key === "ArrowLeft" || keyEvent.key === "ArrowUp") {
            focusButton(index - 1);
          } else if (keyEvent.key === "Home") focusButton(0);
          else if (keyEvent.key === "End") focusButton(-1);
          else return;
          keyEvent.preventDefault();
        }}
      >
        {actions.map((action, index) => (
          <button
            key={action.id}
            type="button"
            data-action={action.id}
            class={ACTION_BUTTON}
            tabIndex={index === Math.min(focusIndex, actions.length - 1) ? 0 : -1}
            aria-label={i18n.t(action.label)}
            title={i18n.t(action.label)}
            aria-haspopup={action.id === "react" || action.id === "delete" ? "dialog" : undefined}
            aria-expanded={action.id === "react" ? picker : action.id === "more" ? more : undefined}
            onFocus={() => setFocusIndex(index)}
            onClick={action.run}
          >
            <RoomIcon name={action.icon} class="h-4 w-4" />
          </button>
        ))}
      </div>
      {picker && (
        <ReactionPicker
          event={event}
          room={room}
          onClose={(focusBack) => {
            setPicker(false);
            if (focusBack) requestAnimationFrame(() => reactButton()?.focus());
          }}
        />
      )}
      {more && (
        <LazyMore
          event={event}
          room={room}
          composer={composer}
          client={client}
          interactive={props.interactive}
          onClose={(focusBack) => {
            setMore(false);
            if (focusBack) {
              requestAnimationFrame(() =>
                bar.current?.querySelector<HTMLButtonElement>('[data-action="more"]')?.focus()
              );
            }
          }}
        />
      )}
      {confirming && (
        <ConfirmDelete
          onClose={() => setConfirming(false)}
          onConfirm={() => {
            deleteMessage(client, room, event).catch((err) => {
              console.warn("gemeng: the message was not deleted", err);
            });
          }}
        />
      )}
    </div>
  );
}

type MoreModule = typeof import("./message_more.tsx");
let moreLoad: Promise<MoreModule> | null = null;

/** The "More actions" list and its dialogs, from a chunk loaded the first time it opens. */
function LazyMore(props: MessageMoreProps): JSX.Element | null {
  const [module, setModule] = useState<MoreModule | null>(null);
  useEffect(() => {
    let live = true;
    moreLoad ??= import("./message_more.tsx");
    moreLoad.then((loaded) => live && setModule(loaded)).catch((err) => {
      moreLoad = null;
      console.warn("gemeng: the message actions did not load", err);
      props.onClose(true);
    });
    return () => {
      live = false;
    };
  }, []);
  return module ? <module.MessageMore {...props} /> : null;
}
