/**
 * Feature models (timeline, uploads, calls, verification, ...) hang off the app model without
 * the app model knowing each of them: {@link featureModel} creates one per app on first use.
 *
 * @module
 */

import type { AppModel } from "./app.ts";

const models = new WeakMap<AppModel, Map<string, unknown>>();

/** The app's model named `key`, created by `create` the first time it is asked for. */
export function featureModel<T>(app: AppModel, key: string, create: (app: AppModel) => T): T {
  let byKey = models.get(app);
  if (!byKey) models.set(app, byKey = new Map());
  if (!byKey.has(key)) byKey.set(key, create(app));
  return byKey.get(key) as T;
}
