/** @jsxImportSource preact */
/**
 * The audit log in the admin console: every admin action (who, what, on what, when, from
 * where), filtered, page by page, and exported as the server's JSON file.
 *
 * @module
 */

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { saveBlob } from "../../matrix/media.ts";
import { ADMIN, query } from "../../state/admin_api.ts";
import {
  Btn,
  Done,
  Form,
  Input,
  Panel,
  Problem,
  useAction,
  useAdminApi,
  useLoad,
  useText,
} from "./admin_parts.tsx";
import { More, Table } from "./admin_lists.tsx";

/** An audit log entry. */
interface Entry {
  id: string;
  ts: number;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  via: string;
  details: Record<string, unknown> | null;
}

interface Filter {
  action: string;
  user_id: string;
  target: string;
  /** A day (`YYYY-MM-DD`): entries from its start, in the admin's time zone. */
  since: string;
}

/** The API's query parameters of a filter. */
function filterQuery(filter: Filter) {
  const { since, ...rest } = filter;
  return { ...rest, since_ts: since ? new Date(`${since}T00:00:00`).getTime() : undefined };
}

/** The audit log section. */
export function AuditSection(): JSX.Element {
  const api = useAdminApi();
  const { t, time } = useText();
  const action = useAction();
  const [draft, setDraft] = useState<Filter>({
    action: "",
    user_id: "",
    target: "",
    since: "",
  });
  const [filter, setFilter] = useState<Filter>(draft);
  const [more, setMore] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | undefined>(undefined);
  const first = useLoad(async () => {
    const page = await api.get(
      `/v1/gemeng/audit_log${query({ ...filterQuery(filter), limit: 50 })}`,
    );
    setMore([]);
    setNext(page.next_token);
    return page.entries as Entry[];
  }, [filter]);
  const entries = [...(first.data ?? []), ...more];
  const field = (name: keyof Filter) => (value: string) => setDraft({ ...draft, [name]: value });
  const loadMore = () =>
    action.run(async () => {
      const page = await api.get(
        `/v1/gemeng/audit_log${query({ ...filterQuery(filter), limit: 50, from: next })}`,
      );
      setMore([...more, ...page.entries]);
      setNext(page.next_token);
    });
  const exportLog = () =>
    action.run(async () => {
      const res = await api.fetch(
        "GET",
        `${ADMIN}/v1/gemeng/audit_log/export${query(filterQuery(filter))}`,
      );
      const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") ?? "")?.[1] ??
        "gemeng-audit.json";
      saveBlob(await res.blob(), name);
      first.reload();
      return t("exported", { file: name });
    });
  return (
    <Panel title={t("audit")}>
      <Form onSubmit={() => setFilter({ ...draft })} label={t("filter")}>
        <Input
          label={t("action")}
          value={draft.action}
          onInput={field("action")}
          hint={t("actionHint")}
        />
        <Input label={t("actor")} value={draft.user_id} onInput={field("user_id")} />
        <Input label={t("target")} value={draft.target} onInput={field("target")} />
        <Input label={t("since")} type="date" value={draft.since} onInput={field("since")} />
        <Btn submit>{t("filter")}</Btn>
        <Btn kind="main" busy={action.busy} onClick={exportLog}>{t("export")}</Btn>
      </Form>
      <Problem text={first.problem ?? action.problem} />
      <Done text={action.done} />
      <Table
        caption={t("audit")}
        head={["when", "actor", "action", "target", "address", "details"]}
        rows={entries.map((entry) => ({
          key: entry.id,
          cells: [
            time(entry.ts),
            entry.actor,
            <code key="k119">{entry.action}</code>,
            <span key="k120" class="break-all">{entry.target ?? "–"}</span>,
            entry.ip ?? entry.via,
            <code key="k122" class="text-xs break-all">
              {entry.details ? JSON.stringify(entry.details) : ""}
            </code>,
          ],
        }))}
      />
      <More show={!!next} busy={action.busy} onMore={loadMore} />
    </Panel>
  );
}
