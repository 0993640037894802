/**
 * Push rules API (spec: "Push Rules: API"): `GET /v3/pushrules/`, `GET /v3/pushrules/global/`,
 * `GET /v3/pushrules/global/{kind}/` (the rules of one kind, as Synapse answers), and
 * `GET|PUT|DELETE /v3/pushrules/global/{kind}/{ruleId}` with `/enabled` and `/actions`.
 * Any other path under `/pushrules/` (another scope, a missing rule ID, an unknown attribute)
 * is a 400 `M_UNRECOGNIZED`, as Synapse answers it. Storage and ordering live in
 * `server/push/rules_store.ts`.
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, unrecognized } from "../errors.ts";
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
  for (const path of [`${base}/global/`, `${base}/global`]) {
    app.get(path, auth, async (c) => c.json(await loadPushRules(hs, c.var.auth.userId)));
  }

  for (const path of [`${base}/global/:kind/`, `${base}/global/:kind`]) {
    app.get(path, auth, async (c) => {
      const kind = parsePushKind(c.req.param("kind") ?? "");
      return c.json((await loadPushRules(hs, c.var.auth.userId))[kind]);
    });
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

  // Registered last: whatever the routes above did not take is a malformed rule path.
  app.on(["GET", "PUT", "DELETE"], [base, `${base}/*`], auth, () => {
    throw unrecognized("Malformed push rule path: rules live under /pushrules/global/", 400);
  });

  return app;
}
