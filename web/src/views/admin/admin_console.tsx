/** @jsxImportSource preact */
/**
 * The admin console (`/admin/<section>`): for server admins, over the Synapse-compatible admin
 * API (docs/admin.md). Loaded as a chunk of its own when the route opens; anyone else sees
 * that it is not allowed.
 *
 * @module
 */

import type { JSX } from "preact";
import { useMemo } from "preact/hooks";
import type { AdminKey } from "../../i18n/admin.ts";
import { AdminApi } from "../../state/admin_api.ts";
import { useApp } from "../context.ts";
import { AppLink, ScreenHeading } from "../controls.tsx";
import { ShellHeader } from "../shell_view.tsx";
import { AuditSection } from "./admin_audit.tsx";
import { MediaSection } from "./admin_media.tsx";
import { FederationSection, HealthSection } from "./admin_server.tsx";
import { AdminContext, Problem, useAdminApi, useLoad, useText } from "./admin_parts.tsx";
import { ReportsSection } from "./admin_reports.tsx";
import { RoomsSection } from "./admin_rooms.tsx";
import { NoticesSection, TokensSection } from "./admin_tokens.tsx";
import { UsersSection } from "./admin_users.tsx";

/** The console's sections, in menu order, with their titles. */
const SECTIONS: readonly [string, AdminKey, () => JSX.Element][] = [
  ["users", "users", UsersSection],
  ["tokens", "tokens", TokensSection],
  ["rooms", "rooms", RoomsSection],
  ["reports", "reports", ReportsSection],
  ["media", "media", MediaSection],
  ["federation", "federation", FederationSection],
  ["notices", "notices", NoticesSection],
  ["health", "health", HealthSection],
  ["audit", "audit", AuditSection],
];

function Console(props: { section: string }): JSX.Element {
  const app = useApp();
  const api = useAdminApi();
  const { t } = useText();
  const allowed = useLoad(() => api.isAdmin(), []);
  const current = SECTIONS.find(([name]) => name === props.section) ?? SECTIONS[0];
  const [name, title, Section] = current;
  if (allowed.problem) return <Problem text={allowed.problem} />;
  if (allowed.data === null) return <p role="status">{t("loading")}</p>;
  if (!allowed.data) {
    return (
      <>
        <ScreenHeading class="text-2xl font-bold">{t("title")}</ScreenHeading>
        <p role="alert" class="text-base">{t("notAllowed")}</p>
      </>
    );
  }
  return (
    <div class="flex flex-col gap-4 md:flex-row">
      <nav aria-label={t("sections")} class="md:w-48 md:shrink-0">
        <ul class="flex flex-wrap gap-1 md:flex-col">
          {SECTIONS.map(([each, key]) => (
            <li key={each}>
              <a
                href={`/admin/${each}`}
                aria-current={each === name ? "page" : undefined}
                class={`block rounded-md px-3 py-1.5 text-sm font-semibold ${
                  each === name
                    ? "bg-sky-800 text-white"
                    : "text-slate-800 hover:bg-slate-200 dark:text-slate-100 dark:hover:bg-slate-700"
                }`}
                onClick={(event) => {
                  if (event.button !== 0 || event.metaKey || event.ctrlKey) return;
                  event.preventDefault();
                  app.router.navigate({ name: "admin", section: each });
                }}
              >
                {t(key)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="flex min-w-0 flex-1 flex-col gap-4">
        <ScreenHeading class="text-2xl font-bold">
          {t("title")}: {t(title)}
        </ScreenHeading>
        <Section key={name} />
      </div>
    </div>
  );
}

/** The admin console screen. */
export function AdminConsole(props: { section: string }): JSX.Element {
  const app = useApp();
  const { t } = useText();
  const client = app.session.clientReady.value;
  const api = useMemo(
    () =>
      client &&
      new AdminApi({
        homeserverUrl: client.getHomeserverUrl(),
        accessToken: client.getAccessToken() ?? "",
        userId: client.getUserId() ?? "",
      }),
    [client],
  );
  return (
    <div class="flex min-h-dvh flex-col">
      <ShellHeader />
      <main id="main" class="mx-auto flex w-full max-w-6xl flex-col gap-4 p-3 sm:p-4">
        <p class="text-sm">
          <AppLink href="/" onNavigate={() => app.go("home")}>{t("back")}</AppLink>
        </p>
        {api
          ? (
            <AdminContext.Provider value={api}>
              <Console section={props.section} />
            </AdminContext.Provider>
          )
          : <p role="status">{t("loading")}</p>}
      </main>
    </div>
  );
}
