/**
 * How views reach the app model: one Preact context, provided at the root.
 *
 * @module
 */

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { AppModel } from "../state/app.ts";

/** The app model's context. */
export const AppContext = createContext<AppModel | null>(null);

/** The app model (views only read its signals and call its methods). */
export function useApp(): AppModel {
  const app = useContext(AppContext);
  if (!app) throw new Error("useApp outside <AppContext.Provider>");
  return app;
}
