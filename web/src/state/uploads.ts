/**
 * Sending files: uploads with progress and cancel, encrypted in encrypted rooms.
 *
 * Placeholder until the feature lands.
 *
 * @module
 */

import type { Room } from "matrix-js-sdk";
import type { AppModel } from "./app.ts";

/** Sends the files (picked, dropped or pasted) into the room, one message each. */
export function sendFiles(_app: AppModel, _room: Room, _files: readonly File[]): void {
}
