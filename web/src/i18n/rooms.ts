/**
 * Messages of creating rooms, room settings, notifications.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of creating rooms, room settings, notifications, in every language. */
export const roomsMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
