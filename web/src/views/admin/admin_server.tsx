/** @jsxImportSource preact */
/**
 * The server in the admin console: federation (the allow list from the config, read-only, and
 * each destination's queue, failures and backoff, with "retry now") and health (`/health`, the
 * node's version, uptime and memory, and a few counts).
 *
 * @module
 */

import type { JSX } from "preact";
import { ADMIN, AdminError, query, seg } from "../../state/admin_api.ts";
import {
  Btn,
  Done,
  Panel,
  Problem,
  useAction,
  useAdminApi,
  useGet,
  useLoad,
  useText,
} from "./admin_parts.tsx";
import { Facts, Table } from "./admin_lists.tsx";

/** A destination of the outbound federation queue. */
interface Destination {
  destination: string;
  queue_length: number;
  failures: number;
  backoff_until_ts: number;
  last_success_ts: number | null;
  last_error: string | null;
}

/** The federation section. */
export function FederationSection(): JSX.Element {
  const api = useAdminApi();
  const { t, time, num } = useText();
  const action = useAction();
  const info = useGet("/v1/gemeng/server_info");
  const destinations = useGet(`/v1/federation/destinations${query({ limit: 200 })}`);
  const list: Destination[] = destinations.data?.destinations ?? [];
  const federation = info.data?.federation;
  const allow: string[] = federation?.allow ?? [];
  return (
    <>
      <Panel title={t("allowList")}>
        <Problem text={info.problem} />
        {federation && (
          <>
            <p class="text-sm">
              {t(federation.enabled ? "federationOn" : "federationOff")}{" "}
              {allow.length === 0 ? t("allowAll") : t("allowOnly")}
            </p>
            {allow.length > 0 && (
              <ul class="list-disc pl-5 text-sm" aria-label={t("allowList")}>
                {allow.map((name) => <li key={name}>{name}</li>)}
              </ul>
            )}
            <p class="text-xs text-slate-600 dark:text-slate-300">{t("allowHint")}</p>
          </>
        )}
      </Panel>
      <Panel title={t("destinations")}>
        <Problem text={destinations.problem ?? action.problem} />
        <Done text={action.done} />
        <Table
          caption={t("destinations")}
          head={[
            "destination",
            "queued",
            "failures",
            "backoffUntil",
            "lastSuccess",
            "lastError",
            "",
          ]}
          rows={list.map((d) => ({
            key: d.destination,
            cells: [
              d.destination,
              num(d.queue_length),
              num(d.failures),
              d.backoff_until_ts > Date.now() ? time(d.backoff_until_ts) : "–",
              time(d.last_success_ts),
              <span key="k88" class="text-xs break-all">{d.last_error ?? ""}</span>,
              <Btn
                key="k89"
                busy={action.busy}
                label={t("retryNowFor", { server: d.destination })}
                onClick={() =>
                  action.run(async () => {
                    await api.call(
                      "POST",
                      `${ADMIN}/v1/federation/destinations/${seg(d.destination)}/reset_connection`,
                      {},
                    );
                    destinations.reload();
                    return t("retrying", { server: d.destination });
                  })}
              >
                {t("retryNow")}
              </Btn>,
            ],
          }))}
        />
      </Panel>
    </>
  );
}

/** `/health`'s answer: ok, or the reason it is not ready. */
async function readiness(fetchHealth: () => Promise<Response>): Promise<string | null> {
  try {
    await fetchHealth();
    return null;
  } catch (err) {
    if (err instanceof AdminError && err.status === 503) return err.message;
    throw err;
  }
}

/** The health section. */
export function HealthSection(): JSX.Element {
  const api = useAdminApi();
  const { t, num, bytes, time } = useText();
  const data = useLoad(
    () =>
      Promise.all([
        readiness(() => api.fetch("GET", "/health")),
        api.get("/v1/gemeng/server_info"),
        api.get(`/v2/users${query({ limit: 1, guests: false })}`),
        api.get(`/v1/rooms${query({ limit: 1 })}`),
        api.get(`/v1/event_reports${query({ limit: 1 })}`),
        api.get(`/v1/federation/destinations${query({ limit: 1 })}`),
      ]),
    [],
  );
  const [problem, info, users, rooms, reports, destinations] = data.data ?? [];
  return (
    <Panel title={t("health")}>
      <Problem text={data.problem} />
      {info && (
        <>
          <p role="status" class="text-base font-semibold">
            {problem === null ? t("healthy") : t("unhealthy", { reason: problem ?? "" })}
          </p>
          <Facts
            rows={[
              ["serverName", info.server_name],
              ["version", info.server_version],
              ["runningSince", time(info.started_ts)],
              ["memory", bytes(info.memory.rss_bytes)],
              ["dataFormat", String(info.data_format)],
              [
                "registration",
                t(
                  !info.registration.enabled
                    ? "registrationClosed"
                    : info.registration.require_token
                    ? "registrationToken"
                    : "registrationOpen",
                ),
              ],
              ["users", num(users.total)],
              ["rooms", num(rooms.total_rooms)],
              ["reports", num(reports.total)],
              ["destinations", num(destinations.total)],
            ]}
          />
        </>
      )}
      <div>
        <Btn onClick={data.reload}>{t("refresh")}</Btn>
      </div>
    </Panel>
  );
}
