/** @jsxImportSource preact */
/**
 * Media in the admin console: the largest media with quarantine and deletion, how much
 * each user stores, and the malware scanner's refused and unscanned files.
 *
 * @module
 */

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { ADMIN, query, seg } from "../../state/admin_api.ts";
import {
  AskBtn,
  Btn,
  Done,
  Panel,
  Problem,
  useAction,
  useAdminApi,
  useConfirm,
  useGet,
  useText,
} from "./admin_parts.tsx";
import { Table } from "./admin_lists.tsx";
import { ScanLists } from "./admin_media_scan.tsx";

/** A medium of the largest list. */
interface Medium {
  media_id: string;
  origin: string;
  media_length: number;
  media_type: string | null;
  upload_name: string | null;
  user_id: string | null;
  created_ts: number;
  quarantined_by: string | null;
}

function Usage(): JSX.Element {
  const { t, num, bytes } = useText();
  const usage = useGet(
    `/v1/statistics/users/media${query({ order_by: "media_length", dir: "b", limit: 100 })}`,
  );
  const users: {
    user_id: string;
    displayname: string | null;
    media_count: number;
    media_length: number;
  }[] = usage.data?.users ?? [];
  return (
    <Panel title={t("usage")}>
      <Problem text={usage.problem} />
      <Table
        caption={t("usage")}
        head={["user", "files", "size"]}
        rows={users.map((user) => ({
          key: user.user_id,
          cells: [user.user_id, num(user.media_count), bytes(user.media_length)],
        }))}
      />
    </Panel>
  );
}

/** The media section. */
export function MediaSection(): JSX.Element {
  const api = useAdminApi();
  const { t, time, bytes } = useText();
  const confirm = useConfirm();
  const action = useAction();
  const [message, setMessage] = useState<string | null>(null);
  const media = useGet(`/v1/media/largest${query({ limit: 50 })}`);
  const list: Medium[] = media.data?.media ?? [];
  return (
    <>
      <Panel title={t("largestMedia")}>
        <Done text={message ?? action.done} />
        <Problem text={media.problem ?? action.problem} />
        <Table
          caption={t("largestMedia")}
          head={["file", "uploader", "size", "uploaded", "state", ""]}
          rows={list.map((m) => {
            const path = `${seg(m.origin)}/${seg(m.media_id)}`;
            const name = m.upload_name ?? m.media_id;
            return {
              key: `${m.origin}/${m.media_id}`,
              cells: [
                <div key="k98">
                  <span class="block font-semibold break-all">{name}</span>
                  <span class="block text-xs break-all">
                    mxc://{m.origin}/{m.media_id} · {m.media_type ?? ""}
                  </span>
                </div>,
                m.user_id ?? "–",
                bytes(m.media_length),
                time(m.created_ts),
                m.quarantined_by ? t("quarantined") : t("served"),
                <div key="k108" class="flex flex-wrap gap-1">
                  <Btn
                    busy={action.busy}
                    label={t(m.quarantined_by ? "unquarantineFile" : "quarantineFile", {
                      file: name,
                    })}
                    onClick={() =>
                      action.run(async () => {
                        const verb = m.quarantined_by ? "unquarantine" : "quarantine";
                        await api.call("POST", `${ADMIN}/v1/media/${verb}/${path}`, {});
                        setMessage(null);
                        media.reload();
                        return t(
                          m.quarantined_by ? "unquarantinedDone" : "quarantinedDone",
                        );
                      })}
                  >
                    {t(m.quarantined_by ? "unquarantine" : "quarantine")}
                  </Btn>
                  <AskBtn
                    kind="danger"
                    named
                    ask={confirm.ask}
                    asking={{
                      title: t("deleteFile", { file: name }),
                      text: t("deleteFileText"),
                      confirm: t("delete"),
                      onConfirm: async () => {
                        await api.call("DELETE", `${ADMIN}/v1/media/${path}`);
                        setMessage(t("fileDeleted"));
                        media.reload();
                      },
                    }}
                  />
                </div>,
              ],
            };
          })}
        />
        {confirm.dialog}
      </Panel>
      <Usage />
      <ScanLists />
    </>
  );
}
