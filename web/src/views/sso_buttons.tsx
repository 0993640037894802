/** @jsxImportSource preact */
/**
 * Single sign-on on the sign-in screen: one button per identity provider the server offers, and
 * the problem of a return from the provider that did not sign in. Its own chunk, loaded by the
 * sign-in screen; it renders nothing for servers without SSO.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { MessageParams } from "../i18n/index.ts";
import { type SsoKey, ssoText } from "../i18n/sso.ts";
import { resolveHomeserver } from "../matrix/auth.ts";
import {
  type IdentityProvider,
  identityProviders,
  SSO_SERVER_KEY,
  ssoRedirectUrl,
  ssoReturnProblem,
} from "../state/sso.ts";
import { useApp } from "./context.ts";
import { Button } from "./controls.tsx";

function useText(): (key: SsoKey, params?: MessageParams) => string {
  const { i18n } = useApp();
  const locale = i18n.locale.value;
  return (key, params) => ssoText(locale, key, params);
}

/** The providers of the server in the sign-in form, found again when the address changes. */
function useProviders(server: string): { homeserverUrl: string; providers: IdentityProvider[] } {
  const [found, setFound] = useState({ homeserverUrl: "", providers: [] as IdentityProvider[] });
  useEffect(() => {
    let live = true;
    // Typing an address should not ask the server at every key stroke.
    const timer = setTimeout(async () => {
      try {
        const homeserverUrl = await resolveHomeserver(server);
        const providers = await identityProviders(homeserverUrl);
        if (live) setFound({ homeserverUrl, providers });
      } catch {
        if (live) setFound({ homeserverUrl: "", providers: [] });
      }
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [server]);
  return found;
}

/** The buttons (and the SSO problem, if any); nothing when the server offers no SSO. */
export function SsoButtons(): JSX.Element | null {
  const app = useApp();
  const t = useText();
  const { homeserverUrl, providers } = useProviders(app.signIn.server.value.value.trim());
  const problem = ssoReturnProblem.value;
  if (providers.length === 0 && !problem) return null;
  const start = (idp: IdentityProvider) => {
    sessionStorage.setItem(SSO_SERVER_KEY, homeserverUrl);
    const here = `${location.origin}${location.pathname}`;
    location.assign(ssoRedirectUrl(homeserverUrl, idp.id, here));
  };
  return (
    <section aria-label={t("sso.providers")} class="mt-4 flex flex-col gap-3">
      {problem && (
        <p
          role="alert"
          class="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-700 dark:bg-red-950 dark:text-red-100"
        >
          {t(problem)}
        </p>
      )}
      {providers.length > 0 && (
        <p class="flex items-center gap-3 text-sm text-slate-600 dark:text-slate-300">
          <span aria-hidden="true" class="h-px flex-1 bg-slate-300 dark:bg-slate-700" />
          {t("sso.or")}
          <span aria-hidden="true" class="h-px flex-1 bg-slate-300 dark:bg-slate-700" />
        </p>
      )}
      {providers.map((idp) => (
        <Button key={idp.id} variant="quiet" onClick={() => start(idp)}>
          {t("sso.continueWith", { name: idp.name })}
        </Button>
      ))}
    </section>
  );
}
