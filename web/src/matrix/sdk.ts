/**
 * Loads matrix-js-sdk on first use. The SDK (and, behind it, the Rust crypto WASM) is split
 * out of the first bundle by the dynamic import, so the sign-in screen renders before it
 * arrives; the app asks for it right after the first render.
 *
 * @module
 */

/** The SDK module. */
export type Sdk = typeof import("matrix-js-sdk");

let loading: Promise<Sdk> | undefined;

/** The SDK, loaded once. */
export function loadSdk(): Promise<Sdk> {
  loading ??= import("matrix-js-sdk").catch((err) => {
    loading = undefined; // let a later call try again (e.g. after coming back online)
    throw err;
  });
  return loading;
}
