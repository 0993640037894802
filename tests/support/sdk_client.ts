/**
 * matrix-js-sdk clients (without crypto) against a test server: making one, and starting its
 * sync loop. The Rust-crypto clients of the E2EE tests are in
 * `tests/integration/e2ee_sdk_support.ts`.
 *
 * @module
 */

import * as sdk from "matrix-js-sdk";
import type { TestServer } from "./test_server.ts";

const noop = () => {};

/** A matrix-js-sdk logger that drops all but errors, which go to `onError`. */
function errorsTo(onError: (...args: unknown[]) => void) {
  const logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: onError,
    getChild: () => logger,
  };
  return logger;
}

/** A logger that drops everything, errors included (the tests assert what matters). */
export const silentLogger = errorsTo(noop);

/** A logger that keeps only errors (on the console), so test output stays readable. */
export const errorsOnlyLogger = errorsTo((...args) => console.error(...args));

/**
 * A logged-in matrix-js-sdk client of `user` (a `TestUser`, or a guest's credentials), without
 * crypto and without logging.
 */
export function plainSdkClient(
  t: TestServer,
  user: { userId: string; deviceId?: string; accessToken?: string },
  options: { fetchFn?: typeof fetch } = {},
): sdk.MatrixClient {
  return sdk.createClient({
    baseUrl: t.baseUrl,
    userId: user.userId,
    deviceId: user.deviceId,
    accessToken: user.accessToken,
    fetchFn: options.fetchFn,
    logger: silentLogger,
  });
}

/**
 * Resolves once `client`'s sync state becomes `PREPARED` (its first sync is done); rejects if
 * it becomes `ERROR` first. Call it before `startClient`, so that no state change is missed.
 */
export function firstSync(client: sdk.MatrixClient): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onSync = (state: string) => {
      if (state === "PREPARED") {
        client.off(sdk.ClientEvent.Sync, onSync);
        resolve();
      } else if (state === "ERROR") reject(new Error("sync error"));
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
}

/** Starts `client`'s sync loop and resolves once its first sync is done (see {@link firstSync}). */
export async function startSyncing(
  client: sdk.MatrixClient,
  options: { initialSyncLimit: number },
): Promise<void> {
  const prepared = firstSync(client);
  await client.startClient({ initialSyncLimit: options.initialSyncLimit });
  await prepared;
}
