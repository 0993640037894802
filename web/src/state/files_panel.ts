/**
 * Which room's files panel (views/files/room_gallery.tsx) is open, if any: the room header
 * opens it and the room view shows it beside the timeline.
 *
 * @module
 */

import { type Signal, signal } from "@preact/signals";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";

/** The ID of the room whose files panel is open, or null. */
export function filesPanel(app: AppModel): Signal<string | null> {
  return featureModel(app, "filesPanel", () => signal<string | null>(null));
}
