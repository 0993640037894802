/**
 * Stands in for `matrix-widget-api` in the web build. matrix-js-sdk imports it only for
 * `RoomWidgetClient` (a client running inside another app's widget frame), which gemeng never
 * creates; the real library would add about 40 KB gzip to every install. The names below are
 * the ones the SDK's `embedded.js` reads; a widget client built on them would fail loudly.
 *
 * @module
 */

/** Empty: no widget actions exist in this build. */
export const WidgetApiToWidgetAction: Readonly<Record<string, string>> = Object.freeze({});
/** Empty: no widget capabilities exist in this build. */
export const MatrixCapabilities: Readonly<Record<string, string>> = Object.freeze({});
/** Empty: no widget API versions exist in this build. */
export const UnstableApiVersion: Readonly<Record<string, string>> = Object.freeze({});

/** Never thrown in this build; here so `instanceof` checks in the SDK still evaluate. */
export class WidgetApiResponseError extends Error {
  /** What a widget's error response would carry. */
  data: { matrix_api_error?: unknown } = {};
}
