/** @jsxImportSource preact */
/**
 * The root view: shows the screen the app model names.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { AppModel } from "../state/app.ts";
import { SignInView, SignUpView } from "./auth_views.tsx";
import { AppContext, useApp } from "./context.ts";
import { ShellView } from "./shell_view.tsx";

type SettingsModule = typeof import("./settings_view.tsx");
let settingsLoad: Promise<SettingsModule> | null = null;

/** The settings screen, loaded when first shown: the first screen is the room list. */
function LazySettings(): JSX.Element {
  const app = useApp();
  const [module, setModule] = useState<SettingsModule | null>(null);
  useEffect(() => {
    let live = true;
    settingsLoad ??= import("./settings_view.tsx");
    settingsLoad.then((loaded) => live && setModule(loaded), (err) => {
      settingsLoad = null;
      console.warn("gemeng: could not load the settings", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module
    ? <module.SettingsView />
    : <p role="status" class="p-6 text-center">{app.i18n.t("app.loading")}</p>;
}

type AdminModule = typeof import("./admin/admin_console.tsx");
let adminLoad: Promise<AdminModule> | null = null;

/** The admin console, in chunks of its own: few users ever open it. */
function LazyAdmin(props: { section: string }): JSX.Element {
  const app = useApp();
  const [module, setModule] = useState<AdminModule | null>(null);
  useEffect(() => {
    let live = true;
    adminLoad ??= import("./admin/admin_console.tsx");
    adminLoad.then((loaded) => live && setModule(loaded), (err) => {
      adminLoad = null;
      console.warn("gemeng: could not load the admin console", err);
    });
    return () => {
      live = false;
    };
  }, []);
  return module
    ? <module.AdminConsole section={props.section} />
    : <p role="status" class="p-6 text-center">{app.i18n.t("app.loading")}</p>;
}

function Screen(): JSX.Element {
  const app = useApp();
  const screen = app.screen.value;
  switch (screen.name) {
    case "loading":
      return <p role="status" class="p-6 text-center">{app.i18n.t("app.loading")}</p>;
    case "signIn":
      return <SignInView />;
    case "signUp":
      return <SignUpView />;
    case "settings":
      return <LazySettings />;
    case "admin":
      return <LazyAdmin section={screen.section} />;
    case "shell":
      return <ShellView roomId={screen.roomId} />;
  }
}

/** The app. */
export function AppView(props: { app: AppModel }): JSX.Element {
  return (
    <AppContext.Provider value={props.app}>
      <a
        href="#main"
        class="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-10 focus:rounded-md focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900"
      >
        {props.app.i18n.t("app.skipToContent")}
      </a>
      <Screen />
    </AppContext.Provider>
  );
}
