/**
 * The routes and background work of `[auth]` (docs/auth.md): the SSO redirect and callback of
 * OpenID Connect providers (`/login/sso/redirect[/{idpId}]`), the SSO fallback page of
 * user-interactive auth (`/auth/m.login.sso/fallback/web`), and the periodic LDAP directory
 * check.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { OidcProviderConfig } from "./auth_config.ts";
import { MatrixError, missingParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { getUser } from "../store/accounts.ts";
import { type AppEnv, rateLimit } from "../request_context.ts";
import { startDirectoryCheck } from "./ldap_login.ts";
import { issueLoginToken } from "./login_token.ts";
import {
  finishOidcLogin,
  OIDC_CALLBACK_PATH,
  OIDC_COOKIE,
  OIDC_SESSION_LIFETIME_MS,
  type OidcOutcome,
  SsoError,
  startOidcLogin,
} from "./oidc_login.ts";
import { confirmedPage, confirmPage, errorPage, PAGE_HEADERS, pickerPage } from "./sso_pages.ts";
import { randomToken } from "../../crypto/tokens.ts";
import { SSO_STAGE, uiaSessionUser } from "../client/uia.ts";

/** Longest accepted `redirectUrl`. */
const MAX_REDIRECT_URL_LENGTH = 2048;
/** Schemes a session must never be handed to. */
const UNSAFE_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:"]);

/**
 * Checks a client's `redirectUrl`: a URL of a scheme that can carry a client (http(s) or an
 * app's own scheme), at most 2 KiB.
 *
 * @throws {MatrixError} M_MISSING_PARAM or M_INVALID_PARAM
 */
export function checkRedirectUrl(value: string | undefined): URL {
  if (value === undefined || value === "") throw missingParam("redirectUrl");
  let url: URL;
  try {
    if (value.length > MAX_REDIRECT_URL_LENGTH) throw new Error("too long");
    url = new URL(value);
  } catch {
    throw new MatrixError(
      "M_INVALID_PARAM",
      "'redirectUrl' must be an absolute URL of at most 2 KiB",
    );
  }
  if (UNSAFE_SCHEMES.has(url.protocol)) {
    throw new MatrixError("M_INVALID_PARAM", `'redirectUrl' may not use ${url.protocol}`);
  }
  return url;
}

/**
 * Whether SSO may return to `url` without asking: the web app under `public_base_url`, or a
 * prefix of `[auth] sso_client_allowlist`. Other clients get a confirmation page first, as in
 * Synapse (`sso.client_whitelist`).
 */
export function isTrustedRedirect(hs: Homeserver, url: URL): boolean {
  const base = hs.config.http.publicBaseUrl;
  const prefixes = [`${base}/`, ...hs.config.auth.ssoClientAllowlist];
  const href = url.href;
  return href === base || prefixes.some((prefix) => href.startsWith(prefix));
}

function htmlPage(c: Context<AppEnv>, html: string, status: 200 | 400 | 403 | 502 = 200) {
  return c.body(html, status, PAGE_HEADERS);
}

async function redirectToProvider(
  hs: Homeserver,
  c: Context<AppEnv>,
  options: { idp: OidcProviderConfig; uiaSession?: string },
): Promise<Response> {
  // Each start stores a sign-in session: limited like password logins, so that unauthenticated
  // requests cannot fill the database.
  rateLimit(hs, c, "login");
  const target = options.uiaSession
    ? { redirectUrl: "", uiaSession: options.uiaSession }
    : { redirectUrl: checkRedirectUrl(c.req.query("redirectUrl")).href };
  let started: { location: string; cookie: string };
  try {
    started = await startOidcLogin(hs, options.idp, target);
  } catch (err) {
    if (err instanceof SsoError) return htmlPage(c, errorPage(err.message), err.status);
    throw err;
  }
  const secure = hs.config.http.publicBaseUrl.startsWith("https:");
  setCookie(c, OIDC_COOKIE, started.cookie, {
    path: OIDC_CALLBACK_PATH,
    httpOnly: true,
    secure,
    // The provider sends the browser back with a top-level GET from its own site.
    sameSite: "Lax",
    maxAge: OIDC_SESSION_LIFETIME_MS / 1000,
  });
  c.header("Cache-Control", "no-store");
  return c.redirect(started.location, 302);
}

/** Routes of SSO sign-in; starts the directory check when LDAP is on. */
export function authRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  startDirectoryCheck(hs);
  const providers = hs.config.auth.oidc;
  if (providers.length === 0) return app;

  app.get("/_matrix/client/v3/login/sso/redirect", (c) => {
    const redirectUrl = checkRedirectUrl(c.req.query("redirectUrl"));
    if (providers.length === 1) return redirectToProvider(hs, c, { idp: providers[0] });
    const base = hs.config.http.publicBaseUrl;
    return Promise.resolve(htmlPage(
      c,
      pickerPage(providers.map((idp) => ({
        name: idp.name,
        href: `${base}/_matrix/client/v3/login/sso/redirect/${encodeURIComponent(idp.id)}` +
          `?redirectUrl=${encodeURIComponent(redirectUrl.href)}`,
      }))),
    ));
  });

  app.get("/_matrix/client/v3/login/sso/redirect/:idpId", (c) => {
    const idp = providers.find((provider) => provider.id === c.req.param("idpId"));
    if (!idp) throw notFound("Unknown identity provider");
    return redirectToProvider(hs, c, { idp });
  });

  // User-interactive auth for accounts without a password: confirm with the provider.
  app.get(`/_matrix/client/v3/auth/${SSO_STAGE}/fallback/web`, async (c) => {
    const session = c.req.query("session");
    if (!session) throw missingParam("session");
    if (!(await uiaSessionUser(hs, session))) {
      return htmlPage(c, errorPage("This confirmation has expired; please start again."), 400);
    }
    const chosen = c.req.query("idp");
    const idp = providers.length === 1
      ? providers[0]
      : providers.find((provider) => provider.id === chosen);
    if (idp) return redirectToProvider(hs, c, { idp, uiaSession: session });
    const base = `${hs.config.http.publicBaseUrl}/_matrix/client/v3/auth/${SSO_STAGE}/fallback/web`;
    return htmlPage(
      c,
      pickerPage(providers.map((provider) => ({
        name: provider.name,
        href: `${base}?session=${encodeURIComponent(session)}&idp=${
          encodeURIComponent(provider.id)
        }`,
      }))),
    );
  });

  app.get(OIDC_CALLBACK_PATH, async (c) => {
    rateLimit(hs, c, "login");
    const query = new URL(c.req.url).searchParams;
    let done: OidcOutcome;
    try {
      done = await finishOidcLogin(hs, query, getCookie(c, OIDC_COOKIE));
    } catch (err) {
      if (err instanceof SsoError) return htmlPage(c, errorPage(err.message), err.status);
      throw err;
    }
    setCookie(c, OIDC_COOKIE, "", { path: OIDC_CALLBACK_PATH, maxAge: 0 });
    if (done.kind === "uia") {
      const nonce = randomToken(16);
      return c.body(confirmedPage(nonce), 200, {
        ...PAGE_HEADERS,
        "Content-Security-Policy": `${
          PAGE_HEADERS["Content-Security-Policy"]
        }; script-src 'nonce-${nonce}'`,
      });
    }
    const user = await getUser(hs.kv, done.userId);
    if (!user || user.deactivated) {
      return htmlPage(c, errorPage("This account has been deactivated."), 403);
    }
    const target = new URL(done.redirectUrl);
    target.searchParams.set("loginToken", await issueLoginToken(hs, done.userId));
    if (isTrustedRedirect(hs, target)) {
      c.header("Cache-Control", "no-store");
      c.header("Referrer-Policy", "no-referrer");
      return c.redirect(target.href, 302);
    }
    return htmlPage(
      c,
      confirmPage({
        target: target.href,
        host: target.host || target.protocol,
        serverName: hs.config.serverName,
      }),
    );
  });

  return app;
}
