/** @jsxImportSource preact */
/**
 * Settings: language, theme, and what this device knows about the account and encryption.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { MessageKey } from "../i18n/index.ts";
import type { CryptoStatus } from "../state/session.ts";
import { THEME_CHOICES, type ThemeChoice } from "../state/theme.ts";
import { CallOverlay } from "./calls/call_overlay.tsx";
import { AdminLink } from "./admin/admin_link.tsx";
import { useApp } from "./context.ts";
import { AppLink, LanguageSelect, ScreenHeading } from "./controls.tsx";
import { NotificationSettings } from "./rooms/notification_settings.tsx";
import { ShellHeader } from "./shell_view.tsx";

const THEME_LABELS: Readonly<Record<ThemeChoice, MessageKey>> = {
  system: "settings.themeSystem",
  light: "settings.themeLight",
  dark: "settings.themeDark",
};

const CRYPTO_LABELS: Readonly<Record<CryptoStatus, MessageKey>> = {
  off: "crypto.off",
  starting: "crypto.starting",
  ready: "crypto.ready",
  failed: "crypto.failed",
};

type AccountModule = typeof import("./account_settings.tsx");
let accountLoad: Promise<AccountModule> | null = null;

/** The profile and account forms, loaded with this screen rather than before the first one. */
function useAccountModule(): AccountModule | null {
  const [module, setModule] = useState<AccountModule | null>(null);
  useEffect(() => {
    let live = true;
    accountLoad ??= import("./account_settings.tsx");
    accountLoad.then((loaded) => live && setModule(loaded), (err) => {
      accountLoad = null;
      console.warn("gemeng: could not load the account settings", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module;
}

type SecurityModule = typeof import("./security/security_settings.tsx");
let securityLoad: Promise<SecurityModule> | null = null;

/** Secure messaging's settings, loaded with this screen (the first screen needs none of it). */
function useSecurityModule(): SecurityModule | null {
  const [module, setModule] = useState<SecurityModule | null>(null);
  useEffect(() => {
    let live = true;
    securityLoad ??= import("./security/security_settings.tsx");
    securityLoad.then((loaded) => live && setModule(loaded), (err) => {
      securityLoad = null;
      console.warn("gemeng: could not load the security settings", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module;
}

const SECTION =
  "flex flex-col gap-3 rounded-xl border border-slate-300 bg-white p-4 dark:border-slate-700 dark:bg-slate-900";

/** The settings screen. */
export function SettingsView(): JSX.Element {
  const app = useApp();
  const { i18n, theme, session } = app;
  const account = useAccountModule();
  const security = useSecurityModule();
  return (
    <div class="flex min-h-dvh flex-col">
      <ShellHeader />
      <main id="main" class="mx-auto flex w-full max-w-xl flex-col gap-4 p-4">
        <p class="text-sm">
          <AppLink href="/" onNavigate={() => app.go("home")}>{i18n.t("shell.back")}</AppLink>
        </p>
        <ScreenHeading class="text-2xl font-bold">{i18n.t("settings.title")}</ScreenHeading>
        <section class={SECTION}>
          <LanguageSelect />
          <fieldset class="flex flex-col gap-2">
            <legend class="mb-1 text-sm font-medium">{i18n.t("settings.theme")}</legend>
            {THEME_CHOICES.map((choice) => (
              <label key={choice} class="flex items-center gap-2 text-sm">
                <input
                  type="radio"
                  name="theme"
                  value={choice}
                  checked={theme.choice.value === choice}
                  onChange={() =>
                    theme.choose(choice)}
                />
                {i18n.t(THEME_LABELS[choice])}
              </label>
            ))}
          </fieldset>
        </section>
        {account && <account.ProfileSettings />}
        <section class={SECTION} aria-labelledby="settings-account">
          <h2 id="settings-account" class="text-base font-bold">{i18n.t("settings.account")}</h2>
          <p class="text-sm">
            {i18n.t("shell.signedInAs", { userId: session.userId.value ?? "" })}
          </p>
        </section>
        {account && <account.AccountSettings />}
        <AdminLink />
        <section class={SECTION} aria-labelledby="settings-encryption">
          <h2 id="settings-encryption" class="text-base font-bold">
            {i18n.t("settings.encryption")}
          </h2>
          <p class="text-sm" role="status">
            {i18n.t(CRYPTO_LABELS[session.crypto.value], {
              message: session.cryptoError.value ?? "",
            })}
          </p>
        </section>
        {security && <security.SecuritySettings />}
        <NotificationSettings />
        {account && <account.Deactivation />}
      </main>
      <CallOverlay />
    </div>
  );
}
