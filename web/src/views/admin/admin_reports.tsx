/** @jsxImportSource preact */
/**
 * Reports in the admin console: what users reported (events, rooms, people), the reported
 * event, dismissing a report, and the shortcuts to delete the room or deactivate the sender.
 *
 * @module
 */

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { ADMIN, query, seg } from "../../state/admin_api.ts";
import { Dialog } from "../dialog.tsx";
import { DialogButtons } from "../rooms/parts.tsx";
import {
  AskBtn,
  Btn,
  Done,
  Panel,
  Problem,
  useAdminApi,
  useConfirm,
  useGet,
  useText,
} from "./admin_parts.tsx";
import { Table } from "./admin_lists.tsx";
import { useDeleteRoom } from "./admin_rooms.tsx";

/** A report as the list shows one. */
interface Report {
  id: string;
  received_ts: number;
  kind?: string;
  room_id: string | null;
  name: string | null;
  event_id: string | null;
  user_id: string;
  reason: string | null;
  sender: string | null;
  target_user_id?: string | null;
}

function EventDialog(props: { id: string; onClose: () => void }): JSX.Element {
  const { t } = useText();
  const report = useGet(`/v1/event_reports/${seg(props.id)}`);
  const event = report.data?.event_json;
  return (
    <Dialog title={t("reportedEvent")} onClose={props.onClose} wide>
      <Problem text={report.problem} />
      {report.data && (
        <pre class="max-h-[60dvh] overflow-auto rounded-md bg-slate-100 p-2 text-xs break-all whitespace-pre-wrap dark:bg-slate-800">
          {event ? JSON.stringify(event, null, 2) : t("eventGone")}
        </pre>
      )}
      <DialogButtons>
        <Btn onClick={props.onClose}>{t("close")}</Btn>
      </DialogButtons>
    </Dialog>
  );
}

/** The reports section. */
export function ReportsSection(): JSX.Element {
  const api = useAdminApi();
  const { t, time } = useText();
  const confirm = useConfirm();
  const [viewing, setViewing] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const reports = useGet(`/v1/event_reports${query({ limit: 100 })}`);
  const removeRoom = useDeleteRoom((text) => [setMessage(text), reports.reload()]);
  const list: Report[] = reports.data?.event_reports ?? [];
  const local = (userId: string | null | undefined) =>
    userId && userId.endsWith(`:${api.serverName}`) ? userId : null;
  return (
    <Panel title={t("reports")}>
      <Done text={message} />
      <Problem text={reports.problem} />
      <Table
        caption={t("reports")}
        head={["received", "room", "reporter", "reported", "reason", ""]}
        rows={list.map((report) => {
          const sender = report.kind === "user" ? report.target_user_id : report.sender;
          const deactivatable = local(sender);
          return {
            key: report.id,
            cells: [
              time(report.received_ts),
              <span key="k94" class="break-all">{report.name ?? report.room_id ?? "–"}</span>,
              report.user_id,
              sender ?? "–",
              report.reason ?? "",
              <div key="k98" class="flex flex-wrap gap-1">
                {report.event_id && (
                  <Btn onClick={() => setViewing(report.id)}>{t("viewEvent")}</Btn>
                )}
                <AskBtn
                  ask={confirm.ask}
                  asking={{
                    title: t("dismissTitle"),
                    text: t("dismissText"),
                    confirm: t("dismiss"),
                    onConfirm: async () => {
                      await api.call("DELETE", `${ADMIN}/v1/event_reports/${seg(report.id)}`);
                      setMessage(t("dismissed"));
                      reports.reload();
                    },
                  }}
                />
                {report.room_id && (
                  <Btn
                    kind="danger"
                    onClick={() => removeRoom.ask(report.room_id!, report.name ?? report.room_id!)}
                  >
                    {t("deleteRoom")}
                  </Btn>
                )}
                {deactivatable && (
                  <AskBtn
                    kind="danger"
                    ask={confirm.ask}
                    asking={{
                      title: t("deactivateTitle", { userId: deactivatable }),
                      text: t("deactivateText"),
                      confirm: t("deactivate"),
                      onConfirm: async () => {
                        await api.call("POST", `${ADMIN}/v1/deactivate/${seg(deactivatable)}`, {
                          erase: false,
                        });
                        setMessage(t("deactivated"));
                      },
                    }}
                  >
                    {t("deactivateSender")}
                  </AskBtn>
                )}
              </div>,
            ],
          };
        })}
      />
      {viewing && <EventDialog id={viewing} onClose={() => setViewing(null)} />}
      {confirm.dialog}
      {removeRoom.dialog}
    </Panel>
  );
}
