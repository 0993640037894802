/**
 * The app's routes: a signal holding the current {@link Route}, parsed from the location path,
 * and navigation through the History API. The server answers every path here with the app
 * (see `APP_PATHS` in server/web_assets.ts); keep the two lists in step.
 *
 * @module
 */

import { computed, type ReadonlySignal, type Signal, signal } from "@preact/signals";

/** Where the user is. */
export type Route =
  | { name: "home" }
  | { name: "signIn" }
  | { name: "signUp" }
  | { name: "settings" }
  | { name: "admin"; section: string }
  | { name: "room"; roomId: string };

/** Parses a location path; unknown paths are `home`. */
export function parseRoute(path: string): Route {
  if (path === "/sign-in") return { name: "signIn" };
  if (path === "/sign-up") return { name: "signUp" };
  if (path === "/settings") return { name: "settings" };
  const admin = /^\/admin(?:\/([a-z_]+))?$/.exec(path);
  if (admin) return { name: "admin", section: admin[1] ?? "" };
  const room = /^\/rooms\/([^/]+)$/.exec(path);
  if (room) {
    try {
      return { name: "room", roomId: decodeURIComponent(room[1]) };
    } catch {
      return { name: "home" };
    }
  }
  return { name: "home" };
}

/** The path of a route. */
export function routePath(route: Route): string {
  switch (route.name) {
    case "home":
      return "/";
    case "signIn":
      return "/sign-in";
    case "signUp":
      return "/sign-up";
    case "settings":
      return "/settings";
    case "admin":
      return route.section ? `/admin/${route.section}` : "/admin";
    case "room":
      return `/rooms/${encodeURIComponent(route.roomId)}`;
  }
}

/** The browser surface the router needs (the window in the app). */
export interface RouterHost {
  location: { pathname: string };
  history: {
    pushState(data: unknown, unused: string, url: string): void;
    replaceState(data: unknown, unused: string, url: string): void;
  };
  addEventListener(type: "popstate", listener: () => void): void;
}

/** The router model. */
export class Router {
  readonly #route: Signal<Route>;
  readonly #host: RouterHost;
  /** The current route. */
  readonly route: ReadonlySignal<Route>;

  constructor(host: RouterHost) {
    this.#host = host;
    this.#route = signal<Route>(parseRoute(host.location.pathname));
    this.route = computed(() => this.#route.value);
    host.addEventListener("popstate", () => {
      this.#route.value = parseRoute(host.location.pathname);
    });
  }

  /** Goes to a route (a new history entry unless `replace`). */
  navigate(route: Route, options: { replace?: boolean } = {}): void {
    const path = routePath(route);
    if (path !== this.#host.location.pathname) {
      if (options.replace) this.#host.history.replaceState(null, "", path);
      else this.#host.history.pushState(null, "", path);
    }
    this.#route.value = route;
  }
}
