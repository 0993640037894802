/** @jsxImportSource preact */
/**
 * The room's pinned messages (`m.room.pinned_events`) in a bar under the room header: how many,
 * the newest one's text, and on demand the list of them; a click shows the message in the
 * timeline (loading it when it is older than what is loaded).
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { pinnedIds } from "../../state/message_extras.ts";
import { displayName, eventTileKind } from "../../state/timeline.ts";
import { timelineModel } from "../../state/timeline_model.ts";
import { useApp } from "../context.ts";
import { plainPreview } from "./event_tile.tsx";
import { RoomIcon } from "./icons.tsx";

const ROW =
  "flex w-full min-w-0 items-center gap-2 rounded-md px-2 py-1 text-left text-sm hover:bg-amber-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-amber-900";

/** The pinned messages bar; nothing when none is pinned. */
export function PinnedBar(
  props: { room: Room; onJump: (eventId: string) => void; version: number },
): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const listId = useId();
  const [open, setOpen] = useState(false);
  const pinned = pinnedIds(props.room);
  if (pinned.length === 0) return null;
  const model = timelineModel(app);
  const preview = (eventId: string): { name: string; text: string } => {
    const event = model.event(props.room, eventId);
    if (event === undefined) return { name: "", text: i18n.t("timeline.pinned.loading") };
    if (event === null) return { name: "", text: i18n.t("timeline.pinned.missing") };
    const name = displayName(props.room, event.getSender() ?? "");
    if (event.isRedacted()) return { name, text: i18n.t("timeline.deleted") };
    if (eventTileKind(event) === "undecryptable") {
      return { name, text: i18n.t("timeline.undecryptable") };
    }
    return { name, text: plainPreview(event) };
  };
  const jump = (eventId: string) => {
    setOpen(false);
    props.onJump(eventId);
  };
  const newest = preview(pinned[0]);
  return (
    <section
      aria-label={i18n.t("timeline.pinned.label", { count: String(pinned.length) })}
      data-pinned-bar
      class="border-b border-amber-300 bg-amber-50 px-2 py-1 text-amber-950 md:px-4 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50"
    >
      <div class="flex items-center gap-1">
        <RoomIcon name="pin" class="h-4 w-4 shrink-0" />
        <button type="button" class={`${ROW} flex-1`} onClick={() => jump(pinned[0])}>
          <span class="shrink-0 font-semibold">
            {i18n.t("timeline.pinned.label", { count: String(pinned.length) })}
          </span>
          <span class="truncate">{newest.text}</span>
        </button>
        <button
          type="button"
          class="inline-flex h-9 w-9 shrink-0 items-center justify-center rounded-md hover:bg-amber-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-amber-900"
          aria-expanded={open}
          aria-controls={listId}
          aria-label={i18n.t("timeline.pinned.show")}
          title={i18n.t("timeline.pinned.show")}
          onClick={() => setOpen(!open)}
        >
          <RoomIcon name="down" class={`h-4 w-4 ${open ? "rotate-180" : ""}`} />
        </button>
      </div>
      <ul id={listId} hidden={!open} class="mt-1 flex max-h-60 flex-col gap-0.5 overflow-y-auto">
        {open && pinned.map((eventId) => {
          const { name, text } = preview(eventId);
          return (
            <li key={eventId}>
              <button
                type="button"
                class={ROW}
                data-pinned-event={eventId}
                onClick={() => jump(eventId)}
              >
                {name && <span class="shrink-0 font-semibold">{name}</span>}
                <span class="truncate">{text}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
