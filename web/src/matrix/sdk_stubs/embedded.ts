/**
 * Stands in for matrix-js-sdk's `embedded.js` in the web build. That module is the SDK's
 * `RoomWidgetClient`, a client that runs inside another app's widget frame through
 * `matrix-widget-api`; gemeng is never embedded as a widget and never creates one, and the two
 * would add about 25 KB gzip to every install. The SDK re-exports these two names, so they
 * exist; creating the client fails loudly.
 *
 * @module
 */

/** The widget client's event names: none in this build. */
export const RoomWidgetClientEvent: Readonly<Record<string, string>> = Object.freeze({});

/** Not available in this build. */
export class RoomWidgetClient {
  constructor() {
    throw new Error("gemeng's web build has no widget client (RoomWidgetClient)");
  }
}
