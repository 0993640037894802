/** @jsxImportSource preact */
/**
 * Where the search panel goes: nothing until it first opens, then the panel from its own chunk
 * (`search_panel.tsx`). It also starts the search model with the shell, so the local index of
 * encrypted rooms fills from the moment the client runs.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { formatDateTime, formatNumber } from "../../i18n/format.ts";
import { searchModel } from "../../state/search_entry.ts";
import { useApp } from "../context.ts";
import { SMALL_BUTTON } from "../files/file_icons.tsx";

type PanelModule = typeof import("./search_panel.tsx");
let panelLoad: Promise<PanelModule> | null = null;

/** The search panel while it is open. */
export function SearchSlot(): JSX.Element | null {
  const app = useApp();
  const model = searchModel(app);
  const scope = model.scope.value;
  const [module, setModule] = useState<PanelModule | null>(null);
  useEffect(() => {
    if (!scope || module) return;
    let live = true;
    panelLoad ??= import("./search_panel.tsx");
    panelLoad.then((loaded) => live && setModule(loaded), (err) => {
      panelLoad = null;
      console.warn("gemeng: the search panel did not load", err);
      model.close();
    });
    return () => {
      live = false;
    };
  }, [scope]);
  if (!scope || !module) return null;
  const locale = app.i18n.locale.value;
  return (
    <module.SearchPanel
      key={scope.roomId ?? ""}
      roomId={scope.roomId}
      local={model.localIndex}
      format={{
        time: (ts) => formatDateTime(locale, ts),
        number: (n) => formatNumber(locale, n),
      }}
      buttonClass={SMALL_BUTTON}
      onOpen={(roomId, eventId) => void model.show(roomId, eventId)}
      onClose={() => model.close()}
    />
  );
}
