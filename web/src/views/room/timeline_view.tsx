/** @jsxImportSource preact */
/**
 * The room's timeline on screen: a log (role="log") of day separators and message tiles that
 * stays at the bottom as messages arrive, fetches older messages when scrolled to the top (and
 * offers a button for it), keeps the view still while older messages come in above, scrolls to
 * an event a reply points at, and tells the model when the newest message is seen (read
 * receipts), and marks where unread messages start with a "New messages" line (from the
 * fully-read marker as it was when the room was opened). The list of rows is shared with the
 * thread panel.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { MatrixEvent } from "matrix-js-sdk";
import type { TimelineRow } from "../../state/timeline_items.ts";
import { eventTileKind, type RoomTimeline } from "../../state/timeline.ts";
import { useApp } from "../context.ts";
import { DaySeparator, EventTile } from "./event_tile.tsx";
import { RoomIcon } from "./icons.tsx";

/** Closer than this to the bottom counts as at the bottom. */
const BOTTOM_SLACK = 48;
/** Closer than this to the top fetches older messages. */
const TOP_SLACK = 240;
/** How long a jumped-to event stays marked. */
const HIGHLIGHT_MS = 3000;

const QUIET_BUTTON =
  "inline-flex min-h-9 items-center justify-center gap-2 rounded-md border border-slate-400 bg-white px-3 py-1 text-sm font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:border-slate-500 dark:bg-slate-900 dark:text-slate-100 dark:hover:bg-slate-800";

/** The page can count the newest message as read. */
export function pageIsSeen(): boolean {
  return document.visibilityState === "visible" && document.hasFocus();
}

/** Rows of tiles and day separators (the room's timeline and a thread's replies). */
export function TimelineRows(props: {
  rows: readonly TimelineRow[];
  events: readonly MatrixEvent[];
  highlighted: string | null;
  version: number;
  /** The first unread message: a "New messages" line goes above it. */
  unread?: string | null;
}): JSX.Element {
  const { session, i18n } = useApp();
  const me = session.userId.value;
  let latestOwn: string | undefined;
  for (let i = props.events.length - 1; i >= 0 && !latestOwn; i--) {
    const event = props.events[i];
    if (event.getSender() === me && !event.isState() && eventTileKind(event) !== "hidden") {
      latestOwn = event.getId();
    }
  }
  return (
    <ol class="flex flex-col pb-2">
      {props.rows.map((row) => {
        if (row.type === "day") return <DaySeparator key={row.key} ts={row.ts} />;
        const event = props.events[row.index];
        const tile = (
          <EventTile
            key={row.key}
            event={event}
            continuation={row.continuation}
            readers={row.readers}
            highlighted={props.highlighted === row.key}
            latestOwn={row.key === latestOwn}
            version={props.version}
          />
        );
        if (row.key !== props.unread) return tile;
        const label = i18n.t("timeline.newMessages");
        return [
          <li key="unread" data-unread class="px-4 py-1">
            <div
              role="separator"
              aria-label={label}
              class="flex items-center gap-3 text-xs font-semibold text-red-700 dark:text-red-300"
            >
              <span class="h-px flex-1 bg-red-600" />
              {label}
              <span class="h-px flex-1 bg-red-600" />
            </div>
          </li>,
          tile,
        ];
      })}
    </ol>
  );
}

/** A scroll area that sticks to the bottom and keeps its place when content comes in above. */
export function useStickyScroll(options: {
  /** Changes when the content changes. */
  content: unknown;
  onTop: () => void;
  onBottom: () => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const inner = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  const handlers = useRef(options);
  handlers.current = options;

  const check = () => {
    const element = scroller.current;
    if (!element) return;
    const bottom = element.scrollHeight - element.scrollTop - element.clientHeight < BOTTOM_SLACK;
    stick.current = bottom;
    setAtBottom(bottom);
    if (bottom) handlers.current.onBottom();
    if (element.scrollTop < TOP_SLACK) handlers.current.onTop();
  };
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    if (anchor.current) {
      element.scrollTop = element.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
    } else if (stick.current) {
      element.scrollTop = element.scrollHeight;
    }
    // Not enough to scroll yet: fetch more; at the bottom: the newest is seen.
    if (element.scrollHeight <= element.clientHeight + TOP_SLACK) handlers.current.onTop();
    if (stick.current) handlers.current.onBottom();
  }, [options.content]);
  useEffect(() => {
    const content = inner.current;
    if (!content) return;
    // Images and previews grow after they load: stay at the bottom if that is where we were.
    const observer = new ResizeObserver(() => {
      const element = scroller.current;
      if (element && stick.current) element.scrollTop = element.scrollHeight;
    });
    observer.observe(content);
    const seen = () => {
      if (stick.current) handlers.current.onBottom();
    };
    globalThis.addEventListener("focus", seen);
    document.addEventListener("visibilitychange", seen);
    return () => {
      observer.disconnect();
      globalThis.removeEventListener("focus", seen);
      document.removeEventListener("visibilitychange", seen);
    };
  }, []);
  return {
    scroller,
    inner,
    atBottom,
    onScroll: check,
    /** Call before content is added above, so the view stays where it is. */
    keepPlace() {
      const element = scroller.current;
      if (element) anchor.current = { height: element.scrollHeight, top: element.scrollTop };
    },
    /** Nothing came in above after all. */
    dropPlace() {
      anchor.current = null;
    },
    /** Scrolls to the bottom and sticks there. */
    toBottom() {
      stick.current = true;
      setAtBottom(true);
      const element = scroller.current;
      if (element) element.scrollTop = element.scrollHeight;
    },
    /** Stops sticking (a jump to an older event). */
    release() {
      stick.current = false;
    },
  };
}

/** The room's timeline. */
export function TimelineView(props: { timeline: RoomTimeline; roomName: string }): JSX.Element {
  const { i18n } = useApp();
  const { timeline } = props;
  const view = timeline.view.value;
  const loadingOlder = timeline.loadingOlder.value;
  const canLoadOlder = timeline.canLoadOlder.value;
  const atLiveEnd = timeline.atLiveEnd.value;
  const highlight = timeline.highlight.value;
  const [marked, setMarked] = useState<string | null>(null);
  // Taken once per opening, so the line stays while the room is open and reading moves it.
  const marker = useMemo(() => timeline.readMarker(), [timeline]);
  const me = useApp().session.userId.value;
  let unread: string | null = null;
  const from = marker ? view.events.findIndex((event) => event.getId() === marker) : -1;
  for (let i = from + 1; from >= 0 && i < view.events.length && !unread; i++) {
    const event = view.events[i];
    if (event.getSender() !== me && !event.isState() && eventTileKind(event) !== "hidden") {
      unread = event.getId() ?? null;
    }
  }

  const loadOlder = (userAsked = false) => {
    if (!timeline.canLoadOlder.value || timeline.loadingOlder.value) return;
    scroll.keepPlace();
    void timeline.loadOlder({ userAsked }).then((more) => {
      if (!more) scroll.dropPlace();
    });
  };
  const scroll = useStickyScroll({
    content: view,
    onTop: () => loadOlder(),
    onBottom: () => {
      if (!timeline.atLiveEnd.value) void timeline.loadNewer();
      else if (pageIsSeen()) timeline.markRead();
    },
  });

  // Each jump scrolls once, when its event is on the page (it may arrive with a later render).
  const shownSerial = useRef(0);
  useEffect(() => {
    if (!highlight || highlight.serial === shownSerial.current) return;
    const element = scroll.scroller.current?.querySelector<HTMLElement>(
      `[data-event-id="${CSS.escape(highlight.eventId)}"]`,
    );
    if (!element) return;
    shownSerial.current = highlight.serial;
    scroll.release();
    element.scrollIntoView({ block: "center" });
    element.querySelector<HTMLElement>("article")?.focus({ preventScroll: true });
    setMarked(highlight.eventId);
  }, [highlight?.serial, view]);
  // Once per opening: bring the line into view when it is above the screen.
  const shownUnread = useRef<RoomTimeline | null>(null);
  useEffect(() => {
    const element = scroll.scroller.current;
    const line = element?.querySelector<HTMLElement>("[data-unread]");
    if (!element || !line || shownUnread.current === timeline) return;
    shownUnread.current = timeline;
    if (line.getBoundingClientRect().top >= element.getBoundingClientRect().top) return;
    scroll.release();
    line.scrollIntoView({ block: "start" });
    scroll.onScroll();
  }, [timeline, view, unread]);
  useEffect(() => {
    if (!marked) return;
    const timer = setTimeout(() => setMarked(null), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [marked]);

  let status: ComponentChildren = null;
  if (timeline.loading.value) status = i18n.t("timeline.loading");
  else if (loadingOlder) status = i18n.t("timeline.loadingOlder");
  else if (timeline.failed.value) status = i18n.t("timeline.loadFailed");

  return (
    <div class="relative flex min-h-0 flex-1 flex-col">
      <div
        ref={scroll.scroller}
        class="min-h-0 flex-1 overflow-y-auto [overflow-anchor:none]"
        onScroll={scroll.onScroll}
      >
        <div ref={scroll.inner}>
          <div class="flex flex-col items-center gap-2 px-4 pt-3">
            {canLoadOlder && !loadingOlder && (
              <button
                type="button"
                class={QUIET_BUTTON}
                onClick={() => loadOlder(true)}
              >
                {i18n.t("timeline.loadOlder")}
              </button>
            )}
            {!canLoadOlder && !timeline.loading.value && (
              <p class="text-xs text-slate-600 dark:text-slate-300">{i18n.t("timeline.start")}</p>
            )}
            <p role="status" class="text-xs text-slate-600 empty:hidden dark:text-slate-300">
              {status}
            </p>
          </div>
          <div role="log" aria-label={i18n.t("timeline.label", { room: props.roomName })}>
            <TimelineRows
              rows={view.rows}
              events={view.events}
              highlighted={marked}
              version={view.version}
              unread={unread}
            />
          </div>
        </div>
      </div>
      {(!scroll.atBottom || !atLiveEnd) && (
        <button
          type="button"
          class={`absolute right-4 bottom-3 z-10 shadow-md ${QUIET_BUTTON}`}
          onClick={() => {
            void timeline.jumpToLatest().then(() => scroll.toBottom());
          }}
        >
          <RoomIcon name="down" class="h-4 w-4" />
          {i18n.t("timeline.jumpToLatest")}
        </button>
      )}
    </div>
  );
}

/** Who is typing, announced politely. */
export function TypingNotice(props: { timeline: RoomTimeline }): JSX.Element {
  const { i18n } = useApp();
  const names = props.timeline.typing.value;
  let text = "";
  if (names.length === 1) text = i18n.t("timeline.typing.one", { name: names[0] });
  else if (names.length === 2) {
    text = i18n.t("timeline.typing.two", { first: names[0], second: names[1] });
  } else if (names.length > 2) {
    text = i18n.t("timeline.typing.many", { name: names[0], count: names.length - 1 });
  }
  return (
    <p role="status" class="min-h-5 px-4 text-xs text-slate-600 italic dark:text-slate-300">
      {text}
    </p>
  );
}
