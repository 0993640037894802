/**
 * Inbound request authentication (Server-Server API, "Request Authentication"): every
 * `/_matrix/federation/*` request but the few the spec leaves open must carry an `X-Matrix`
 * signature by a current key of its origin, over its method, URI, origin, our name and body.
 *
 * In order: the header parses, its `destination` (when present) is us, the origin is allowed
 * (`federation.allow`), the sending address is within its rate limit, the body is at most
 * {@link MAX_FEDERATION_BODY_BYTES} and a JSON object, the origin's key is known (fetched when
 * not), the signature verifies, and the origin is within its own rate limit (counted only for
 * verified requests, so forgeries cannot spend it). Failures are 401 M_UNAUTHORIZED, except a refused origin
 * (403 M_FORBIDDEN), too many requests (429) and a bad body (413, 400).
 *
 * Handlers read the authenticated origin with {@link authenticatedOrigin} and the parsed body
 * with {@link federationContent}.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { parseXMatrix, verifyRequest, XMatrixParseError } from "../../federation/request_auth.ts";
import { forbidden, MatrixError, notJson } from "../errors.ts";
import { type JsonObject, readJsonObject } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp } from "../request_context.ts";

/**
 * Largest inbound federation body. A transaction holds at most 50 PDUs of at most 64 KiB and
 * 100 EDUs, so 8 MiB leaves room for EDUs and JSON overhead; Synapse's own bound is similar.
 */
export const MAX_FEDERATION_BODY_BYTES = 8 * 1024 * 1024;

/** Federation paths the spec serves without request signatures. */
const UNAUTHENTICATED = [
  /^\/_matrix\/federation\/v1\/version\/?$/,
  /^\/_matrix\/federation\/v1\/openid\/userinfo\/?$/,
];

function unauthorized(message: string): MatrixError {
  return new MatrixError("M_UNAUTHORIZED", message, { status: 401 });
}

/** The origin server of an authenticated federation request. */
export function authenticatedOrigin(c: Context<AppEnv>): string {
  const request = c.get("fedRequest");
  if (!request) throw new Error("authenticatedOrigin outside requireServerAuth");
  return request.origin;
}

/**
 * The parsed JSON body of an authenticated federation request (undefined for requests without
 * a body, such as GET). The body stream itself is already read.
 */
export function federationContent(c: Context<AppEnv>): JsonObject | undefined {
  const request = c.get("fedRequest");
  if (!request) throw new Error("federationContent outside requireServerAuth");
  return request.content;
}

/** Middleware authenticating `/_matrix/federation/*` requests (see the module comment). */
export function requireServerAuth(hs: Homeserver): MiddlewareHandler<AppEnv> {
  const serverName = hs.config.serverName;
  return async (c, next) => {
    const url = new URL(c.req.raw.url);
    if (UNAUTHENTICATED.some((path) => path.test(url.pathname))) return await next();
    const header = c.req.header("authorization");
    if (!header) throw unauthorized("Missing X-Matrix authorization");
    let auth;
    try {
      auth = parseXMatrix(header);
    } catch (err) {
      if (err instanceof XMatrixParseError) throw unauthorized(err.message);
      throw err;
    }
    if (auth.destination !== undefined && auth.destination !== serverName) {
      throw unauthorized(`The request is for ${auth.destination}, not ${serverName}`);
    }
    if (auth.origin === serverName) throw unauthorized("The request claims to come from us");
    if (!hs.federation.client.isAllowed(auth.origin)) {
      throw forbidden(`${auth.origin} is not allowed to federate with this server`);
    }
    hs.federation.rateLimiter.check("address", clientIp(c));
    let content: JsonObject | undefined;
    const method = c.req.method;
    const declared = c.req.header("content-length");
    if (method === "POST" || method === "PUT" || (declared !== undefined && declared !== "0")) {
      content = await readJsonObject(c.req.raw, {
        maxBytes: MAX_FEDERATION_BODY_BYTES,
        allowEmpty: method !== "POST" && method !== "PUT",
      });
      if (method !== "POST" && method !== "PUT" && Object.keys(content).length === 0) {
        content = undefined;
      }
    }
    const publicKey = await hs.federation.keys.verifyKey(auth.origin, auth.key, {
      currentOnly: true,
    });
    if (!publicKey) {
      throw unauthorized(`Unknown or expired key ${auth.key} of ${auth.origin}`);
    }
    const valid = await verifyRequest(
      { method, uri: `${url.pathname}${url.search}`, destination: serverName, content },
      auth,
      publicKey,
    );
    if (!valid) throw unauthorized("The X-Matrix signature does not match the request");
    hs.federation.rateLimiter.check("origin", auth.origin);
    c.set("fedRequest", { origin: auth.origin, content });
    // It reached us, so it is up: end any backoff our sender holds against it.
    hs.sender.destinationUp(auth.origin);
    await next();
  };
}

/** Reads a federation body that must be present (POST, PUT). */
export function requiredContent(c: Context<AppEnv>): JsonObject {
  const content = federationContent(c);
  if (content === undefined) throw notJson("The request needs a JSON object body");
  return content;
}
