/**
 * The way back from an identity provider: the app was opened with `?loginToken=`; the token is
 * removed from the address bar at once, then exchanged for a session. Loaded as its own chunk,
 * only on such a return.
 *
 * @module
 */

import type { AppModel } from "./app.ts";
import { AuthError } from "../matrix/auth.ts";
import { signInWithLoginToken, splitLoginToken, SSO_SERVER_KEY, ssoReturnProblem } from "./sso.ts";

/** Whether the page was opened by a provider's return. */
export function isSsoReturn(href: string): boolean {
  return new URL(href).searchParams.has("loginToken");
}

/**
 * Signs in with the page's login token; on failure the app starts as usual (a stored session
 * resumes, or the sign-in screen shows what went wrong).
 */
export async function finishSsoReturn(app: AppModel): Promise<void> {
  const { token, rest } = splitLoginToken(location.href);
  // The token is single-use, but it should not stay in history or bookmarks either.
  history.replaceState(history.state, "", rest);
  const server = sessionStorage.getItem(SSO_SERVER_KEY) ?? location.origin;
  sessionStorage.removeItem(SSO_SERVER_KEY);
  try {
    if (!token) throw new AuthError("badLogin", "no login token");
    app.session.begin(await signInWithLoginToken(server, token));
  } catch (err) {
    ssoReturnProblem.value = err instanceof AuthError && err.code === "badLogin"
      ? "sso.expired"
      : "sso.failed";
    app.start();
  }
}
