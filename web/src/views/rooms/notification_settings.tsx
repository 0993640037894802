/** @jsxImportSource preact */
/**
 * Settings: desktop notifications for new messages: a switch that asks the browser's permission
 * when turned on, what the browser allows, and whether they also arrive when the app is closed
 * (Web Push from the server); and keywords that notify in every room (push content rules).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import type { MessageKey } from "../../i18n/index.ts";
import { notificationsModel } from "../../state/notifications.ts";
import { useApp } from "../context.ts";

type ExtrasModule = typeof import("./room_extras.tsx");
let extrasLoad: Promise<ExtrasModule> | null = null;

/**
 * The keyword rules (room_extras.tsx), loaded when the settings first show rather than with
 * the first screen.
 */
function useRoomExtras(): ExtrasModule | null {
  const [module, setModule] = useState<ExtrasModule | null>(null);
  useEffect(() => {
    let live = true;
    extrasLoad ??= import("./room_extras.tsx");
    extrasLoad.then((loaded) => live && setModule(loaded), (err) => {
      extrasLoad = null;
      console.warn("gemeng: could not load the notification settings", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module;
}

const SECTION =
  "flex flex-col gap-3 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900";

/** Settings: desktop notifications for new messages. */
export function NotificationSettings(): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const model = notificationsModel(app);
  const extras = useRoomExtras();
  const headingId = useId();
  const permission = model.permission.value;
  const on = model.active.value;
  let status: MessageKey;
  if (permission === "unsupported") status = "rooms.notifications.unsupported";
  else if (permission === "denied") status = "rooms.notifications.denied";
  else if (model.asking.value) status = "rooms.notifications.asking";
  else status = on ? "rooms.notifications.on" : "rooms.notifications.off";
  return (
    <section class={SECTION} aria-labelledby={headingId}>
      <h2 id={headingId} class="text-base font-bold">{i18n.t("rooms.notifications.title")}</h2>
      <label class="flex items-center justify-between gap-3 text-sm font-medium">
        {i18n.t("rooms.notifications.toggle")}
        <input
          type="checkbox"
          role="switch"
          class="h-5 w-5"
          checked={on}
          disabled={permission === "unsupported" || permission === "denied" || model.asking.value}
          aria-describedby={`${headingId}-status`}
          onChange={(event) => {
            const box = event.currentTarget;
            if (!box.checked) return model.disable();
            // Refused or dismissed: the switch goes back to what is true.
            void model.enable().then(() => box.checked = model.active.value);
          }}
        />
      </label>
      <p
        id={`${headingId}-status`}
        role="status"
        class="text-sm text-slate-600 dark:text-slate-300"
      >
        {i18n.t(status)}
      </p>
      {on && model.webPushActive.value && (
        <p class="text-sm text-slate-600 dark:text-slate-300">
          {i18n.t("rooms.notifications.closed")}
        </p>
      )}
      {extras && <extras.KeywordSettings />}
    </section>
  );
}
