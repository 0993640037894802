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
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { errorsOnlyLogger, startSyncing } from "../support/sdk_client.ts";

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
 * A Rust-crypto client that syncs (long-polls) until stopped: its first sync is done and its
 * device keys are on the server, so others can encrypt for this device.
 */
export async function startedSdkClient(
  t: TestServer,
  user: TestUser,
  options: { fetchFn?: typeof fetch } = {},
): Promise<sdk.MatrixClient> {
  const client = await sdkClient(t, user, options);
  await startSyncing(client, { initialSyncLimit: 20 });
  await flushCrypto(client);
  return client;
}

/**
 * Registers a test that runs `fn` with a fresh test server and a list for the clients it
 * starts; whatever the outcome, those clients are stopped and the server closed. The SDK's
 * sync loops leave timers and connections behind, so the sanitizers are off.
 */
export function sdkServerTest(
  name: string,
  fn: (t: TestServer, clients: sdk.MatrixClient[]) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const t = await startTestServer();
      const clients: sdk.MatrixClient[] = [];
      try {
        await fn(t, clients);
      } finally {
        stopAll(...clients);
        await t.close();
      }
    },
  });
}

/** One `PUT /sendToDevice/{type}/{txnId}` a client made. */
export interface SentToDevice {
  type: string;
  /** `userId -> deviceId -> content`. */
  messages: Record<string, Record<string, unknown>>;
}

/**
 * The to-device requests of one client (room keys travel that way), recorded by the `fetchFn`
 * the client is made with.
 */
export class ToDeviceLog {
  readonly sent: SentToDevice[] = [];

  /** A fetch that records to-device bodies, then sends the request. */
  readonly fetchFn: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const match = /\/sendToDevice\/([^/]+)\/[^/?]+/.exec(url);
    if (match && init?.method === "PUT" && typeof init.body === "string") {
      const body = JSON.parse(init.body);
      this.sent.push({ type: decodeURIComponent(match[1]), messages: body.messages ?? {} });
    }
    return fetch(input, init);
  };

  /** Forgets what was recorded. */
  clear(): void {
    this.sent.length = 0;
  }

  /** The devices of `userId` sent a message of `type` since the last {@link clear}. */
  devicesOf(userId: string, type = "m.room.encrypted"): string[] {
    const devices = new Set<string>();
    for (const request of this.sent) {
      if (request.type !== type) continue;
      for (const deviceId of Object.keys(request.messages[userId] ?? {})) devices.add(deviceId);
    }
    return [...devices].sort();
  }

  /** The users addressed (any type) since the last {@link clear}, once per request. */
  usersAddressed(): string[] {
    return this.sent.flatMap((request) => Object.keys(request.messages));
  }

  /** The device IDs (of any user) addressed (any type) since the last {@link clear}. */
  devicesAddressed(): string[] {
    return this.sent.flatMap((request) =>
      Object.values(request.messages).flatMap((devices) => Object.keys(devices))
    );
  }
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

/** A logger that keeps only errors, so test output stays readable. */
export const quietLogger = errorsOnlyLogger;

/** Stops clients, ignoring errors from half-started ones. */
export function stopAll(...clients: sdk.MatrixClient[]): void {
  for (const client of clients) {
    try {
      client.stopClient();
    } catch { /* already stopped */ }
  }
}
