/**
 * OpenID (spec: "OpenID"): `POST /v3/user/{userId}/openid/request_token` gives the signed-in
 * user a short-lived token that a third party (a widget, a MatrixRTC focus) checks with this
 * server's federation `GET /openid/userinfo` (`server/federation/openid.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { forbidden } from "../errors.ts";
import { issueOpenIdToken } from "../federation/openid.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, requireAuth } from "../request_context.ts";

/** Routes of the OpenID module. */
export function openIdRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    "/_matrix/client/v3/user/:userId/openid/request_token",
    requireAuth(hs),
    async (c) => {
      const userId = c.req.param("userId");
      if (userId !== c.var.auth.userId) {
        throw forbidden("You can only request OpenID tokens for yourself");
      }
      return c.json(await issueOpenIdToken(hs, userId));
    },
  );
  return app;
}
