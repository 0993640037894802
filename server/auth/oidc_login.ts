/**
 * Single sign-on with OpenID Connect (`[[auth.oidc]]`, docs/auth.md): the authorization code
 * flow with PKCE (S256), `state` and `nonce`, run by `openid-client` (loaded on first use). The
 * sign-in under way is kept in `["oidc_session", sha256(state)]` and bound to the browser that
 * started it by a cookie; the callback uses it once.
 *
 * @module
 */

import type { Configuration } from "openid-client";
import { constantTimeEqual, randomToken } from "../../crypto/tokens.ts";
import type { OidcProviderConfig } from "./auth_config.ts";
import type { Homeserver } from "../homeserver.ts";
import { secretHash } from "../store/kv_store.ts";
import { completeSsoStage, uiaSessionUser } from "../client/uia.ts";
import { externalIdKey, type ExternalIdRecord, provisionUser } from "./external_accounts.ts";

/** Where providers send the browser back to, under `public_base_url`. */
export const OIDC_CALLBACK_PATH = "/_gemeng/client/oidc/callback";
/** The cookie that ties a sign-in to the browser that started it. */
export const OIDC_COOKIE = "gemeng_oidc_session";
/** How long a sign-in may take at the provider. */
export const OIDC_SESSION_LIFETIME_MS = 10 * 60_000;

/** `["oidc_session", sha256hex(state)]` -> this record. */
export interface OidcSession {
  idpId: string;
  codeVerifier: string;
  nonce: string;
  redirectUrl: string;
  /** For user-interactive auth: the UIA session whose SSO stage this sign-in confirms. */
  uiaSession?: string;
  /** SHA-256 of the browser cookie's value. */
  browserHash: string;
  expiresTs: number;
}

/** A sign-in that cannot go on; `status` and the message go on the error page. */
export class SsoError extends Error {
  /** Always `SSO_FAILED`. */
  readonly code = "SSO_FAILED";
  /** The HTTP status of the page. */
  readonly status: 400 | 403 | 502;

  /**
   * @param status the HTTP status of the error page
   * @param message what the person can do about it
   */
  constructor(status: 400 | 403 | 502, message: string) {
    super(message);
    this.name = "SsoError";
    this.status = status;
  }
}

const discovered = new WeakMap<OidcProviderConfig, Promise<Configuration>>();

async function providerConfiguration(idp: OidcProviderConfig): Promise<Configuration> {
  let found = discovered.get(idp);
  if (!found) {
    found = (async () => {
      const client = await import("openid-client");
      return await client.discovery(
        new URL(idp.issuer),
        idp.clientId,
        idp.clientSecret || undefined,
        undefined,
        idp.allowInsecureHttp ? { execute: [client.allowInsecureRequests] } : undefined,
      );
    })();
    discovered.set(idp, found);
    // A provider that was down is asked again on the next sign-in.
    found.catch(() => discovered.delete(idp));
  }
  try {
    return await found;
  } catch (err) {
    console.warn(`auth.oidc ${idp.id}: discovery failed:`, err);
    throw new SsoError(502, `The sign-in service ${idp.name} cannot be reached; try again later.`);
  }
}

function callbackUrl(hs: Homeserver): string {
  return `${hs.config.http.publicBaseUrl}${OIDC_CALLBACK_PATH}`;
}

/**
 * Starts a sign-in at a provider: stores the session and returns the provider's authorization
 * URL and the browser cookie value.
 */
export async function startOidcLogin(
  hs: Homeserver,
  idp: OidcProviderConfig,
  target: { redirectUrl: string; uiaSession?: string },
): Promise<{ location: string; cookie: string }> {
  const config = await providerConfiguration(idp);
  const client = await import("openid-client");
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const cookie = randomToken(32);
  const session: OidcSession = {
    idpId: idp.id,
    codeVerifier,
    nonce,
    redirectUrl: target.redirectUrl,
    ...(target.uiaSession ? { uiaSession: target.uiaSession } : {}),
    browserHash: secretHash(cookie),
    expiresTs: Date.now() + OIDC_SESSION_LIFETIME_MS,
  };
  await hs.kv.set(["oidc_session", secretHash(state)], session, {
    expireIn: OIDC_SESSION_LIFETIME_MS,
  });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: callbackUrl(hs),
    scope: idp.scopes.join(" "),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  return { location: url.href, cookie };
}

function claimString(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** What a finished sign-in was for: a login, or the SSO stage of user-interactive auth. */
export type OidcOutcome =
  | { kind: "login"; userId: string; redirectUrl: string }
  | { kind: "uia"; userId: string };

/**
 * Finishes a sign-in on the provider's callback: takes the session of `state` (once), checks
 * the browser's cookie, exchanges the code (PKCE), validates the ID token (signature, issuer,
 * audience, expiry, nonce) and maps the claims to a local user, created on the first sign-in.
 *
 * @returns the user and where the client wants to go back to
 * @throws {SsoError} for anything that does not check out
 */
export async function finishOidcLogin(
  hs: Homeserver,
  query: URLSearchParams,
  cookie: string | undefined,
): Promise<OidcOutcome> {
  const state = query.get("state");
  if (!state || state.length > 512) throw new SsoError(400, "The sign-in response has no state.");
  const key = ["oidc_session", secretHash(state)];
  const entry = await hs.kv.get<OidcSession>(key);
  const session = entry.value;
  if (!session || session.expiresTs < Date.now()) {
    throw new SsoError(400, "This sign-in has expired or was already used; please start again.");
  }
  if (!(await hs.kv.atomic().check(entry).delete(key).commit()).ok) {
    throw new SsoError(400, "This sign-in was already used; please start again.");
  }
  if (!cookie || !constantTimeEqual(secretHash(cookie), session.browserHash)) {
    throw new SsoError(403, "This sign-in was started in another browser; please start again.");
  }
  const idp = hs.config.auth.oidc.find((provider) => provider.id === session.idpId);
  if (!idp) throw new SsoError(400, "This sign-in service is no longer configured.");
  const providerError = query.get("error");
  if (providerError) {
    throw new SsoError(403, `${idp.name} did not sign you in (${providerError.slice(0, 100)}).`);
  }
  const config = await providerConfiguration(idp);
  const client = await import("openid-client");
  const current = new URL(callbackUrl(hs));
  current.search = query.toString();
  let claims: Record<string, unknown>;
  try {
    const tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: session.codeVerifier,
      expectedState: state,
      expectedNonce: session.nonce,
      idTokenExpected: true,
    });
    claims = { ...tokens.claims() };
    const wanted = [idp.localpartClaim, idp.displayNameClaim];
    if (wanted.some((name) => claims[name] === undefined) && tokens.access_token) {
      // Providers often put profile claims only in the userinfo answer.
      const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
      claims = { ...info, ...claims };
    }
  } catch (err) {
    console.warn(`auth.oidc ${idp.id}: sign-in refused:`, err);
    throw new SsoError(403, `The answer of ${idp.name} did not check out; please start again.`);
  }
  const subject = claimString(claims, "sub");
  const localpart = claimString(claims, idp.localpartClaim);
  if (!subject || !localpart) {
    throw new SsoError(403, `${idp.name} did not say who you are ('${idp.localpartClaim}').`);
  }
  if (session.uiaSession !== undefined) {
    // Confirming who one is: the identity must already be linked to the session's user.
    const link = await hs.kv.get<ExternalIdRecord>(externalIdKey(`oidc:${idp.id}`, subject));
    const userId = await uiaSessionUser(hs, session.uiaSession);
    if (!userId || link.value?.userId !== userId) {
      throw new SsoError(403, `This ${idp.name} account is not the one signed in here.`);
    }
    if (!(await completeSsoStage(hs, session.uiaSession, userId))) {
      throw new SsoError(400, "The confirmation has expired; please start again.");
    }
    return { kind: "uia", userId };
  }
  try {
    const userId = await provisionUser(hs, {
      provider: `oidc:${idp.id}`,
      externalId: subject,
      localpart,
      displayName: claimString(claims, idp.displayNameClaim),
      // An address the provider says it has not verified is not taken.
      email: claims.email_verified === false ? undefined : claimString(claims, idp.emailClaim),
    }, { allowExisting: idp.allowExistingUsers });
    return { kind: "login", userId, redirectUrl: session.redirectUrl };
  } catch (err) {
    throw new SsoError(403, err instanceof Error ? err.message : String(err));
  }
}
