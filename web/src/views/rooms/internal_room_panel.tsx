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
import { type InternalKey, internalText } from "../../i18n/internal_room.ts";
import type { MessageParams } from "../../i18n/index.ts";
import type { RoomSettings, RoomSnapshot } from "../../state/room_settings.ts";
import { useApp } from "../context.ts";
import { ProblemText } from "./parts.tsx";

const SECTION = "flex flex-col gap-3 border-t border-slate-300 pt-4 dark:border-slate-700";
const NOTE = "text-sm text-slate-600 dark:text-slate-300";

/** The switch, its plain explanation and the room's current setting. */
export function InternalRoomPanel(props: {
  settings: RoomSettings;
  snapshot: RoomSnapshot;
}): JSX.Element {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  const t = (key: InternalKey, params?: MessageParams) => internalText(locale, key, params);
  const { settings, snapshot } = props;
  const id = useId();
  const busy = settings.internal.busy.value;
  const server = snapshot.homeServer;
  const why = snapshot.canInternal
    ? null
    : t(snapshot.foreignRoom ? "internal.foreign" : "internal.needPower");
  return (
    <section aria-labelledby={`${id}-title`} class={SECTION}>
      <h3 id={`${id}-title`} class="text-base font-bold">{t("internal.title")}</h3>
      <label class="flex items-start gap-3">
        <input
          type="checkbox"
          role="switch"
          class="mt-1 h-5 w-5 shrink-0 accent-sky-700"
          checked={snapshot.internal}
          aria-checked={snapshot.internal}
          disabled={!snapshot.canInternal || busy}
          aria-describedby={`${id}-explain${why ? ` ${id}-why` : ""}`}
          onChange={(event) => void settings.setInternal(event.currentTarget.checked)}
        />
        <span class="text-sm font-medium">{t("internal.switch", { server })}</span>
      </label>
      <p id={`${id}-explain`} class={NOTE}>{t("internal.explain")}</p>
      <p class="text-sm" role="status">
        {snapshot.internal ? t("internal.on", { server }) : t("internal.off")}
      </p>
      {why && <p id={`${id}-why`} class={NOTE}>{why}</p>}
      <ProblemText problem={settings.internal.problem.value} />
    </section>
  );
}
