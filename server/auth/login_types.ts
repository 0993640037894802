/**
 * The login types of `[auth]` as `GET/POST /_matrix/client/v3/login` offers them: JWT, SSO
 * (OpenID Connect providers) and the `m.login.token` that SSO returns with (or that
 * `POST /v1/login/get_token` issues). See docs/auth.md.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { JsonObject } from "../http_util.ts";
import { JWT_LOGIN_TYPE, jwtLoginUser } from "./jwt_login.ts";
import { TOKEN_LOGIN_TYPE, tokenLoginUser } from "./login_token.ts";

/** The flows `[auth]` adds to `GET /login`. */
export function authLoginFlows(hs: Homeserver): JsonObject[] {
  const auth = hs.config.auth;
  const flows: JsonObject[] = [];
  if (auth.jwt.enabled) flows.push({ type: JWT_LOGIN_TYPE });
  if (auth.oidc.length > 0) {
    flows.push({
      type: "m.login.sso",
      identity_providers: auth.oidc.map((idp) => ({
        id: idp.id,
        name: idp.name,
        ...(idp.icon ? { icon: idp.icon } : {}),
      })),
    });
  }
  // Tokens come from SSO and, when it is on, from `POST /v1/login/get_token`.
  const getLoginToken = auth.loginViaExistingSession.enabled;
  if (auth.oidc.length > 0 || getLoginToken) {
    flows.push({ type: TOKEN_LOGIN_TYPE, ...(getLoginToken ? { get_login_token: true } : {}) });
  }
  return flows;
}

/**
 * Verifies a login of an `[auth]` type and returns the user it signs in (created on the first
 * login where the type does that), or null when `type` is none of them.
 */
export async function authLoginUser(
  hs: Homeserver,
  type: string,
  body: JsonObject,
): Promise<string | null> {
  if (type === JWT_LOGIN_TYPE) return await jwtLoginUser(hs, body);
  if (type === TOKEN_LOGIN_TYPE) return await tokenLoginUser(hs, body);
  return null;
}
