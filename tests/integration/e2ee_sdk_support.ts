/**
 * matrix-js-sdk clients with the Rust crypto (matrix-sdk-crypto-wasm) against a test server,
 * for the E2EE interoperability tests.
 *
 * @module
 */

import { Hono } from "hono";
import * as sdk from "matrix-js-sdk";
import type { RouteModule } from "../../server/app.ts";
import { MatrixError } from "../../server/errors.ts";
import { type AppEnv, requireAuth } from "../../server/request_context.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";

/**
 * Global account data kept in memory, for servers without the real account-data API: the SDK
 * reads secret-storage account data while bootstrapping cross-signing. Mounted after the
 * built-in modules, so the real implementation wins as soon as it exists.
 */
export const accountDataFallback: RouteModule = (hs) => {
  const app = new Hono<AppEnv>();
  const store = new Map<string, unknown>();
  const path = "/_matrix/client/v3/user/:userId/account_data/:type";
  app.get(path, requireAuth(hs), (c) => {
    const value = store.get(`${c.var.auth.userId}\u0000${c.req.param("type")}`);
    if (value === undefined) {
      throw new MatrixError("M_NOT_FOUND", "No account data", { status: 404 });
    }
    return c.json(value);
  });
  app.put(path, requireAuth(hs), async (c) => {
    store.set(`${c.var.auth.userId}\u0000${c.req.param("type")}`, await c.req.json());
    return c.json({});
  });
  return app;
};

/** A logged-in matrix-js-sdk client with Rust crypto (in-memory store). */
export async function sdkClient(
  t: TestServer,
  user: TestUser,
  options: { fetchFn?: typeof fetch } = {},
): Promise<sdk.MatrixClient> {
  const client = sdk.createClient({
    baseUrl: t.baseUrl,
    fetchFn: options.fetchFn,
    userId: user.userId,
    deviceId: user.deviceId,
    accessToken: user.accessToken,
    logger: Deno.env.get("E2EE_DEBUG") ? undefined : quietLogger,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  return client;
}

/**
 * Sends the crypto's pending requests (key uploads, key queries, ...) now. A running client does
 * this after every sync; these tests drive it by hand where no sync runs.
 */
export async function flushCrypto(client: sdk.MatrixClient): Promise<void> {
  // deno-lint-ignore no-explicit-any
  const crypto = client.getCrypto() as any;
  await crypto.outgoingRequestsManager.doProcessOutgoingRequests();
}

/**
 * Makes the client track users' device lists and fetches them now, as a client does for the
 * members of its encrypted rooms (and again when sync reports them in `device_lists.changed`).
 */
export async function refreshDeviceLists(
  client: sdk.MatrixClient,
  userIds: string[],
): Promise<void> {
  // deno-lint-ignore no-explicit-any
  const crypto = client.getCrypto() as any;
  const machine = crypto.olmMachine;
  const tracked = [...await machine.trackedUsers()];
  // The wasm module's UserId class, taken from an ID it made (the own user is always tracked).
  const UserId = tracked[0].constructor;
  await machine.updateTrackedUsers(userIds.map((id) => new UserId(id)));
  await crypto.processSyncChanges({
    toDeviceEvents: [],
    deviceLists: { changed: userIds, left: [] },
  });
  await flushCrypto(client);
}

/** Password auth for the UIA callbacks of the crypto API. */
export function uiaPassword(user: TestUser) {
  return (session: string | undefined) => ({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: user.userId },
    password: user.password,
    session,
  });
}

const noop = () => {};

/** A logger that keeps only errors, so test output stays readable. */
export const quietLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: (...args: unknown[]) => console.error(...args),
  getChild: () => quietLogger,
};

/** Stops clients, ignoring errors from half-started ones. */
export function stopAll(...clients: sdk.MatrixClient[]): void {
  for (const client of clients) {
    try {
      client.stopClient();
    } catch { /* already stopped */ }
  }
}
