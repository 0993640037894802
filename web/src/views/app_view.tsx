/** @jsxImportSource preact */
/**
 * The root view: shows the screen the app model names.
 *
 * @module
 */

import type { JSX } from "preact";
import type { AppModel } from "../state/app.ts";
import { SignInView, SignUpView } from "./auth_views.tsx";
import { AppContext, useApp } from "./context.ts";
import { SettingsView } from "./settings_view.tsx";
import { ShellView } from "./shell_view.tsx";

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
      return <SettingsView />;
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
