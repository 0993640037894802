/**
 * The routes and background work of `[auth]` (docs/auth.md): the SSO redirect and callback of
 * OpenID Connect providers, and the periodic LDAP directory check.
 *
 * @module
 */

import { Hono } from "hono";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { startDirectoryCheck } from "./ldap_login.ts";

/** Routes of SSO sign-in; starts the directory check when LDAP is on. */
export function authRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  startDirectoryCheck(hs);
  return app;
}
