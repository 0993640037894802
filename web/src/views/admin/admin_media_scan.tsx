/** @jsxImportSource preact */
/**
 * The malware scanner's lists in the admin console's media section (docs/media.md): files
 * refused as infected, and media accepted without a verdict (fail-open or too large to scan).
 *
 * @module
 */

import type { JSX } from "preact";
import { query } from "../../state/admin_api.ts";
import { Panel, Problem, useAdminApi, useLoad, useText } from "./admin_parts.tsx";
import { Table } from "./admin_lists.tsx";

/** A refused file, as `gemeng/media/infected` lists it. */
interface Infected {
  id: string;
  ts: number;
  user_id: string | null;
  mxc: string | null;
  signature: string;
  size: number;
  file_name: string | null;
}

/** A medium without a verdict, as `gemeng/media/unscanned` lists it. */
interface Unscanned {
  mxc: string;
  ts: number;
  reason: string;
  user_id: string | null;
}

/** The two lists, newest first. */
export function ScanLists(): JSX.Element {
  const api = useAdminApi();
  const { t, time, bytes } = useText();
  const lists = useLoad(
    () =>
      Promise.all([
        api.get(`/v1/gemeng/media/infected${query({ limit: 100 })}`),
        api.get(`/v1/gemeng/media/unscanned${query({ limit: 100 })}`),
      ]),
    [],
  );
  const [infected, unscanned] = lists.data ?? [];
  const refused: Infected[] = infected?.files ?? [];
  const unchecked: Unscanned[] = unscanned?.media ?? [];
  return (
    <>
      <Panel title={t("infected")}>
        <Problem text={lists.problem} />
        <Table
          caption={t("infected")}
          head={["file", "uploader", "signature", "size", "when"]}
          empty={t("infectedNone")}
          rows={refused.map((f) => ({
            key: f.id,
            cells: [
              <span key="n" class="break-all">{f.file_name ?? f.mxc ?? "–"}</span>,
              f.user_id ?? "–",
              f.signature,
              bytes(f.size),
              time(f.ts),
            ],
          }))}
        />
      </Panel>
      <Panel title={t("unscanned")}>
        <Table
          caption={t("unscanned")}
          head={["file", "uploader", "reason", "when"]}
          empty={t("unscannedNone")}
          rows={unchecked.map((m) => ({
            key: m.mxc,
            cells: [
              <span key="n" class="break-all">{m.mxc}</span>,
              m.user_id ?? "–",
              m.reason,
              time(m.ts),
            ],
          }))}
        />
      </Panel>
    </>
  );
}
