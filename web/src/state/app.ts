/**
 * The app's root view model: it owns the other models (language, theme, router, session,
 * forms) and decides which screen shows, so the views only render what it says.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal } from "@preact/signals";
import { I18n } from "../i18n/index.ts";
import { SignInForm, SignUpForm } from "./auth_forms.ts";
import { type Route, Router, type RouterHost } from "./router.ts";
import { Session } from "./session.ts";
import type { KeyValueStorage } from "./storage.ts";
import { Theme } from "./theme.ts";

/** What the app shows. */
export type Screen =
  | { name: "loading" }
  | { name: "signIn" }
  | { name: "signUp" }
  | { name: "shell"; roomId: string | null }
  | { name: "settings" }
  | { name: "admin"; section: string };

/** Everything the app model needs from its surroundings. */
export interface AppOptions {
  storage: KeyValueStorage;
  routerHost: RouterHost;
  /** The server the forms start with (the page's origin in the app). */
  defaultServer: string;
  /** The browser's preferred languages. */
  preferredLanguages: readonly string[];
  systemPrefersDark: boolean;
  indexedDB?: IDBFactory;
  sdkLocalStorage?: Storage;
}

function screenFor(status: string, route: Route): Screen {
  if (status === "restoring") return { name: "loading" };
  if (status === "signedOut") return { name: route.name === "signUp" ? "signUp" : "signIn" };
  if (route.name === "settings") return { name: "settings" };
  if (route.name === "admin") return route;
  return { name: "shell", roomId: route.name === "room" ? route.roomId : null };
}

/** The root view model. */
export class AppModel {
  readonly i18n: I18n;
  readonly theme: Theme;
  readonly router: Router;
  readonly session: Session;
  readonly signIn: SignInForm;
  readonly signUp: SignUpForm;
  /** The screen to show. */
  readonly screen: ReadonlySignal<Screen>;
  readonly #disposers: (() => void)[] = [];

  constructor(options: AppOptions) {
    this.i18n = new I18n({ storage: options.storage, preferred: options.preferredLanguages });
    this.theme = new Theme({
      storage: options.storage,
      systemPrefersDark: options.systemPrefersDark,
    });
    this.router = new Router(options.routerHost);
    this.session = new Session({
      storage: options.storage,
      indexedDB: options.indexedDB,
      sdkLocalStorage: options.sdkLocalStorage,
    });
    const start = (credentials: Parameters<Session["begin"]>[0]) => this.session.begin(credentials);
    this.signIn = new SignInForm({ defaultServer: options.defaultServer, start });
    this.signUp = new SignUpForm({ defaultServer: options.defaultServer, start });
    this.screen = computed(() => screenFor(this.session.status.value, this.router.route.value));

    // Keep the address bar honest: signed-in users leave the sign-in pages, signed-out users
    // land on sign-in (a bookmarked room opens after signing in again at home).
    this.#disposers.push(effect(() => {
      const status = this.session.status.value;
      const route = this.router.route.value;
      if (status === "signedIn" && (route.name === "signIn" || route.name === "signUp")) {
        this.router.navigate({ name: "home" }, { replace: true });
      } else if (status === "signedOut" && route.name !== "signIn" && route.name !== "signUp") {
        this.router.navigate({ name: "signIn" }, { replace: true });
      }
    }));
  }

  /** Reads the stored session (call once, after the first render). */
  start(): void {
    this.session.restore();
  }

  /** Opens a room. */
  openRoom(roomId: string): void {
    this.router.navigate({ name: "room", roomId });
  }

  /** Goes to a screen that has no parameters. */
  go(name: "home" | "signIn" | "signUp" | "settings"): void {
    this.router.navigate({ name });
  }

  /** Stops the app's effects (tests). */
  dispose(): void {
    for (const dispose of this.#disposers.splice(0)) dispose();
  }
}
