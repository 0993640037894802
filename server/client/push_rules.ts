/**
 * Push rules API (spec: "Push Rules: API"): `GET /v3/pushrules/`, `GET /v3/pushrules/global/`,
 * and `GET|PUT|DELETE /v3/pushrules/global/{kind}/{ruleId}` with `/enabled` and `/actions`.
 * Storage and ordering live in `server/push/rules_store.ts`.
 *
 * @module
 */

import { Hono } from "hono";
import { badJson } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import {
  deleteRule,
  findRule,
  loadPushRules,
  parseActions,
  parsePushKind,
  putRule,
  setRuleAttribute,
} from "../push/rules_store.ts";

/** Routes of the push rules API. */
export function pushRulesRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const base = "/_matrix/client/v3/pushrules";
  const auth = requireAuth(hs);

  const all = async (c: { var: AppEnv["Variables"]; json: (v: unknown) => Response }) =>
    c.json({ global: await loadPushRules(hs, c.var.auth.userId) });
  app.get(`${base}/`, auth, (c) => all(c));
  app.get(base, auth, (c) => all(c));
  for (const path of [`${base}/global/`, `${base}/global`]) {
    app.get(path, auth, async (c) => c.json(await loadPushRules(hs, c.var.auth.userId)));
  }

  const rulePath = `${base}/global/:kind/:ruleId`;
  app.get(rulePath, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    const ruleset = await loadPushRules(hs, c.var.auth.userId);
    return c.json(findRule(ruleset, kind, c.req.param("ruleId")));
  });

  app.put(rulePath, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    const body = await readBody(hs, c);
    await putRule(hs, c.var.auth.userId, {
      kind,
      ruleId: c.req.param("ruleId"),
      body,
      before: c.req.query("before") || undefined,
      after: c.req.query("after") || undefined,
    });
    return c.json({});
  });

  app.delete(rulePath, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    await deleteRule(hs, c.var.auth.userId, { kind, ruleId: c.req.param("ruleId") });
    return c.json({});
  });

  app.get(`${rulePath}/enabled`, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    const ruleset = await loadPushRules(hs, c.var.auth.userId);
    return c.json({ enabled: findRule(ruleset, kind, c.req.param("ruleId")).enabled });
  });

  app.put(`${rulePath}/enabled`, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    const body = await readBody(hs, c);
    if (typeof body.enabled !== "boolean") throw badJson("'enabled' must be true or false");
    await setRuleAttribute(hs, c.var.auth.userId, { kind, ruleId: c.req.param("ruleId") }, {
      enabled: body.enabled,
    });
    return c.json({});
  });

  app.get(`${rulePath}/actions`, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    const ruleset = await loadPushRules(hs, c.var.auth.userId);
    return c.json({ actions: findRule(ruleset, kind, c.req.param("ruleId")).actions });
  });

  app.put(`${rulePath}/actions`, auth, async (c) => {
    const kind = parsePushKind(c.req.param("kind"));
    const body = await readBody(hs, c);
    const actions = parseActions(body.actions);
    await setRuleAttribute(hs, c.var.auth.userId, { kind, ruleId: c.req.param("ruleId") }, {
      actions,
    });
    return c.json({});
  });

  return app;
}
