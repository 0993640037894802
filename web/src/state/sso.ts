/**
 * Single sign-on in the web app: which identity providers the server offers (`m.login.sso` in
 * `GET /login`), where their buttons lead (`/login/sso/redirect/{idpId}` with this page as
 * `redirectUrl`), and the way back: the `loginToken` in the address is exchanged for a session
 * (`m.login.token`) and removed from the address bar. Loaded as its own chunk.
 *
 * @module
 */

import { signal } from "@preact/signals";
import type { SsoKey } from "../i18n/sso.ts";
import { AuthError, type Credentials, DEVICE_DISPLAY_NAME, toAuthError } from "../matrix/auth.ts";

/** An identity provider as the server lists it. */
export interface IdentityProvider {
  id: string;
  name: string;
}

/** Why the last return from a provider did not sign in (shown on the sign-in screen). */
export const ssoReturnProblem = signal<SsoKey | null>(null);

/** Where the app remembers which server a sign-in went to, across the provider's pages. */
export const SSO_SERVER_KEY = "gemeng.sso.server";

/** The providers of `m.login.sso` in the server's login flows (none when it has no SSO). */
export async function identityProviders(homeserverUrl: string): Promise<IdentityProvider[]> {
  const res = await fetch(`${homeserverUrl}/_matrix/client/v3/login`);
  if (!res.ok) return [];
  const body = await res.json();
  const flows: unknown[] = Array.isArray(body?.flows) ? body.flows : [];
  const sso = flows.find((flow) => (flow as { type?: unknown })?.type === "m.login.sso") as {
    identity_providers?: unknown[];
  } | undefined;
  return (sso?.identity_providers ?? []).flatMap((idp) => {
    const { id, name } = (idp ?? {}) as { id?: unknown; name?: unknown };
    return typeof id === "string" && id !== ""
      ? [{ id, name: typeof name === "string" && name !== "" ? name : id }]
      : [];
  });
}

/** The address that starts a sign-in at `idpId` and comes back to `returnTo`. */
export function ssoRedirectUrl(homeserverUrl: string, idpId: string, returnTo: string): string {
  return `${homeserverUrl}/_matrix/client/v3/login/sso/redirect/${encodeURIComponent(idpId)}` +
    `?redirectUrl=${encodeURIComponent(returnTo)}`;
}

/** The `loginToken` of an address and the address without it. */
export function splitLoginToken(href: string): { token: string | null; rest: string } {
  const url = new URL(href);
  const token = url.searchParams.get("loginToken");
  url.searchParams.delete("loginToken");
  return { token, rest: `${url.pathname}${url.search}${url.hash}` };
}

/** Exchanges a login token for a session. */
export async function signInWithLoginToken(
  homeserverUrl: string,
  token: string,
): Promise<Credentials> {
  let res: Response;
  try {
    res = await fetch(`${homeserverUrl}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        type: "m.login.token",
        token,
        initial_device_display_name: DEVICE_DISPLAY_NAME,
      }),
    });
  } catch (err) {
    throw new AuthError("unreachable", String(err));
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw toAuthError({ errcode: body?.errcode, httpStatus: res.status, message: body?.error });
  }
  return {
    homeserverUrl,
    userId: body.user_id,
    deviceId: body.device_id,
    accessToken: body.access_token,
  };
}
