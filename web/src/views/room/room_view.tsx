/** @jsxImportSource preact */
/**
 * The open room: its header (name, back link on phones, call buttons, room actions), the
 * timeline, who is typing and the composer, and the thread panel beside them. Files dropped on
 * the room are sent.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import { timelineModel } from "../../state/timeline_model.ts";
import { sendFiles } from "../../state/uploads.ts";
import { filesPanel } from "../../state/files_panel.ts";
import { GallerySlot } from "../files/gallery_slot.tsx";
import { CallButtons } from "../calls/call_buttons.tsx";
import { useApp } from "../context.ts";
import { AppLink } from "../controls.tsx";
import { RoomHeaderActions } from "../rooms/room_header_actions.tsx";
import { ComposerView } from "./composer.tsx";
import { PINNED_EVENTS } from "../../state/message_extras.ts";
import { PinnedBar } from "./pinned_bar.tsx";
import { ThreadPanel } from "./thread_panel.tsx";
import { TileContext, type TileSurroundings } from "./timeline_context.ts";
import { TimelineView, TypingNotice } from "./timeline_view.tsx";

/** The room panel; a prompt to pick a room when none is open. */
export function RoomView(props: { roomId: string | null }): JSX.Element {
  const app = useApp();
  const { i18n, session } = app;
  const summary = props.roomId
    ? session.rooms.rooms.value.find((r) => r.roomId === props.roomId)
    : undefined;
  if (!props.roomId) {
    return (
      <Centered>
        <p class="text-slate-600 dark:text-slate-300">{i18n.t("shell.selectRoom")}</p>
      </Centered>
    );
  }
  const room = session.clientReady.value?.getRoom(props.roomId) ?? null;
  const name = summary?.name ?? i18n.t("shell.unnamedRoom");
  return (
    <section class="flex min-h-0 flex-1 flex-col">
      <div class="flex items-center gap-2 border-b border-slate-300 py-2 pr-2 pl-1 md:px-4 dark:border-slate-700">
        <AppLink
          href="/"
          onNavigate={() => app.go("home")}
          class="inline-flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 md:hidden dark:text-slate-200 dark:hover:bg-slate-700"
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="none">
            <path
              d="M15 5l-7 7 7 7"
              stroke="currentColor"
              stroke-width="2"
              stroke-linecap="round"
              stroke-linejoin="round"
            />
          </svg>
          <span class="sr-only">{i18n.t("shell.back")}</span>
        </AppLink>
        <h2 class="min-w-0 flex-1 truncate text-base font-bold">{name}</h2>
        {room && <CallButtons room={room} />}
        {room && <RoomHeaderActions room={room} />}
      </div>
      <OfflineBanner />
      {room && room.getMyMembership() === "join"
        ? <RoomBody key={room.roomId} room={room} name={name} />
        : (
          <Centered>
            <p class="text-slate-600 dark:text-slate-300">{i18n.t("shell.roomPlaceholder")}</p>
          </Centered>
        )}
    </section>
  );
}

function RoomBody(props: { room: Room; name: string }): JSX.Element {
  const app = useApp();
  const { i18n } = app;
  const model = timelineModel(app);
  const timeline = model.roomTimeline(props.room);
  const composer = model.composer(props.room, null);
  const open = model.openThread.value;
  const threadRoot = open?.roomId === props.room.roomId ? open.rootId : null;
  const [dragging, setDragging] = useState(false);
  const gallery = filesPanel(app);
  if (!timeline || !composer) {
    return (
      <Centered>
        <p role="status" class="text-slate-600 dark:text-slate-300">{i18n.t("timeline.loading")}</p>
      </Centered>
    );
  }
  const surroundings: TileSurroundings = {
    room: props.room,
    composer,
    inThread: false,
    jumpTo: (eventId) => void timeline.jumpTo(eventId),
    openThread: (rootId) => model.openThreadPanel(props.room.roomId, rootId),
  };
  const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes("Files") ?? false;
  return (
    <div class="flex min-h-0 flex-1">
      <div
        class="relative flex min-w-0 flex-1 flex-col"
        onDragOver={(event) => {
          if (!hasFiles(event)) return;
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={(event) => {
          if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={(event) => {
          if (!hasFiles(event)) return;
          event.preventDefault();
          setDragging(false);
          const files = [...(event.dataTransfer?.files ?? [])];
          if (files.length) sendFiles(app, props.room, files);
        }}
      >
        <PinnedSlot room={props.room} onJump={surroundings.jumpTo} />
        <TileContext.Provider value={surroundings}>
          <TimelineView timeline={timeline} roomName={props.name} />
        </TileContext.Provider>
        <TypingNotice timeline={timeline} />
        <ComposerView
          composer={composer}
          room={props.room}
          label={i18n.t("timeline.composer.label")}
          attachments
        />
        {dragging && (
          <div class="pointer-events-none absolute inset-2 z-20 flex items-center justify-center rounded-xl border-4 border-dashed border-sky-600 bg-sky-50/90 text-lg font-semibold text-sky-900 dark:bg-sky-950/90 dark:text-sky-100">
            {i18n.t("timeline.dropFiles")}
          </div>
        )}
      </div>
      {!threadRoot && gallery.value === props.room.roomId && (
        <GallerySlot
          room={props.room}
          onClose={() => gallery.value = null}
        />
      )}
      {threadRoot && (
        <ThreadPanel
          key={threadRoot}
          room={props.room}
          rootId={threadRoot}
          onClose={() => model.closeThreadPanel()}
        />
      )}
    </div>
  );
}

/**
 * Says the app is offline inside the room: on a phone the room list, whose notice says it too,
 * is not on screen while a room is open.
 */
function OfflineBanner(): JSX.Element {
  const { i18n, session } = useApp();
  const offline = session.sync.value === "offline";
  return (
    <p
      role="status"
      class="border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 empty:hidden dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
    >
      {offline ? i18n.t("sync.offline") : ""}
    </p>
  );
}

function Centered(props: { children: ComponentChildren }): JSX.Element {
  return <div class="flex flex-1 items-center justify-center p-6 text-center">{props.children}
  </div>;
}

/**
 * Where the pinned messages bar goes: it follows the room's `m.room.pinned_events` state.
 */
function PinnedSlot(props: { room: Room; onJump: (eventId: string) => void }): JSX.Element | null {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const state = props.room.currentState;
    const changed = (event: MatrixEvent) => {
      if (event.getType() === PINNED_EVENTS) setVersion((v) => v + 1);
    };
    // The SDK's event name enum is in its lazily loaded module: the string is the same.
    state.on("RoomState.events" as never, changed as never);
    return () => void state.off("RoomState.events" as never, changed as never);
  }, [props.room]);
  return <PinnedBar room={props.room} onJump={props.onJump} version={version} />;
}
