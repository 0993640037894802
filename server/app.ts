/**
 * The Hono application: CORS and preflight as the spec's "Web Browser Clients" section asks,
 * Matrix error bodies for every failure, 404/405 M_UNRECOGNIZED for unknown endpoints and
 * methods, and the route modules (one per spec module) mounted in one list.
 *
 * @module
 */

import { Hono } from "hono";
import { limitExceeded, MatrixError, unrecognized } from "./errors.ts";
import { ContentionError } from "./store/turns.ts";
import type { Homeserver } from "./homeserver.ts";
import type { AppEnv } from "./request_context.ts";
import { versionRoutes } from "./client/versions.ts";
import { authRoutes } from "./auth/auth_routes.ts";
import { loginRoutes } from "./client/login.ts";
import { loginGetTokenRoutes } from "./client/login_get_token.ts";
import { registrationRoutes } from "./client/registration.ts";
import { accountRoutes } from "./client/account.ts";
import { threepidRoutes } from "./client/threepid.ts";
import { emailPageRoutes } from "./email/email_pages.ts";
import { deviceRoutes } from "./client/devices.ts";
import { sharedSecretRoutes } from "./admin/shared_secret_register.ts";
import { webAppRoutes } from "./web_assets.ts";
import { keysRoutes } from "./client/keys.ts";
import { e2eeFederationRoutes } from "./federation/e2ee_routes.ts";
import { crossSigningRoutes } from "./client/cross_signing.ts";
import { toDeviceRoutes } from "./client/to_device.ts";
import { keyBackupRoutes } from "./client/key_backup.ts";
import { mediaRoutes } from "./client/media.ts";
import { mediaAdminRoutes } from "./admin/media_admin.ts";
import { federationAdminRoutes } from "./admin/federation_admin.ts";
import { serverInfoAdminRoutes } from "./admin/server_info_admin.ts";
import { auditRoutes } from "./admin/audit.ts";
import { usersAdminRoutes } from "./admin/users_admin.ts";
import { userDevicesAdminRoutes } from "./admin/user_devices_admin.ts";
import { registrationTokensAdminRoutes } from "./admin/registration_tokens_admin.ts";
import { purgeHistoryAdminRoutes } from "./admin/purge_history_admin.ts";
import { userExportAdminRoutes } from "./admin/user_export_admin.ts";
import { roomsAdminRoutes } from "./admin/rooms_admin.ts";
import { eventReportsAdminRoutes } from "./admin/event_reports_admin.ts";
import { mediaModerationAdminRoutes } from "./admin/media_moderation_admin.ts";
import { mediaScanAdminRoutes } from "./admin/media_scan_admin.ts";
import { serverNoticeRoutes } from "./admin/server_notices.ts";
import { filterRoutes } from "./client/filter.ts";
import { accountDataRoutes } from "./client/account_data.ts";
import { tagRoutes } from "./client/tags.ts";
import { pushRulesRoutes } from "./client/push_rules.ts";
import { pusherRoutes } from "./client/pushers.ts";
import { notificationRoutes } from "./client/notifications.ts";
import { profileRoutes } from "./client/profile.ts";
import { createRoomRoutes } from "./client/create_room.ts";
import { membershipRoutes } from "./client/membership.ts";
import { roomStateRoutes } from "./client/room_state.ts";
import { roomSendRoutes } from "./client/room_send.ts";
import { directoryRoutes } from "./client/directory.ts";
import { roomUpgradeRoutes } from "./client/room_upgrade.ts";
import { syncRoutes } from "./client/sync.ts";
import { typingRoutes } from "./client/typing.ts";
import { presenceRoutes } from "./client/presence.ts";
import { receiptRoutes } from "./client/receipts.ts";
import { reportRoutes } from "./client/report.ts";
import { userDirectoryRoutes } from "./client/user_directory.ts";
import { messagesRoutes } from "./client/messages.ts";
import { relationsRoutes } from "./client/relations.ts";
import { searchRoutes } from "./client/search.ts";
import { threadsRoutes } from "./client/threads.ts";
import { voipRoutes } from "./client/voip.ts";
import { federationAuthRoutes, federationVersionRoutes } from "./federation/version.ts";
import { keyRoutes } from "./federation/key_routes.ts";
import { transactionRoutes } from "./federation/transactions.ts";
import { membershipFederationRoutes } from "./federation/membership_routes.ts";
import { inviteFederationRoutes } from "./federation/invite_routes.ts";
import { knockFederationRoutes } from "./federation/knock_routes.ts";
import { roomEventRoutes } from "./federation/room_events.ts";
import { directoryFederationRoutes } from "./federation/directory_routes.ts";
import { mediaFederationRoutes } from "./federation/media_routes.ts";
import { openIdFederationRoutes } from "./federation/openid.ts";
import { hierarchyFederationRoutes } from "./federation/hierarchy.ts";
import { openIdRoutes } from "./client/openid.ts";
import { adminWhoisRoutes } from "./client/admin_whois.ts";
import { accountModerationRoutes } from "./client/account_moderation.ts";
import { mutualRoomsRoutes } from "./client/mutual_rooms.ts";
import { roomSummaryRoutes } from "./client/room_summary.ts";
import { hierarchyRoutes } from "./client/hierarchy.ts";
import { appserviceRoutes } from "./appservice/routes.ts";
import { legacyAwarePath } from "./client/legacy_paths.ts";
import { withFastSync } from "./client/sync_fast_path.ts";
import { legacyEventRoutes } from "./client/legacy_events.ts";
import { legacyInitialSyncRoutes } from "./client/legacy_initial_sync.ts";
import { opsRoutes, requestObserver } from "./ops/routes.ts";
import { requestBoundary } from "./request_boundary.ts";

/** A route module: a Hono sub-app whose paths are absolute (e.g. `/_matrix/client/v3/...`). */
export type RouteModule = (hs: Homeserver) => Hono<AppEnv>;

/** Every route module of the server, in mounting order. Add new spec modules here. */
export const ROUTE_MODULES: readonly RouteModule[] = [
  versionRoutes,
  // First of the Server-Server API: authenticates every /_matrix/federation/* request of the
  // federation modules listed after it.
  federationAuthRoutes,
  federationVersionRoutes,
  keyRoutes,
  transactionRoutes,
  membershipFederationRoutes,
  inviteFederationRoutes,
  knockFederationRoutes,
  roomEventRoutes,
  directoryFederationRoutes,
  e2eeFederationRoutes,
  mediaFederationRoutes,
  openIdFederationRoutes,
  hierarchyFederationRoutes,
  // Before the modules whose users and aliases application services may be asked about.
  appserviceRoutes,
  loginRoutes,
  loginGetTokenRoutes,
  authRoutes,
  registrationRoutes,
  accountRoutes,
  threepidRoutes,
  emailPageRoutes,
  deviceRoutes,
  sharedSecretRoutes,
  keysRoutes,
  crossSigningRoutes,
  toDeviceRoutes,
  keyBackupRoutes,
  mediaRoutes,
  mediaAdminRoutes,
  federationAdminRoutes,
  serverInfoAdminRoutes,
  auditRoutes,
  usersAdminRoutes,
  userDevicesAdminRoutes,
  registrationTokensAdminRoutes,
  roomsAdminRoutes,
  purgeHistoryAdminRoutes,
  userExportAdminRoutes,
  eventReportsAdminRoutes,
  mediaModerationAdminRoutes,
  mediaScanAdminRoutes,
  serverNoticeRoutes,
  filterRoutes,
  accountDataRoutes,
  tagRoutes,
  pushRulesRoutes,
  pusherRoutes,
  notificationRoutes,
  profileRoutes,
  createRoomRoutes,
  membershipRoutes,
  roomStateRoutes,
  roomSendRoutes,
  directoryRoutes,
  roomUpgradeRoutes,
  syncRoutes,
  typingRoutes,
  presenceRoutes,
  receiptRoutes,
  reportRoutes,
  userDirectoryRoutes,
  openIdRoutes,
  adminWhoisRoutes,
  accountModerationRoutes,
  mutualRoomsRoutes,
  roomSummaryRoutes,
  hierarchyRoutes,
  messagesRoutes,
  relationsRoutes,
  threadsRoutes,
  searchRoutes,
  voipRoutes,
  legacyEventRoutes,
  legacyInitialSyncRoutes,
  opsRoutes,
  webAppRoutes, // last: the web app claims only its own paths (see web_assets.ts)
];

/** The CORS headers the spec recommends on every response. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
  "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization",
};

/** The API paths, whose parameters `path_params.ts` checks (the web app's are file names). */
const API_PATH = /^\/_(matrix|synapse)\//;

/** The Matrix error response of a failed request. */
export function errorResponse(err: Error): Response {
  if (err instanceof MatrixError) return err.toResponse();
  if (
    typeof err === "object" && err !== null && "code" in err && err.code === "M_INVALID_PARAM"
  ) {
    return new MatrixError("M_INVALID_PARAM", err.message).toResponse();
  }
  if (err instanceof ContentionError) {
    // Optimistic retries ran out against another process's writes: nothing was written.
    return limitExceeded(1000).toResponse();
  }
  if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.ConnectionReset) {
    // The client went away while its body was being read (a cancelled upload): nobody is
    // there to read the answer, and nothing was written.
    return new MatrixError("M_UNKNOWN", "The request body was cut off", { status: 400 })
      .toResponse();
  }
  console.error("internal error:", err);
  return new MatrixError("M_UNKNOWN", "Internal server error", { status: 500 }).toResponse();
}

/** Turns a Hono route path (`/a/:b/*`) into a regular expression. */
function pathPattern(path: string): RegExp {
  const source = path.split("/").map((part) => {
    if (part === "*") return ".*";
    if (part.startsWith(":")) {
      // `:name{regex}` carries its own pattern.
      const custom = /^:[^{]+\{(.+)\}$/.exec(part);
      return custom ? `(?:${custom[1]})` : "[^/]+";
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${source}/?$`);
}

/**
 * Builds the application for one server instance.
 *
 * @param hs the server whose storage and config the routes use
 * @param options extra route modules (tests, later features) mounted after the built-in ones
 */
export function createApp(
  hs: Homeserver,
  options: { modules?: readonly RouteModule[] } = {},
): Hono<AppEnv> {
  // The r0 and api/v1 prefixes are routed as v3 (legacy_paths.ts).
  const app = new Hono<AppEnv>({ getPath: legacyAwarePath });
  // Outermost: CORS, path parameter checks, request log and metrics (request_boundary.ts).
  const boundary = requestBoundary({
    headers: CORS_HEADERS,
    onError: errorResponse,
    observe: requestObserver(hs),
    checkedPaths: API_PATH,
  });
  app.use("*", boundary.middleware);

  const modules = [...ROUTE_MODULES, ...(options.modules ?? [])].map((module) => module(hs));
  for (const module of modules) app.route("/", module);
  boundary.armParamChecks(app);

  let known: { method: string; pattern: RegExp }[] | null = null;
  app.notFound((c) => {
    known ??= app.routes.filter((route) => route.method !== "ALL")
      .map((route) => ({ method: route.method, pattern: pathPattern(route.path) }));
    const path = c.req.path;
    const allowed = known.filter((route) => route.pattern.test(path));
    if (allowed.length > 0) {
      const methods = [...new Set(allowed.map((route) => route.method))].join(", ");
      const err = unrecognized(`Method ${c.req.method} is not allowed here (use ${methods})`, 405);
      const res = err.toResponse();
      res.headers.set("Allow", methods);
      return res;
    }
    return unrecognized(`Unrecognized request: ${c.req.method} ${path}`).toResponse();
  });

  app.onError(errorResponse);
  // `GET /v3/sync` without hono's routing and middleware (the same checks, headers and logs).
  withFastSync(hs, app, { headers: CORS_HEADERS, onError: errorResponse });

  return app;
}
