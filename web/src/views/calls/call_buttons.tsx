/** @jsxImportSource preact */
/**
 * Voice and video call buttons in the room's header, for rooms of exactly two joined members
 * (calls are one-to-one).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { loadSdk } from "../../matrix/sdk.ts";
import { callsModel } from "../../state/calls.ts";
import { useApp } from "../context.ts";
import { CameraIcon, PhoneIcon } from "./call_icons.tsx";

const HEADER_BUTTON =
  "rounded-md p-2 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-700";

/** Re-renders when the room's members change (someone joins or leaves). */
function useMembers(room: Room): void {
  const [, setVersion] = useState(0);
  useEffect(() => {
    let stop = () => {};
    let live = true;
    void loadSdk().then((sdk) => {
      if (!live) return;
      const bump = () => setVersion((v) => v + 1);
      room.on(sdk.RoomStateEvent.Members, bump);
      room.on(sdk.RoomStateEvent.NewMember, bump);
      stop = () => {
        room.off(sdk.RoomStateEvent.Members, bump);
        room.off(sdk.RoomStateEvent.NewMember, bump);
      };
    }).catch(() => {});
    return () => {
      live = false;
      stop();
    };
  }, [room]);
}

/** Voice and video call buttons in the room's header. */
export function CallButtons(props: { room: Room }): JSX.Element | null {
  const app = useApp();
  const calls = callsModel(app);
  useMembers(props.room);
  if (!calls.canCall(props.room)) return null;
  const busy = calls.current.value !== null;
  const { i18n } = app;
  return (
    <div class="flex items-center gap-1">
      <button
        type="button"
        class={HEADER_BUTTON}
        aria-label={i18n.t("calls.voiceCall")}
        title={i18n.t("calls.voiceCall")}
        disabled={busy}
        onClick={() => void calls.place(props.room, { video: false })}
      >
        <PhoneIcon />
      </button>
      <button
        type="button"
        class={HEADER_BUTTON}
        aria-label={i18n.t("calls.videoCall")}
        title={i18n.t("calls.videoCall")}
        disabled={busy}
        onClick={() => void calls.place(props.room, { video: true })}
      >
        <CameraIcon />
      </button>
    </div>
  );
}
