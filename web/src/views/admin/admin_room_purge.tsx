/** @jsxImportSource preact */
/**
 * "Purge history before a date" in a room's details (docs/retention.md): asks for the date in a
 * confirmation, starts `purge_history` with `purge_up_to_ts` and follows its status to the end.
 *
 * @module
 */

import type { JSX } from "preact";
import { useRef, useState } from "preact/hooks";
import { ADMIN, type AdminApi, seg } from "../../state/admin_api.ts";
import { Input, useAdminApi, useConfirm, useText, waitForTask } from "./admin_parts.tsx";

interface PurgeChoices {
  before: string;
}

/** Starts the purge and waits for it (a minute at most); the events purged, or null if running. */
async function purgeHistory(
  api: AdminApi,
  roomId: string,
  beforeTs: number,
): Promise<number | null> {
  const { purge_id: id } = await api.call("POST", `${ADMIN}/v1/purge_history/${seg(roomId)}`, {
    purge_up_to_ts: beforeTs,
    // The admin means every message before the date, this server's users' too (Synapse keeps
    // local events by default).
    delete_local_events: true,
  });
  const task = await waitForTask(api, `/v1/purge_history_status/${seg(id)}`);
  return task ? task.events_purged ?? 0 : null;
}

/** The date inside the confirmation. */
function PurgeFields(props: { into: PurgeChoices }): JSX.Element {
  const { t } = useText();
  const [before, setBefore] = useState(props.into.before);
  return (
    <Input
      label={t("purgeBefore")}
      type="datetime-local"
      value={before}
      required
      onInput={(value) => [setBefore(value), props.into.before = value]}
    />
  );
}

/** Opens the purge confirmation for a room; `onDone` gets the outcome to show. */
export function usePurgeHistory(onDone: (message: string) => void) {
  const api = useAdminApi();
  const { t, num } = useText();
  const confirm = useConfirm();
  const choices = useRef<PurgeChoices>({ before: "" });
  const ask = (roomId: string, name = roomId) => {
    choices.current = { before: "" };
    confirm.ask({
      title: t("purgeHistoryTitle", { room: name }),
      text: t("purgeHistoryText"),
      confirm: t("purgeDo"),
      children: <PurgeFields into={choices.current} />,
      onConfirm: async () => {
        // A datetime-local value is the browser's local time, as the admin means it.
        const beforeTs = new Date(choices.current.before).getTime();
        if (!choices.current.before || !Number.isFinite(beforeTs)) {
          throw new Error(t("purgeNeedsDate"));
        }
        const purged = await purgeHistory(api, roomId, beforeTs);
        onDone(purged === null ? t("purgeRunning") : t("purgeDone", { count: num(purged) }));
      },
    });
  };
  return { ask, dialog: confirm.dialog };
}
