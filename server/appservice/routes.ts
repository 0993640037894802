/**
 * The Client-Server API parts of application services: the ping
 * (`POST /v1/appservice/{appserviceId}/ping`), the services' room directories
 * (`PUT /v3/directory/list/appservice/{networkId}/{roomId}`), the third-party lookups
 * (`/v3/thirdparty/*`), and the checks that run before other modules' routes: exclusive alias
 * namespaces, and the user and alias queries to a service when a client names a user or alias
 * of its namespace that does not exist yet (profile lookups, invites, `createRoom` invites,
 * alias resolution and joins by alias).
 *
 * Mounting this module also starts the delivery of events to the services (queue.ts).
 *
 * @module
 */

import { type Context, Hono, type Next } from "hono";
import { isValidRoomAlias, isValidUserId } from "../../federation/identifiers.ts";
import { forbidden, invalidParam, jsonResponse, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { optionalString } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import { getUser } from "../store/accounts.ts";
import { roomKeys } from "../rooms/schema.ts";
import { exclusiveError } from "./auth.ts";
import { matchesNamespace } from "./registration.ts";
import { callAppservice, peekJsonObject } from "./client.ts";
import { AppserviceDelivery } from "./queue.ts";
import { APP_V1, type Appservices, appservicesOf } from "./registry.ts";
import { allProtocols, lookup, requireProtocol } from "./thirdparty.ts";

const V1 = "/_matrix/client/v1";
const V3 = "/_matrix/client/v3";
/** Query parameters passed on to a service's third-party lookup at most. */
const MAX_LOOKUP_FIELDS = 50;

/** Routes of application services (and the start of their event delivery). */
export function appserviceRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const services = appservicesOf(hs);
  if (services.list.length > 0) {
    const delivery = new AppserviceDelivery(hs, services.list);
    delivery.start();
    hs.addCloseHook(() => delivery.close());
  }
  const auth = requireAuth(hs);

  app.post(`${V1}/appservice/:appserviceId/ping`, auth, async (c) => {
    const reg = c.var.appservice;
    if (!reg || reg.id !== c.req.param("appserviceId")) {
      throw forbidden("Only the application service itself may ping it");
    }
    const body = await readBody(hs, c, { allowEmpty: true });
    const txnId = optionalString(body, "transaction_id", { maxBytes: 255 });
    if (reg.url === null) {
      throw new MatrixError("M_URL_NOT_SET", "The application service has no URL configured");
    }
    const started = performance.now();
    const answer = await callAppservice(reg, `${APP_V1}/ping`, {
      method: "POST",
      body: txnId === undefined ? {} : { transaction_id: txnId },
      timeoutMs: 15_000,
    });
    if (answer.ok) return jsonResponse({ duration_ms: Math.round(performance.now() - started) });
    if (answer.status === 0) {
      const timedOut = /timed? ?out|abort/i.test(answer.error ?? "");
      throw new MatrixError(
        timedOut ? "M_CONNECTION_TIMEOUT" : "M_CONNECTION_FAILED",
        `The application service could not be reached: ${answer.error}`,
        { status: timedOut ? 504 : 502 },
      );
    }
    throw new MatrixError("M_BAD_STATUS", `The application service answered ${answer.status}`, {
      status: 502,
      extra: { status: answer.status, body: JSON.stringify(answer.body ?? "") },
    });
  });

  app.put(`${V3}/directory/list/appservice/:networkId/:roomId`, auth, async (c) => {
    const reg = c.var.appservice;
    if (!reg) throw forbidden("Only application services may use their room directories");
    const body = await readBody(hs, c);
    const visibility = optionalString(body, "visibility");
    if (visibility !== "public" && visibility !== "private") {
      throw invalidParam("'visibility' must be 'public' or 'private'");
    }
    const roomId = c.req.param("roomId");
    if (!(await hs.rooms.room(roomId))) throw notFound(`Room ${roomId} not found`);
    const key = ["appservice", "room_list", reg.id, c.req.param("networkId"), roomId];
    if (visibility === "public") await hs.kv.set(key, { since: Date.now() });
    else await hs.kv.delete(key);
    return jsonResponse({});
  });

  app.get(`${V3}/thirdparty/protocols`, auth, async () => {
    return jsonResponse(await allProtocols(services.list));
  });
  app.get(`${V3}/thirdparty/protocol/:protocol`, auth, async (c) => {
    return jsonResponse(await requireProtocol(services.list, c.req.param("protocol")));
  });
  for (const kind of ["location", "user"] as const) {
    app.get(`${V3}/thirdparty/${kind}/:protocol`, auth, async (c) => {
      const protocol = c.req.param("protocol");
      if (!services.list.some((reg) => reg.protocols.includes(protocol))) {
        throw notFound(`No application service here bridges the protocol '${protocol}'`);
      }
      return jsonResponse(await lookup(services.list, kind, { protocol, query: lookupQuery(c) }));
    });
    app.get(`${V3}/thirdparty/${kind}`, auth, async (c) => {
      const param = kind === "location" ? "alias" : "userid";
      const value = c.req.query(param);
      if (value === undefined) {
        throw new MatrixError("M_MISSING_PARAM", `Missing the '${param}' query parameter`);
      }
      const query = new URLSearchParams({ [param]: value });
      return jsonResponse(await lookup(services.list, kind, { query }));
    });
  }

  if (services.list.length === 0) return app;

  // Checks ahead of other modules' routes (this module is mounted before them).
  app.use(`${V3}/directory/room/:roomAlias`, (c, next) => aliasGate(hs, services, c, next));
  app.use(`${V3}/join/:roomIdOrAlias`, async (c, next) => {
    const target = c.req.param("roomIdOrAlias") ?? "";
    if (c.req.method === "POST" && target.startsWith("#")) await ensureAlias(hs, services, target);
    await next();
  });
  // Hono's `/*` also matches the bare `/profile/{userId}`: one middleware covers both.
  app.use(`${V3}/profile/:userId/*`, (c, next) => userGate(hs, services, c, next));
  app.use(`${V3}/rooms/:roomId/invite`, async (c, next) => {
    if (c.req.method === "POST") {
      const userId = (await peekJsonObject(c.req.raw, hs.config.limits.maxRequestBody))?.user_id;
      if (typeof userId === "string") await ensureUser(hs, services, userId);
    }
    await next();
  });
  app.use(`${V3}/createRoom`, async (c, next) => {
    if (c.req.method !== "POST") return await next();
    const body = await peekJsonObject(c.req.raw, hs.config.limits.maxRequestBody);
    const name = body?.room_alias_name;
    if (typeof name === "string") {
      await auth(c, () => Promise.resolve());
      checkAliasClaim(services, c, `#${name}:${hs.config.serverName}`);
    }
    if (Array.isArray(body?.invite)) {
      for (const userId of body.invite.slice(0, 100)) {
        if (typeof userId === "string") await ensureUser(hs, services, userId);
      }
    }
    await next();
  });
  return app;
}

/** Creating or deleting an alias in an exclusive namespace is for its service alone. */
async function aliasGate(
  hs: Homeserver,
  services: Appservices,
  c: Context<AppEnv>,
  next: Next,
): Promise<void> {
  const alias = c.req.param("roomAlias") ?? "";
  if (c.req.method === "GET") {
    await ensureAlias(hs, services, alias);
  } else if ((c.req.method === "PUT" || c.req.method === "DELETE") && isValidRoomAlias(alias)) {
    await requireAuth(hs)(c, () => Promise.resolve());
    checkAliasClaim(services, c, alias);
  }
  await next();
}

/**
 * An alias in an exclusive namespace is its service's alone; a service (or a user it
 * masquerades as) writes only the aliases of its own namespace (Synapse does the same).
 */
function checkAliasClaim(services: Appservices, c: Context<AppEnv>, alias: string): void {
  const caller = c.var.appservice;
  if (caller && !matchesNamespace(caller, "aliases", alias)) {
    throw exclusiveError(`${alias} is outside the application service's namespace`, 400);
  }
  const owner = services.exclusiveOwnerOfAlias(alias);
  if (owner && c.var.appservice?.id !== owner.id) {
    throw exclusiveError(`${alias} is reserved by an application service`, 400);
  }
}

const userGate = async (
  hs: Homeserver,
  services: Appservices,
  c: Context<AppEnv>,
  next: Next,
): Promise<void> => {
  if (c.req.method === "GET") await ensureUser(hs, services, c.req.param("userId") ?? "");
  await next();
};

/** Asks the services about a user of their namespace that is not registered (yet). */
async function ensureUser(hs: Homeserver, services: Appservices, userId: string): Promise<void> {
  if (!isValidUserId(userId, { historical: true })) return;
  if (!services.list.some((reg) => reg.namespaces.users.length > 0)) return;
  if (await getUser(hs.kv, userId)) return;
  await services.queryUser(userId);
}

/** Asks the services about a local alias of their namespace that does not exist (yet). */
async function ensureAlias(hs: Homeserver, services: Appservices, alias: string): Promise<void> {
  if (!isValidRoomAlias(alias) || !alias.endsWith(`:${hs.config.serverName}`)) return;
  if (await hs.kv.get(roomKeys.alias(alias)).then((e) => e.value !== null)) return;
  await services.queryAlias(alias);
}

/** The client's lookup fields, passed on (without its access token). */
function lookupQuery(c: Context<AppEnv>): URLSearchParams {
  const query = new URLSearchParams();
  let n = 0;
  for (const [key, value] of new URL(c.req.url).searchParams) {
    if (key === "access_token" || key === "user_id" || key === "device_id") continue;
    if (++n > MAX_LOOKUP_FIELDS) throw invalidParam(`At most ${MAX_LOOKUP_FIELDS} fields`);
    if (key.length > 255 || value.length > 1024) throw invalidParam("A lookup field is too long");
    query.append(key, value);
  }
  return query;
}
