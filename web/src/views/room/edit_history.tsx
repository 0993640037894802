/** @jsxImportSource preact */
/**
 * An edited message's versions, newest first, with when each was written (the edits come from
 * `/relations`; only the sender's own edits count).
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import { type EditVersion, loadEditHistory } from "../../state/timeline_actions.ts";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { MessageText } from "./event_body.tsx";
import { formatDateTime } from "./format.ts";
import { ModalDialog } from "../modal_dialog.tsx";

/** The edit history dialog. */
export function EditHistory(
  props: { event: MatrixEvent; room: Room; onClose: () => void },
): JSX.Element {
  const { i18n, session } = useApp();
  const [versions, setVersions] = useState<EditVersion[] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const client = session.clientReady.value;
    if (!client) return;
    let live = true;
    loadEditHistory(client, props.room, props.event)
      .then((list) => live && setVersions(list))
      .catch((err) => {
        console.warn("gemeng: the edit history could not load", err);
        if (live) setFailed(true);
      });
    return () => {
      live = false;
    };
  }, [props.event]);
  const locale = i18n.locale.value;
  return (
    <ModalDialog title={i18n.t("timeline.history.title")} onClose={props.onClose}>
      {failed && <p role="alert">{i18n.t("timeline.history.failed")}</p>}
      {!failed && versions === null && <p role="status">{i18n.t("timeline.history.loading")}</p>}
      {versions && (
        <ol class="flex flex-col gap-3">
          {versions.map((version) => (
            <li
              key={version.eventId}
              class="rounded-md border border-slate-300 p-2 dark:border-slate-600"
            >
              <p class="text-xs text-slate-600 dark:text-slate-300">
                {formatDateTime(locale, version.ts)}
                {version.original && ` · ${i18n.t("timeline.history.original")}`}
              </p>
              <div class="break-words whitespace-pre-wrap">
                <MessageText
                  content={version.content}
                  room={props.room}
                  isReply={version.original}
                />
              </div>
            </li>
          ))}
        </ol>
      )}
      <div class="flex justify-end">
        <Button variant="quiet" onClick={props.onClose}>{i18n.t("timeline.history.close")}</Button>
      </div>
    </ModalDialog>
  );
}
