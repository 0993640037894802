/**
 * The older path prefixes, served as aliases of today's: `/_matrix/client/r0/...` (spec r0.6.1,
 * still used by clients such as matrix-nio 0.20), `/_matrix/client/api/v1/...` (the pre-r0
 * prefix, for the endpoints Synapse still answers on it) and `/_matrix/media/r0/...`.
 *
 * One mechanism: the app's `getPath` ({@link legacyAwarePath}) rewrites an old prefix to
 * `/_matrix/client/v3` (or `/_matrix/media/v3`) before routing, when the method and the rest
 * of the path are in that prefix's allow-list. Everything after routing (path parameter
 * checks, handlers, the 404/405 answers) then sees the v3 path. A path that is not in the list
 * keeps its old prefix, matches no route and gets the default 404 M_UNRECOGNIZED: endpoints
 * introduced after r0 (key backup, cross-signing uploads, knocking, refresh tokens, ...) are
 * not reachable under r0, as on a server of that time.
 *
 * A request on a current path pays three `startsWith` checks; the allow-lists are compiled
 * once into one regular expression per prefix.
 *
 * @module
 */

import { getPath } from "hono/utils/url";

/**
 * The endpoints of the Client-Server API r0.6.1 (relative to the prefix), as
 * `METHOD /path`: `{}` stands for one path segment, a final `*` for any rest.
 */
export const R0_CLIENT_ENDPOINTS: readonly string[] = [
  // Sessions and accounts.
  "GET /login",
  "POST /login",
  "GET /login/sso/redirect",
  "POST /logout",
  "POST /logout/all",
  "POST /register",
  "GET /register/available",
  "POST /register/email/requestToken",
  "POST /register/msisdn/requestToken",
  "GET /auth/{}/fallback/web",
  "POST /account/password",
  "POST /account/password/email/requestToken",
  "POST /account/password/msisdn/requestToken",
  "POST /account/deactivate",
  "GET /account/3pid",
  "POST /account/3pid",
  "POST /account/3pid/add",
  "POST /account/3pid/bind",
  "POST /account/3pid/delete",
  "POST /account/3pid/unbind",
  "POST /account/3pid/email/requestToken",
  "POST /account/3pid/msisdn/requestToken",
  "GET /account/whoami",
  "GET /capabilities",
  "GET /admin/whois/{}",
  "POST /user/{}/openid/request_token",
  // Filters, sync and the deprecated event stream.
  "POST /user/{}/filter",
  "GET /user/{}/filter/{}",
  "GET /sync",
  "GET /events",
  "GET /events/{}",
  "GET /initialSync",
  // Rooms.
  "POST /createRoom",
  "GET /joined_rooms",
  "GET /rooms/{}/event/{}",
  "GET /rooms/{}/state",
  "GET /rooms/{}/state/{}",
  "GET /rooms/{}/state/{}/{}",
  "PUT /rooms/{}/state/{}",
  "PUT /rooms/{}/state/{}/{}",
  "GET /rooms/{}/members",
  "GET /rooms/{}/joined_members",
  "GET /rooms/{}/messages",
  "GET /rooms/{}/initialSync",
  "GET /rooms/{}/context/{}",
  "PUT /rooms/{}/send/{}/{}",
  "POST /rooms/{}/send/{}",
  "PUT /rooms/{}/redact/{}/{}",
  "POST /rooms/{}/invite",
  "POST /rooms/{}/join",
  "POST /join/{}",
  "POST /rooms/{}/leave",
  "POST /rooms/{}/forget",
  "POST /rooms/{}/kick",
  "POST /rooms/{}/ban",
  "POST /rooms/{}/unban",
  "POST /rooms/{}/upgrade",
  "POST /rooms/{}/report/{}",
  "PUT /rooms/{}/typing/{}",
  "POST /rooms/{}/receipt/{}/{}",
  "POST /rooms/{}/read_markers",
  "GET /rooms/{}/aliases",
  // Directory, search, profiles, presence.
  "GET /directory/room/{}",
  "PUT /directory/room/{}",
  "DELETE /directory/room/{}",
  "GET /directory/list/room/{}",
  "PUT /directory/list/room/{}",
  "PUT /directory/list/appservice/{}/{}",
  "GET /publicRooms",
  "POST /publicRooms",
  "POST /user_directory/search",
  "POST /search",
  "GET /profile/{}",
  "GET /profile/{}/displayname",
  "PUT /profile/{}/displayname",
  "GET /profile/{}/avatar_url",
  "PUT /profile/{}/avatar_url",
  "GET /presence/{}/status",
  "PUT /presence/{}/status",
  "GET /voip/turnServer",
  "GET /thirdparty/protocols",
  "GET /thirdparty/protocol/{}",
  "GET /thirdparty/location",
  "GET /thirdparty/location/{}",
  "GET /thirdparty/user",
  "GET /thirdparty/user/{}",
  // Account data and tags.
  "GET /user/{}/account_data/{}",
  "PUT /user/{}/account_data/{}",
  "GET /user/{}/rooms/{}/account_data/{}",
  "PUT /user/{}/rooms/{}/account_data/{}",
  "GET /user/{}/rooms/{}/tags",
  "PUT /user/{}/rooms/{}/tags/{}",
  "DELETE /user/{}/rooms/{}/tags/{}",
  // Devices, end-to-end encryption and send-to-device.
  "GET /devices",
  "GET /devices/{}",
  "PUT /devices/{}",
  "DELETE /devices/{}",
  "POST /delete_devices",
  "POST /keys/upload",
  "POST /keys/query",
  "POST /keys/claim",
  "GET /keys/changes",
  "PUT /sendToDevice/{}/{}",
  // Push.
  "GET /pushers",
  "POST /pushers/set",
  "GET /notifications",
  "GET /pushrules/*",
  "PUT /pushrules/*",
  "DELETE /pushrules/*",
];

/**
 * The endpoints Synapse still answers under `/_matrix/client/api/v1` (the prefix before r0):
 * the room, profile, presence and login paths of that API. Registration is not among them.
 */
export const API_V1_CLIENT_ENDPOINTS: readonly string[] = [
  "GET /login",
  "POST /login",
  "GET /login/sso/redirect",
  "POST /logout",
  "POST /logout/all",
  "GET /events",
  "GET /events/{}",
  "GET /initialSync",
  "POST /createRoom",
  "GET /joined_rooms",
  "GET /publicRooms",
  "POST /publicRooms",
  "POST /search",
  "GET /directory/room/{}",
  "PUT /directory/room/{}",
  "DELETE /directory/room/{}",
  "GET /directory/list/room/{}",
  "PUT /directory/list/room/{}",
  "PUT /directory/list/appservice/{}/{}",
  "GET /rooms/{}/members",
  "GET /rooms/{}/joined_members",
  "GET /rooms/{}/messages",
  "GET /rooms/{}/state",
  "GET /rooms/{}/state/{}",
  "GET /rooms/{}/state/{}/{}",
  "PUT /rooms/{}/state/{}",
  "PUT /rooms/{}/state/{}/{}",
  "GET /rooms/{}/initialSync",
  "GET /rooms/{}/event/{}",
  "GET /rooms/{}/context/{}",
  "PUT /rooms/{}/typing/{}",
  "PUT /rooms/{}/send/{}/{}",
  "POST /rooms/{}/send/{}",
  "PUT /rooms/{}/redact/{}/{}",
  "POST /join/{}",
  "POST /rooms/{}/join",
  "POST /rooms/{}/invite",
  "POST /rooms/{}/leave",
  "POST /rooms/{}/forget",
  "POST /rooms/{}/kick",
  "POST /rooms/{}/ban",
  "POST /rooms/{}/unban",
  "GET /profile/{}",
  "GET /profile/{}/displayname",
  "PUT /profile/{}/displayname",
  "GET /profile/{}/avatar_url",
  "PUT /profile/{}/avatar_url",
  "GET /presence/{}/status",
  "PUT /presence/{}/status",
  "GET /pushers",
  "POST /pushers/set",
  "GET /pushrules/*",
  "PUT /pushrules/*",
  "DELETE /pushrules/*",
  "GET /voip/turnServer",
];

/** The content repository endpoints of r0.6.1 (relative to `/_matrix/media/r0`). */
export const R0_MEDIA_ENDPOINTS: readonly string[] = [
  "POST /upload",
  "GET /download/{}/{}",
  "GET /download/{}/{}/{}",
  "GET /thumbnail/{}/{}",
  "GET /preview_url",
  "GET /config",
];

/**
 * Compiles an allow-list into one expression tested against `METHOD /rest`. A trailing slash
 * is allowed where the routes allow one.
 */
export function compileEndpoints(endpoints: readonly string[]): RegExp {
  const alternatives = endpoints.map((endpoint) => {
    const [method, path] = endpoint.split(" ");
    const source = path.split("/").map((part) => {
      if (part === "{}") return "[^/]+";
      if (part === "*") return ".*";
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("/");
    return `${method} ${source}`;
  });
  return new RegExp(`^(?:${alternatives.join("|")})/?$`);
}

/** One old prefix, the prefix it stands for, and its compiled allow-list. */
interface Alias {
  prefix: string;
  target: string;
  allowed: RegExp;
}

const ALIASES: readonly Alias[] = [
  {
    prefix: "/_matrix/client/r0/",
    target: "/_matrix/client/v3/",
    allowed: compileEndpoints(R0_CLIENT_ENDPOINTS),
  },
  {
    prefix: "/_matrix/client/api/v1/",
    target: "/_matrix/client/v3/",
    allowed: compileEndpoints(API_V1_CLIENT_ENDPOINTS),
  },
  {
    prefix: "/_matrix/media/r0/",
    target: "/_matrix/media/v3/",
    allowed: compileEndpoints(R0_MEDIA_ENDPOINTS),
  },
];

/**
 * The path a request is routed by: the old prefixes of allowed endpoints become their current
 * ones, every other path stays as it is. Meant as the Hono app's `getPath` option.
 */
export function legacyAwarePath(request: Request): string {
  const path = getPath(request);
  if (!path.startsWith("/_matrix/") || path.startsWith("/_matrix/client/v3/")) return path;
  for (const alias of ALIASES) {
    if (!path.startsWith(alias.prefix)) continue;
    const rest = path.slice(alias.prefix.length - 1);
    // HEAD is answered by the GET route.
    const method = request.method === "HEAD" ? "GET" : request.method;
    if (!alias.allowed.test(`${method} ${rest}`)) return path;
    return alias.target.slice(0, -1) + rest;
  }
  return path;
}
