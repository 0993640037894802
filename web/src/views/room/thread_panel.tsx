/** @jsxImportSource preact */
/**
 * The thread panel: the thread's first message, its replies and a composer of its own. Beside
 * the timeline on wide screens, over the whole screen on phones; Escape or Close shuts it.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { timelineModel } from "../../state/timeline_model.ts";
import { useApp } from "../context.ts";
import { ComposerView } from "./composer.tsx";
import { EventTile } from "./event_tile.tsx";
import { RoomIcon } from "./icons.tsx";
import { TileContext, type TileSurroundings } from "./timeline_context.ts";
import { pageIsSeen, TimelineRows, useStickyScroll } from "./timeline_view.tsx";

/** The thread panel for `rootId`'s thread. */
export function ThreadPanel(
  props: { room: Room; rootId: string; onClose: () => void },
): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const model = timelineModel(app);
  const thread = model.threadTimeline(props.room, props.rootId);
  const composer = model.composer(props.room, props.rootId);
  const heading = useRef<HTMLHeadingElement>(null);
  const view = thread?.view.value;
  const scroll = useStickyScroll({
    content: view,
    onTop: () => {
      if (thread?.canLoadOlder.value && !thread.loadingOlder.value) {
        scroll.keepPlace();
        void thread.loadOlder();
      }
    },
    onBottom: () => {
      if (pageIsSeen()) thread?.markRead();
    },
  });
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, [props.rootId]);
  if (!thread || !composer || !view) return null;

  const surroundings: TileSurroundings = {
    room: props.room,
    composer,
    inThread: true,
    jumpTo: (eventId) => {
      const element = scroll.scroller.current?.querySelector<HTMLElement>(
        `[data-event-id="${CSS.escape(eventId)}"]`,
      );
      element?.scrollIntoView({ block: "center" });
      element?.querySelector<HTMLElement>("article")?.focus({ preventScroll: true });
    },
    openThread: () => {},
  };
  const replies = view.events.filter((event) => !event.isState()).length;

  return (
    <aside
      aria-labelledby="thread-panel-heading"
      class="fixed inset-0 z-30 flex flex-col bg-white md:static md:z-auto md:w-96 md:shrink-0 md:border-l md:border-slate-300 dark:bg-slate-950 md:dark:border-slate-700"
      onKeyDown={(event) => {
        // Escape in a dialog or the reaction picker closes that, not the thread.
        const inner = (event.target as Element).closest("dialog, [role=dialog]");
        if (event.key === "Escape" && !event.defaultPrevented && !inner) {
          event.preventDefault();
          props.onClose();
        }
      }}
    >
      <div class="flex items-center gap-2 border-b border-slate-300 px-4 py-2 dark:border-slate-700">
        <h2
          id="thread-panel-heading"
          ref={heading}
          tabIndex={-1}
          class="flex-1 text-base font-bold outline-none"
        >
          {i18n.t("timeline.thread.title")}
        </h2>
        <button
          type="button"
          class="rounded-md p-2 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700"
          aria-label={i18n.t("timeline.thread.close")}
          onClick={props.onClose}
        >
          <RoomIcon name="close" />
        </button>
      </div>
      <TileContext.Provider value={surroundings}>
        <div
          ref={scroll.scroller}
          class="min-h-0 flex-1 overflow-y-auto [overflow-anchor:none]"
          onScroll={scroll.onScroll}
        >
          <div ref={scroll.inner}>
            <ol class="pt-3">
              {view.root
                ? (
                  <EventTile
                    event={view.root}
                    continuation={false}
                    readers={[]}
                    isRoot
                    version={view.version}
                  />
                )
                : (
                  <li class="px-4 text-sm text-slate-600 dark:text-slate-300">
                    {i18n.t("timeline.thread.loadingRoot")}
                  </li>
                )}
            </ol>
            <p class="mx-4 my-2 border-b border-slate-300 pb-1 text-xs font-semibold text-slate-700 dark:border-slate-700 dark:text-slate-300">
              {i18n.plural("timeline.thread.replies", replies)}
            </p>
            {thread.canLoadOlder.value && (
              <div class="flex justify-center">
                <button
                  type="button"
                  class="rounded-md border border-slate-400 px-3 py-1 text-sm font-semibold hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:hover:bg-slate-800"
                  onClick={() => {
                    scroll.keepPlace();
                    void thread.loadOlder({ userAsked: true });
                  }}
                >
                  {i18n.t("timeline.thread.loadOlder")}
                </button>
              </div>
            )}
            <div role="log" aria-label={i18n.t("timeline.thread.log")}>
              <TimelineRows
                rows={view.rows}
                events={view.events}
                highlighted={null}
                version={view.version}
              />
            </div>
          </div>
        </div>
        <ComposerView
          composer={composer}
          room={props.room}
          label={i18n.t("timeline.thread.composer")}
          attachments={false}
        />
      </TileContext.Provider>
    </aside>
  );
}
