/** @jsxImportSource preact */
/**
 * The room settings' "Internal room" switch: whether users of other servers may join or be
 * invited (`lu.gemeng.internal`, enforced by the server). It is part of the settings dialog's
 * chunk, with its own strings (i18n/internal_room.ts).
 *
 * @module
 */

import type { JSX } from "preact";
import { useId } from "preact/hooks";
import { internalText } from "../../i18n/internal_room.ts";
import type { RoomSettings, RoomSnapshot } from "../../state/room_settings.ts";
import { useApp } from "../context.ts";
import { ProblemText } from "./parts.tsx";

const SECTION = "flex flex-col gap-3 border-t border-slate-300 pt-4 dark:border-slate-700";
const NOTE = "text-sm text-slate-600 dark:text-slate-300";

/** The switch and its plain explanation (and why it is disabled, when it is). */
export function InternalRoomPanel(props: {
  settings: RoomSettings;
  snapshot: RoomSnapshot;
}): JSX.Element {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  const { settings, snapshot } = props;
  const id = useId();
  const why = snapshot.canInternal
    ? ""
    : snapshot.foreignRoom
    ? internalText(locale, "internal.foreign")
    : i18n.t("rooms.settings.needPower");
  return (
    <div class={SECTION}>
      <label class="flex items-start gap-3 text-sm font-medium">
        <input
          type="checkbox"
          role="switch"
          class="mt-0.5 h-5 w-5 shrink-0 accent-sky-700"
          checked={settings.internalShown.value}
          disabled={!snapshot.canInternal || settings.internal.busy.value}
          aria-describedby={id}
          onChange={(event) => void settings.setInternal(event.currentTarget.checked)}
        />
        {internalText(locale, "internal.switch", snapshot.homeServer)}
      </label>
      <p id={id} class={NOTE}>{internalText(locale, "internal.explain")} {why}</p>
      <ProblemText problem={settings.internal.problem.value} />
    </div>
  );
}
