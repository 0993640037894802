/** @jsxImportSource preact */
/// <reference lib="dom" />
/**
 * The app's entry point: builds the app model from the browser's surroundings, keeps the
 * document's language and theme in step with it, renders, resumes the stored session,
 * registers the service worker, and fetches the SDK in the background.
 *
 * @module
 */

import { effect } from "@preact/signals";
import { render } from "preact";
import { loadSdk } from "./matrix/sdk.ts";
import { AppModel } from "./state/app.ts";
import { AppView } from "./views/app_view.tsx";

const darkQuery = globalThis.matchMedia("(prefers-color-scheme: dark)");

const app = new AppModel({
  storage: globalThis.localStorage,
  routerHost: globalThis.window,
  defaultServer: globalThis.location.origin,
  preferredLanguages: navigator.languages,
  systemPrefersDark: darkQuery.matches,
  indexedDB: globalThis.indexedDB,
  sdkLocalStorage: globalThis.localStorage,
});

darkQuery.addEventListener("change", (event) => app.theme.setSystemPrefersDark(event.matches));

const themeColour = document.querySelector<HTMLMetaElement>('meta[name="theme-color"]');
effect(() => {
  const dark = app.theme.effective.value === "dark";
  document.documentElement.classList.toggle("dark", dark);
  document.documentElement.style.colorScheme = dark ? "dark" : "light";
  themeColour?.setAttribute("content", dark ? "#0f172a" : "#0369a1");
});
effect(() => {
  document.documentElement.lang = app.i18n.locale.value;
  document.title = app.i18n.t("app.name");
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") app.session.persist();
});

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");
render(<AppView app={app} />, root);
// The first screen is in the document: the web bench reads this mark.
performance.mark("gemeng:first-screen");
if (new URLSearchParams(location.search).has("loginToken")) {
  // Back from single sign-on: exchange the token (its own chunk) before anything else.
  import("./state/sso_return.ts").then((sso) => sso.finishSsoReturn(app)).catch((err) => {
    console.warn("gemeng: single sign-on could not finish", err);
    app.start();
  });
} else {
  app.start();
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => {
    console.warn("gemeng: the service worker was not registered", err);
  });
}

// Fetch the SDK once the first screen is up, so signing in does not wait for it.
setTimeout(() => void loadSdk().catch(() => {}), 0);
