/** @jsxImportSource preact */
/**
 * The open room: its header (name, back link on phones, call buttons, room actions), the
 * timeline and the composer.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { CallButtons } from "../calls/call_buttons.tsx";
import { useApp } from "../context.ts";
import { AppLink } from "../controls.tsx";
import { RoomHeaderActions } from "../rooms/room_header_actions.tsx";

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
  return (
    <section class="flex flex-1 flex-col">
      <div class="flex items-center gap-2 border-b border-slate-300 px-4 py-2 dark:border-slate-700">
        <p class="text-sm md:hidden">
          <AppLink href="/" onNavigate={() => app.go("home")}>{i18n.t("shell.back")}</AppLink>
        </p>
        <h2 class="min-w-0 flex-1 truncate text-base font-bold">
          {summary?.name ?? i18n.t("shell.unnamedRoom")}
        </h2>
        {room && <CallButtons room={room} />}
        {room && <RoomHeaderActions room={room} />}
      </div>
      <Centered>
        <p class="text-slate-600 dark:text-slate-300">{i18n.t("shell.roomPlaceholder")}</p>
      </Centered>
    </section>
  );
}

function Centered(props: { children: ComponentChildren }): JSX.Element {
  return <div class="flex flex-1 items-center justify-center p-6 text-center">{props.children}
  </div>;
}
