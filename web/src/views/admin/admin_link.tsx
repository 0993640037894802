/** @jsxImportSource preact */
/**
 * The way into the admin console from the settings, shown only to server admins: the admin
 * API's own answer to "is this user an admin" (403 for everyone else) decides.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { accountText } from "../../i18n/account.ts";
import { useApp } from "../context.ts";
import { AppLink } from "../controls.tsx";

/** A link to `/admin`, or nothing for people who are not server admins. */
export function AdminLink(): JSX.Element | null {
  const app = useApp();
  const client = app.session.clientReady.value;
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    if (!client) return;
    let live = true;
    const userId = client.getUserId() ?? "";
    fetch(
      `${client.getHomeserverUrl()}/_synapse/admin/v1/users/${encodeURIComponent(userId)}/admin`,
      { headers: { Authorization: `Bearer ${client.getAccessToken()}` } },
    ).then((res) => res.ok ? res.json() : { admin: false })
      .then((body) => live && setAdmin(body.admin === true))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [client]);
  if (!admin) return null;
  const locale = app.i18n.locale.value;
  return (
    <section
      aria-labelledby="settings-admin"
      class="flex flex-col gap-2 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900"
    >
      <h2 id="settings-admin" class="text-base font-bold">
        {accountText(locale, "account.adminConsole")}
      </h2>
      <p class="text-sm">{accountText(locale, "account.adminConsoleHint")}</p>
      <p class="text-sm">
        <AppLink
          href="/admin"
          onNavigate={() => app.router.navigate({ name: "admin", section: "" })}
        >
          {accountText(locale, "account.adminConsole")}
        </AppLink>
      </p>
    </section>
  );
}
