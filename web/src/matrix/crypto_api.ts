/**
 * Loads matrix-js-sdk's crypto API module (the `CryptoEvent`, `VerifierEvent` and
 * `VerificationPhase` enums, `decodeRecoveryKey`, ...) on first use. The SDK's main entry does not
 * re-export it; like the SDK itself it stays out of the first bundle.
 *
 * @module
 */

/** The crypto API module. */
export type CryptoApiModule = typeof import("matrix-js-sdk/lib/crypto-api/index.js");

let loading: Promise<CryptoApiModule> | undefined;

/** The crypto API module, loaded once. */
export function loadCryptoApi(): Promise<CryptoApiModule> {
  loading ??= import("matrix-js-sdk/lib/crypto-api/index.js").catch((err) => {
    loading = undefined; // let a later call try again
    throw err;
  });
  return loading;
}
