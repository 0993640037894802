/**
 * `POST /_matrix/client/v1/login/get_token` (v1.7): a signed-in device asks for a single-use,
 * short-lived `m.login.token` with which another device signs in as the same user. Mounted only
 * when `[auth.login_via_existing_session] enabled` (off by default, as in Synapse); otherwise
 * the path is 404 M_UNRECOGNIZED like any unknown one. See docs/auth.md.
 *
 * Each token needs its own user-interactive authentication (the spec: servers MUST re-prompt
 * for every additional client): the UIA session ends in the commit that stores the token, so a
 * session yields one token. Tokens are then limited per user by `[rate_limits.login_token]`
 * (one a minute by default, as the spec suggests); guests get 403 M_GUEST_ACCESS_FORBIDDEN
 * from the access check, as on every endpoint not open to them.
 *
 * @module
 */

import { Hono } from "hono";
import { skipsUia } from "../appservice/privileges.ts";
import { exemptFromRateLimits } from "../appservice/auth.ts";
import { issueLoginToken } from "../auth/login_token.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalObject } from "../http_util.ts";
import { type AppEnv, clientIp, readBody, requireAuth } from "../request_context.ts";
import { requireUia } from "./uia.ts";

/** The endpoint's path. */
export const GET_LOGIN_TOKEN_PATH = "/_matrix/client/v1/login/get_token";

/** The route of `POST /v1/login/get_token`, when `[auth.login_via_existing_session]` is on. */
export function loginGetTokenRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const options = hs.config.auth.loginViaExistingSession;
  if (!options.enabled) return app;

  app.post(GET_LOGIN_TOKEN_PATH, requireAuth(hs), async (c) => {
    const { userId } = c.var.auth;
    // The spec makes the body required; an empty one is read as `{}` (no `auth` yet).
    const body = await readBody(hs, c, { allowEmpty: true });
    const auth = optionalObject(body, "auth");
    const outcome = !options.requireUia || skipsUia(c) ? null : await requireUia(hs, auth, {
      purpose: "get_login_token",
      userId,
      flows: [["m.login.password"]],
      ip: clientIp(c),
    });
    // After UIA, as Synapse does: only tokens about to be issued count.
    const caller = { registration: c.get("appservice"), userId };
    if (!exemptFromRateLimits(caller)) hs.rateLimiter.check("loginToken", `\u0000${userId}`);
    const loginToken = await issueLoginToken(hs, userId, {
      lifetimeMs: options.tokenLifetimeMs,
      prepare: (op) => {
        if (!outcome) return;
        op.check({ key: outcome.sessionKey, versionstamp: outcome.session.versionstamp });
        op.delete(outcome.sessionKey);
      },
    });
    return c.json({ login_token: loginToken, expires_in_ms: options.tokenLifetimeMs });
  });

  return app;
}
