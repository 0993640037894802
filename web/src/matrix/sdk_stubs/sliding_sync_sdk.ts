/**
 * Stands in for matrix-js-sdk's `sliding-sync-sdk.js` in the web build. The SDK uses it only
 * when a client is started with a `slidingSync` option (MSC3575), which gemeng never passes: it
 * syncs with `/sync`. Starting a client with sliding sync fails loudly.
 *
 * @module
 */

/** Not available in this build. */
export class SlidingSyncSdk {
  constructor() {
    throw new Error("gemeng's web build has no sliding sync (SlidingSyncSdk)");
  }
}
