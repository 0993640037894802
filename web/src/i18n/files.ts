/**
 * Messages of files and voice messages.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of files and voice messages, in every language. */
export const filesMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
